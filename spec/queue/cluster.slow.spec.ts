// stbass/queue on a real 3-node Redis Cluster: BullMQ's scripts touch several keys of a queue at
// once, which a cluster allows only within one hash slot, hence the `{hash tag}` prefix.
import { Queue } from 'bullmq';
import type { Cluster } from 'ioredis';
import { BackendRegistry, CancelledError, FailurePolicy, type ParEvent, PLACED_PAR, Placement, UsageError } from '../../lib';
import { QueueBackend, type RunningWorker, startWorker } from '../../lib/queue';
import { echo, failsLater, processes, streamer } from './fixtures/processes';
import { TestCluster } from './support/cluster';
import { describeWithRedis } from './support/redis';

jest.setTimeout(90_000);

describeWithRedis('QueueBackend and workers on a 3-node Redis Cluster', () => {
  let cluster: TestCluster;
  let client: Cluster;
  let worker: RunningWorker;
  let backend: QueueBackend;
  let registry: BackendRegistry;
  const on = new Placement({ endpoint: 'queue:clustered' });

  beforeAll(async () => {
    cluster = await TestCluster.start();
    client = cluster.client();
    worker = await startWorker({ connection: client, queue: 'clustered', processes, concurrency: 8 });
    backend = new QueueBackend({ connection: client });
    registry = new BackendRegistry().register('queue', backend);
  });

  afterAll(async () => {
    await backend.close();
    await worker.close(true);
    client.disconnect();
    await cluster.dispose();
  });

  test('an ioredis Cluster is taken as the connection, with the cluster-safe default prefix {bull}', async () => {
    expect(backend.prefix).toBe('{bull}');
    const tags = Array.from({ length: 40 }, (_, index) => `c${index}`);
    const result = await PLACED_PAR(...tags.map((text) => [echo.withInput({ text }), on] as const), { registry, deadline: 30 }).run();
    expect(result.failures).toEqual([]);
    expect(result.value.map((value) => (value as { echoed: string }).echoed)).toEqual(tags);
    // The caller's own client is left alone: stbass opened connections of its own from it.
    expect(client.status).toBe('ready');
  });

  test('partials and HALT cross the cluster: events, pub/sub cancellation', async () => {
    const events: ParEvent[] = [];
    const group = PLACED_PAR([streamer, on], { registry });
    await new Promise<void>((resolve) => group.events$.subscribe({ next: (event) => events.push(event), complete: resolve }));
    expect(events.filter((event) => event.type === 'partial').map((event) => (event.type === 'partial' ? event.value : undefined))).toEqual(['a', 'b', 'c', 'd', 'e']);
    const halted = await PLACED_PAR([failsLater.withInput({ ms: 2_000 }), on], [failsLater.withInput({ ms: 100 }), on], { registry, onFailure: FailurePolicy.HALT }).run();
    expect(halted.failures.map((failure) => failure.error.constructor)).toEqual([CancelledError, expect.anything()]);
    // The halted job was aborted on its worker (it would otherwise complete, with its own failure, at 2 s).
    const queue = new Queue('clustered', { connection: client, prefix: '{bull}' });
    try {
      const deadline = Date.now() + 10_000;
      while (!(await queue.getFailed()).some((job) => job.failedReason === 'cancelled by the caller') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await queue.getFailed()).map((job) => job.failedReason)).toContain('cancelled by the caller');
      expect((await queue.getCompleted()).filter((job) => job.name === 'failsLater')).toHaveLength(1);
    } finally {
      await queue.close();
    }
  });

  test('a prefix without a hash tag on a cluster is a UsageError saying what to set', () => {
    expect(() => new QueueBackend({ connection: client, prefix: 'jobs' })).toThrow(UsageError);
    expect(() => new QueueBackend({ connection: client, prefix: 'jobs' })).toThrow(/\{bull\}/);
  });
});
