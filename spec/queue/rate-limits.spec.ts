import { Queue } from 'bullmq';
import { BackendRegistry, PLACED_PAR, Placement, UsageError } from '../../lib';
import { QueueBackend, type RunningWorker, startWorker } from '../../lib/queue';
import { echo, processes } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';

jest.setTimeout(60_000);

// A QueueBackend's rateLimit is BullMQ's own limiter in Redis: it holds across every caller of the
// queue, not per caller. Times are the ones BullMQ stamps on the jobs when a worker takes them.
describeWithRedis('QueueBackend rateLimit on a real redis-server', () => {
  let redis: TestRedis;
  let worker: RunningWorker;

  beforeAll(async () => {
    redis = await TestRedis.start();
    worker = await startWorker({ connection: redis.url, queue: 'limited', processes, concurrency: 20 });
  });

  afterAll(async () => {
    await worker.close(true);
    await redis.dispose();
  });

  test('two callers, each with 6 jobs, share a limit of 4 jobs per 0.5 s: never more than 4 taken in a window', async () => {
    const callers = [0, 1].map(() => new QueueBackend({ connection: redis.url, rateLimit: { requests: { limit: 4, per: 0.5 } } }));
    const on = new Placement({ endpoint: 'queue:limited' });
    try {
      const results = await Promise.all(
        callers.map((caller, which) => {
          const registry = new BackendRegistry().register('queue', caller);
          return PLACED_PAR(...Array.from({ length: 6 }, (_, index) => [echo.withName('echo').withInput({ text: `${which}:${index}` }), on] as const), { registry }).run();
        }),
      );
      expect(results.every((result) => result.isOk)).toBe(true);
      const queue = new Queue('limited', { connection: { url: redis.url } });
      try {
        const jobs = await queue.getJobs(['completed']);
        const taken = jobs.map((job) => job.processedOn ?? Number.NaN).sort((a, b) => a - b);
        expect(taken).toHaveLength(12);
        // BullMQ's window is fixed: 4 in the first window, then none until it expires.
        for (let index = 4; index < taken.length; index += 4) expect((taken[index] ?? 0) - (taken[index - 4] ?? 0)).toBeGreaterThanOrEqual(490);
      } finally {
        await queue.close();
      }
    } finally {
      await Promise.all(callers.map((caller) => caller.close()));
    }
  });

  test('a token limit is refused: BullMQ counts jobs, not tokens', () => {
    const rateLimit = { requests: { limit: 10, per: 1 }, tokens: { limit: 1000, per: 60 } };
    expect(() => new QueueBackend({ connection: redis.url, rateLimit })).toThrow(UsageError);
    expect(() => new QueueBackend({ connection: redis.url, rateLimit })).toThrow(/QueueBackend options\.rateLimit\.tokens: expected one of the known options/);
  });
});
