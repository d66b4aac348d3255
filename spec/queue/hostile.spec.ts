// Jobs a worker must survive: pushed straight onto the queue by another Redis client, with data that
// is not JSON, too big, naming nothing it runs, or carrying a placement it cannot build.
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BackendRegistry, PLACED_PAR, Placement } from '../../lib';
import { QueueBackend, type RunningWorker, startWorker } from '../../lib/queue';
import { closeLog, processes, sleepy } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';

jest.setTimeout(60_000);

describeWithRedis('a worker facing jobs pushed by another Redis client', () => {
  let redis: TestRedis;
  let worker: RunningWorker;
  let queue: Queue;
  let client: Redis;

  beforeAll(async () => {
    redis = await TestRedis.start();
    process.env['STBASS_TEST_REDIS'] = redis.url;
    worker = await startWorker({ connection: redis.url, queue: 'hostile', processes, concurrency: 4, callerCheckInterval: 0.05 });
    client = new Redis(redis.url);
    queue = new Queue('hostile', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
  });

  afterAll(async () => {
    await queue.close();
    client.disconnect();
    await worker.close(true);
    await closeLog();
    await redis.dispose();
  });

  const payload = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    processName: 'echo',
    input: { text: 'x' },
    placement: {},
    deadline: null,
    attempt: 1,
    callerId: 'hostile-client',
    ...overrides,
  });

  /** Waits until BullMQ records the job as failed, and gives its reason. */
  const failedReasonOf = async (job: Job): Promise<string> => {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      // Read raw: a job whose data is not JSON cannot be loaded through queue.getJob.
      if ((await job.getState()) === 'failed') return (await client.hget(`bull:hostile:${job.id ?? ''}`, 'failedReason')) ?? '';
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`job ${job.id ?? '?'} never failed (state ${await job.getState()})`);
  };

  test('a placement the worker cannot build fails the job, and the worker does not watch it forever', async () => {
    const jobs = await queue.addBulk(Array.from({ length: 200 }, () => ({ name: 'echo', data: payload({ placement: { model: '' } }), opts: { attempts: 1 } })));
    const reasons = await Promise.all(jobs.map(failedReasonOf));
    expect(new Set(reasons)).toEqual(new Set([expect.stringContaining('invalid placement in the job payload on queue "hostile"')]));
    // The watchdog asks Redis about every job it thinks is running: idle now, it must ask nothing
    // (before, each refused job stayed registered and the idle worker sent EXISTS forever).
    const before = await redis.commandCalls('exists');
    await new Promise((resolve) => setTimeout(resolve, 500)); // ten watchdog rounds at 0.05 s
    expect((await redis.commandCalls('exists')) - before).toBe(0);
  });

  test('job data that is not JSON fails the job at once, instead of stalling and coming back', async () => {
    const job = await queue.add('echo', payload(), { delay: 60_000, attempts: 1 });
    await client.hset(`bull:hostile:${job.id ?? ''}`, 'data', '{"processName": "echo", not json');
    await job.promote();
    const reason = await failedReasonOf(job);
    expect(reason).toContain('the job data is not JSON');
    expect(reason).toContain('queue "hostile"');
    expect(await client.hget(`bull:hostile:${job.id ?? ''}`, 'atm')).toBe('1');
  });

  test('an unknown process name of 10 MB is cut short in the failure reason', async () => {
    const name = 'n'.repeat(10 * 1024 * 1024);
    const small = await startWorker({ connection: redis.url, queue: 'hostile-big', processes, maxPayloadBytes: 20 * 1024 * 1024 });
    const bigQueue = new Queue('hostile-big', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    try {
      const job = await bigQueue.add(name.slice(0, 10), payload({ processName: name }), { attempts: 1 });
      const deadline = Date.now() + 15_000;
      while ((await job.getState()) !== 'failed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const reason = (await bigQueue.getJob(job.id ?? ''))?.failedReason ?? '';
      expect(reason).toMatch(/^unknown process "n{100}… \(\d+ more characters\)" on queue "hostile-big"/);
      expect(reason.length).toBeLessThan(2_500);
    } finally {
      await bigQueue.close();
      await small.close();
    }
  });

  test("the worker refuses a payload over its size limit, which by default is the caller's", async () => {
    const overCallerLimit = 'x'.repeat(1024 * 1024 + 1);
    const job = await queue.add('echo', payload({ input: { text: overCallerLimit } }), { attempts: 1 });
    const reason = await failedReasonOf(job);
    expect(reason).toMatch(/^the job payload is \d+ bytes, over this worker's limit of 1048576 \(maxPayloadBytes\)/);
    await client.set('bull:stbass:caller:hostile-client', '1', 'EX', 60); // a caller that is there
    const fits = await queue.add('echo', payload({ input: { text: 'x'.repeat(1000) } }), { attempts: 1 });
    const deadline = Date.now() + 15_000;
    while ((await fits.getState()) !== 'completed' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await queue.getJob(fits.id ?? ''))?.returnvalue).toMatchObject({ ok: true });
  });

  test('a deadline weeks away does not cancel the job on the worker (no timer overflow)', async () => {
    const backend = new QueueBackend({ connection: redis.url });
    try {
      const weeks = 30 * 24 * 3600; // 30 days: past the 24.8 days a Node timer can hold
      const result = await PLACED_PAR([sleepy.withInput({ ms: 100, tag: 'far-deadline' }), new Placement({ endpoint: 'queue:hostile' })], {
        registry: new BackendRegistry().register('queue', backend),
        deadline: weeks,
      }).run();
      expect(result.failures).toEqual([]);
      expect(result.value).toEqual([{ tag: 'far-deadline', worker: 'in-process' }]);
    } finally {
      await backend.close();
    }
  });
});
