import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BackendRegistry, CancelledError, FailurePolicy, PLACED_PAR, Placement, Process } from '../../lib';
import { QueueBackend, type RunningWorker, startWorker } from '../../lib/queue';
import { closeLog, processes, sleepy } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';
import { type WorkerProcess, spawnFixture } from './support/workers';

jest.setTimeout(60_000);

const SECRET = 'the-queue-secret-shared-by-callers-and-workers';
const CANCEL_CHANNEL = 'bull:stbass:cancel';

describeWithRedis('a queue secret: signed cancellations and caller heartbeats', () => {
  let redis: TestRedis;
  let worker: RunningWorker;
  let log: Redis;
  /** Another Redis client, which can write anything but does not know the secret. */
  let attacker: Redis;
  let queue: Queue;
  let warn: jest.SpyInstance;
  /** What the worker said about forgeries (process.emitWarning, code STBASS_QUEUE_FORGED). */
  const warnings = (): string[] =>
    warn.mock.calls.filter(([, options]) => (options as { code?: string } | undefined)?.code === 'STBASS_QUEUE_FORGED').map(([message]) => String(message));
  const children: WorkerProcess[] = [];
  const on = new Placement({ endpoint: 'queue:signed' });

  beforeAll(async () => {
    redis = await TestRedis.start();
    process.env['STBASS_TEST_REDIS'] = redis.url;
    warn = jest.spyOn(process, 'emitWarning');
    worker = await startWorker({ connection: redis.url, queue: 'signed', processes, concurrency: 2, callerCheckInterval: 0.2, secret: SECRET });
    log = new Redis(redis.url);
    attacker = new Redis(redis.url);
    queue = new Queue('signed', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
  });

  afterAll(async () => {
    warn.mockRestore();
    await Promise.all(children.map((child) => child.kill('SIGKILL')));
    await queue.close();
    await worker.close(true);
    await Promise.all([log.quit(), attacker.quit()]);
    await closeLog();
    await redis.dispose();
  });

  const tagsIn = async (key: string): Promise<string[]> => (await log.lrange(key, 0, -1)).map((entry) => (JSON.parse(entry) as { tag: string }).tag);
  const activeJobOf = async (tag: string) => {
    const jobs = await queue.getActive();
    const job = jobs.find((candidate) => (candidate.data as { input?: { tag?: string } }).input?.tag === tag);
    if (job?.id === undefined) throw new Error(`no active job tagged ${tag}`);
    return job;
  };

  test('a forged cancel does not abort a running job, the genuine HALT still does', async () => {
    const backend = new QueueBackend({ connection: redis.url, secret: SECRET });
    const registry = new BackendRegistry().register('queue', backend);
    // A genuine signed cancellation, for another job (on a queue nobody serves), as an eavesdropper sees it.
    const listener = new Redis(redis.url);
    const genuine = new Promise<string>((resolve) => listener.on('message', (_channel: string, message: string) => resolve(message)));
    await listener.subscribe(CANCEL_CHANNEL);
    await PLACED_PAR([sleepy.withInput({ ms: 30_000, tag: 'elsewhere' }), new Placement({ endpoint: 'queue:nobody' })], { registry, deadline: 0.3 }).run();
    const captured = JSON.parse(await genuine) as Record<string, unknown>;
    await listener.quit();
    expect(captured).toMatchObject({ queue: 'nobody', sig: expect.any(String) });

    let halt = (): void => undefined;
    const halted = new Promise<void>((resolve) => (halt = resolve));
    const trigger = Process('trigger', async () => {
      await halted;
      throw new Error('halt now');
    });
    const running = PLACED_PAR([sleepy.withInput({ ms: 30_000, tag: 'guarded' }), on], [trigger, new Placement({})], { registry, onFailure: FailurePolicy.HALT }).run();
    await waitFor(async () => (await tagsIn('test:started')).includes('guarded'));
    const job = await activeJobOf('guarded');
    const jobId = job.id ?? '';

    const forged = [
      JSON.stringify({ queue: 'signed', jobId }), // unsigned, as before signing existed
      JSON.stringify({ ...captured, queue: 'signed', jobId }), // a genuine signature replayed for this job
      JSON.stringify({ queue: 'signed', jobId, at: Date.now(), nonce: 'n', sig: 'Zm9yZ2VkLXNpZ25hdHVyZS1vZi1hLWd1ZXNzZXI' }), // a guessed signature
    ];
    for (const message of forged) await attacker.publish(CANCEL_CHANNEL, message);
    // The worker judged all three (a genuine one would have aborted the job on the spot).
    await waitFor(() => Promise.resolve(worker.rejected.cancels >= 3));
    expect(await tagsIn('test:aborted')).not.toContain('guarded');
    expect(await job.getState()).toBe('active');
    // Said once, not three times.
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('ignored a cancellation not signed with its secret');

    halt();
    const result = await running;
    expect(result.entries[0]?.result.isOk).toBe(false);
    expect(result.failures.some((failure) => failure.error instanceof CancelledError)).toBe(true);
    await waitFor(async () => (await tagsIn('test:aborted')).includes('guarded'));
    await waitFor(async () => (await job.getState()) === 'failed');
    expect((await queue.getJob(jobId))?.failedReason).toBe('cancelled by the caller');
    await backend.close();
  });

  test('a forged or replayed heartbeat does not keep the job of a dead caller alive', async () => {
    const doomed = await spawnFixture('caller', { STBASS_TEST_REDIS: redis.url, STBASS_QUEUE: 'signed', STBASS_TAGS: 'orphan', STBASS_SECRET: SECRET }, 'caller');
    children.push(doomed);
    await waitFor(async () => (await tagsIn('test:started')).includes('orphan'));
    const job = await activeJobOf('orphan');
    const heartbeatKey = `bull:stbass:caller:${(job.data as { callerId: string }).callerId}`;
    const lastGenuine = await attacker.get(heartbeatKey);
    expect(lastGenuine).toMatch(/^\d+\.1000\.[\w-]+$/);
    const before = worker.rejected.heartbeats;
    await doomed.kill('SIGKILL');
    // The attacker keeps the key alive with the caller's last genuine beat, replayed.
    let forgeries = 0;
    const forging = setInterval(() => void attacker.set(heartbeatKey, lastGenuine ?? '', 'EX', 10).then(() => (forgeries += 1)), 100);
    try {
      await waitFor(async () => (await tagsIn('test:aborted')).includes('orphan'), 15_000);
    } finally {
      clearInterval(forging);
    }
    expect(forgeries).toBeGreaterThan(0);
    await waitFor(async () => (await job.getState()) === 'failed');
    expect((await queue.getJob(job.id ?? ''))?.failedReason).toBe('the caller is gone (its heartbeat expired) while the job ran');
    expect(worker.rejected.heartbeats).toBeGreaterThan(before);

    // An unsigned heartbeat for a job pushed straight onto the queue: the job never starts.
    await attacker.set('bull:stbass:caller:forged-caller', '1', 'EX', 60);
    const pushed = await queue.add('sleepy', { processName: 'sleepy', input: { ms: 30_000, tag: 'pushed' }, placement: {}, deadline: null, attempt: 1, callerId: 'forged-caller' }, { attempts: 1 });
    await waitFor(async () => (await pushed.getState()) === 'failed');
    expect((await queue.getJob(pushed.id ?? ''))?.failedReason).toBe('the caller is gone (its heartbeat expired) before the job started');
    expect(await tagsIn('test:started')).not.toContain('pushed');
    expect(warnings().filter((message) => message.includes('heartbeat'))).toHaveLength(1);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
