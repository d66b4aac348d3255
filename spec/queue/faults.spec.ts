import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement } from '../../lib';
import { QueueBackend } from '../../lib/queue';
import { sleepy } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';
import { type WorkerProcess, spawnFixture } from './support/workers';

jest.setTimeout(120_000);

interface LogEntry {
  tag: string;
  worker: string;
  at: number;
  reason?: string;
}

describeWithRedis('QueueBackend faults, with workers in processes of their own', () => {
  let redis: TestRedis;
  let log: Redis;
  const children: WorkerProcess[] = [];
  const backends: QueueBackend[] = [];

  beforeEach(async () => {
    redis = await TestRedis.start({ appendOnly: true });
    log = new Redis(redis.url, { maxRetriesPerRequest: null });
  });

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((backend) => backend.close()));
    await Promise.all(children.splice(0).map((child) => child.kill('SIGKILL')));
    log.disconnect();
    await redis.dispose();
  });

  const worker = async (id: string, env: Record<string, string> = {}): Promise<WorkerProcess> => {
    const child = await spawnFixture('worker', { STBASS_TEST_REDIS: redis.url, STBASS_QUEUE: 'faults', ...env }, id);
    children.push(child);
    return child;
  };
  const caller = (options: { concurrencyLimit?: number } = {}): BackendRegistry => {
    const backend = new QueueBackend({ connection: redis.url, pollInterval: 0.5, ...options });
    backends.push(backend);
    return new BackendRegistry().register('queue', backend);
  };
  const on = new Placement({ endpoint: 'queue:faults' });
  const entries = async (key: string): Promise<LogEntry[]> => (await log.lrange(key, 0, -1)).map((entry) => JSON.parse(entry) as LogEntry);
  const waitFor = async (condition: () => Promise<boolean>, timeout = 15_000): Promise<void> => {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (await condition()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('condition not met in time');
  };

  /** Two workers w1 and w2, one 2 s job; SIGKILLs the worker that started it and waits for the run. */
  const killMidJob = async (tag: string, env: Record<string, string>) => {
    const [first, second] = [await worker('w1', env), await worker('w2', env)];
    const run = PLACED_PAR([sleepy.withInput({ ms: 2_000, tag }), on], { registry: caller(), deadline: 30 }).run();
    await waitFor(async () => (await entries('test:started')).length === 1);
    const victim = (await entries('test:started'))[0]?.worker === 'w1' ? first : second;
    await victim.kill('SIGKILL');
    return { victim, result: await run };
  };

  test('a worker killed with SIGKILL mid-job: another recovers the job through stalled-job handling, one result', async () => {
    const { victim, result } = await killMidJob('survivor', { STBASS_LOCK: '1', STBASS_STALLED: '0.5' });
    expect(result.results).toHaveLength(1);
    expect(result.isOk).toBe(true);
    const survivor = victim.id === 'w1' ? 'w2' : 'w1';
    expect(result.value).toEqual([{ tag: 'survivor', worker: survivor }]);
    const starts = (await entries('test:started')).map((entry) => entry.worker);
    expect(starts).toEqual([victim.id, survivor]);
    expect((await entries('test:finished')).map((entry) => entry.worker)).toEqual([survivor]);
  });

  test('maxStalledCount: 0 fails a job at the first death of its worker instead of handing it on', async () => {
    const { victim, result } = await killMidJob('once-only', { STBASS_LOCK: '1', STBASS_STALLED: '0.5', STBASS_MAX_STALLED: '0' });
    expect(result.failures[0]?.error.name).toBe('RemoteJobFailed');
    expect(result.failures[0]?.error.message).toContain('stalled');
    expect((await entries('test:started')).map((entry) => entry.worker)).toEqual([victim.id]);
  });

  test('Redis restarted while jobs are queued: with appendonly persistence the run still completes', async () => {
    const registry = caller();
    const tags = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
    const run = PLACED_PAR(...tags.map((tag) => [sleepy.withInput({ ms: 50, tag }), on] as const), { registry, deadline: 60, onFailure: FailurePolicy.COLLECT }).run();
    const queue = new Queue('faults', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    await waitFor(async () => (await queue.getWaitingCount()) === tags.length);
    await queue.close();
    await redis.restart(300);
    await worker('after-restart', { STBASS_CONCURRENCY: '3' });
    const result = await run;
    expect(result.isOk).toBe(true);
    expect(result.value.map((value) => (value as { tag: string }).tag)).toEqual(tags);
  });

  test('a caller that dies: its running job is aborted and its waiting job is refused', async () => {
    await worker('w-orphans', { STBASS_CONCURRENCY: '1', STBASS_CALLER_CHECK: '0.3' });
    const doomed = await spawnFixture('caller', { STBASS_TEST_REDIS: redis.url, STBASS_QUEUE: 'faults', STBASS_TAGS: 'orphan-running,orphan-waiting' }, 'caller');
    children.push(doomed);
    await waitFor(async () => (await entries('test:started')).some((entry) => entry.tag === 'orphan-running'));
    const killedAt = Date.now();
    await doomed.kill('SIGKILL');
    await waitFor(async () => (await entries('test:aborted')).some((entry) => entry.tag === 'orphan-running'));
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    const queue = new Queue('faults', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    await waitFor(async () => (await queue.getFailedCount()) === 2);
    const failed = await queue.getFailed();
    // Each reason says what happened, not a generic "cancelled".
    expect(failed.map((job) => job.failedReason).sort()).toEqual(['the caller is gone (its heartbeat expired) before the job started', 'the caller is gone (its heartbeat expired) while the job ran']);
    expect((await entries('test:started')).map((entry) => entry.tag)).toEqual(['orphan-running']);
    await queue.close();
  });

  test('three workers share a queue: work is spread and the caller cap holds', async () => {
    await Promise.all(['w-a', 'w-b', 'w-c'].map((id) => worker(id, { STBASS_CONCURRENCY: '2' })));
    const tags = Array.from({ length: 12 }, (_, index) => `shared-${index}`);
    const result = await PLACED_PAR(...tags.map((tag) => [sleepy.withInput({ ms: 150, tag }), on] as const), { registry: caller({ concurrencyLimit: 4 }), deadline: 60 }).run();
    expect(result.isOk).toBe(true);
    expect(result.results).toHaveLength(12);
    const started = await entries('test:started');
    const finished = await entries('test:finished');
    expect(new Set(started.map((entry) => entry.worker)).size).toBeGreaterThanOrEqual(2);
    expect(started).toHaveLength(12);
    const moments = [...started.map((entry) => [entry.at, 1] as const), ...finished.map((entry) => [entry.at, -1] as const)].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inFlight = 0;
    let peak = 0;
    for (const [, delta] of moments) peak = Math.max(peak, (inFlight += delta));
    expect(peak).toBeLessThanOrEqual(4);
  });
});
