// The caller's two ways of hearing of a job, the event stream and the poll, must each be right on
// their own: a poll that reads a job mid-finish, or a stream read from "$" after the first job was
// added, loses or garbles outcomes.
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement } from '../../lib';
import { QueueBackend, type RunningWorker, startWorker } from '../../lib/queue';
import { closeLog, echo, processes, sleepy } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';
import { spawnFixture } from './support/workers';

jest.setTimeout(90_000);

describeWithRedis('QueueBackend races between events, the poll and job completion', () => {
  let redis: TestRedis;
  let worker: RunningWorker;
  const on = new Placement({ endpoint: 'queue:races' });

  beforeAll(async () => {
    redis = await TestRedis.start();
    process.env['STBASS_TEST_REDIS'] = redis.url;
    worker = await startWorker({ connection: redis.url, queue: 'races', processes, concurrency: 16 });
  });

  afterAll(async () => {
    await worker.close(true);
    await closeLog();
    await redis.dispose();
  });

  test('a poll racing job completion never reports a successful job as an invalid result', async () => {
    // Polling every 10 ms while 400 jobs of 5-25 ms finish: many polls land while a job finishes.
    const backend = new QueueBackend({ connection: redis.url, pollInterval: 0.01, concurrencyLimit: 64 });
    try {
      const tags = Array.from({ length: 400 }, (_, index) => `race-${index}`);
      const result = await PLACED_PAR(...tags.map((tag, index) => [sleepy.withInput({ ms: 5 + (index % 21), tag }), on] as const), {
        registry: new BackendRegistry().register('queue', backend),
        onFailure: FailurePolicy.COLLECT,
        deadline: 60,
      }).run();
      expect(result.failures.map((failure) => `${failure.error.name}: ${failure.error.message}`)).toEqual([]);
      expect(result.value.map((value) => (value as { tag: string }).tag)).toEqual(tags);
    } finally {
      await backend.close();
    }
  });

  test('the first jobs through a new backend are heard through events, not left to the poll', async () => {
    // With the poll an hour away, only the event stream can settle these jobs before the deadline:
    // an event emitted before the stream was first read would be lost and its job would time out.
    // The worker is a process of its own, so it finishes jobs while this one is still starting up.
    const remote = await spawnFixture('worker', { STBASS_TEST_REDIS: redis.url, STBASS_QUEUE: 'races-first', STBASS_CONCURRENCY: '16' }, 'first');
    const first = new Placement({ endpoint: 'queue:races-first' });
    try {
      for (let round = 0; round < 10; round += 1) {
        const backend = new QueueBackend({ connection: redis.url, pollInterval: 3_600 });
        try {
          const tags = Array.from({ length: 50 }, (_, index) => `first-${round}-${index}`);
          const result = await PLACED_PAR(...tags.map((text) => [echo.withInput({ text }), first] as const), {
            registry: new BackendRegistry().register('queue', backend),
            onFailure: FailurePolicy.COLLECT,
            deadline: 10,
          }).run();
          expect(result.failures.map((failure) => failure.error.name)).toEqual([]);
          expect(result.results).toHaveLength(50);
        } finally {
          await backend.close();
        }
      }
    } finally {
      await remote.kill('SIGKILL');
    }
  });
});
