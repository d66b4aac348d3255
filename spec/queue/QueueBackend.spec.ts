import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  BackendRegistry,
  BackendUnavailableError,
  CancelledError,
  DeadlineExceededError,
  FailurePolicy,
  type ParEvent,
  PLACED_PAR,
  Placement,
  Process,
  ProcessResult,
  UsageError,
} from '../../lib';
import { QueueBackend, RemoteProcessError, type RunningWorker, startWorker } from '../../lib/queue';
import { closeLog, echo, failing, failsLater, processes, sleepy, streamer, unserialisable } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';

jest.setTimeout(60_000);

describeWithRedis('QueueBackend with an in-process worker on a real redis-server', () => {
  let redis: TestRedis;
  let worker: RunningWorker;
  let backend: QueueBackend;
  let registry: BackendRegistry;
  let log: Redis;
  const on = new Placement({ model: 'nomic', endpoint: 'queue:test' });

  beforeAll(async () => {
    redis = await TestRedis.start();
    process.env['STBASS_TEST_REDIS'] = redis.url;
    worker = await startWorker({ connection: redis.url, queue: 'test', processes, concurrency: 4, callerCheckInterval: 0.5 });
    backend = new QueueBackend({ connection: redis.url, concurrencyLimit: 3 });
    registry = new BackendRegistry().register('queue', backend);
    log = new Redis(redis.url);
  });

  afterAll(async () => {
    await backend.close();
    await worker.close(true);
    await log.quit();
    await closeLog();
    await redis.dispose();
  });

  const listOf = async (key: string): Promise<Array<{ tag: string; worker: string; reason?: string }>> =>
    (await log.lrange(key, 0, -1)).map((entry) => JSON.parse(entry) as { tag: string; worker: string; reason?: string });
  /** The most of the jobs tagged `tags` running at once, from the workers' start and finish logs. */
  const peakInFlight = async (tags: readonly string[]): Promise<number> => {
    const started = (await listOf('test:started')).filter((entry) => tags.includes(entry.tag)) as unknown as Array<{ at: number; tag: string }>;
    const finished = (await listOf('test:finished')).filter((entry) => tags.includes(entry.tag)) as unknown as Array<{ at: number; tag: string }>;
    const moments = [...started.map((entry) => [entry.at, 1] as const), ...finished.map((entry) => [entry.at, -1] as const)].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let inFlight = 0;
    let peak = 0;
    for (const [, delta] of moments) peak = Math.max(peak, (inFlight += delta));
    return peak;
  };

  test('runs a registered process by name on the worker, with its validated input', async () => {
    const result = await PLACED_PAR([echo.withInput({ text: 'hi' }), on], { registry }).run();
    expect(result.value).toEqual([{ echoed: 'hi', worker: 'in-process' }]);
    expect(result.entries[0]?.backend).toBe('queue');
  });

  test('an input that fails the process schema on the worker is a ValidationError failure', async () => {
    const result = await PLACED_PAR([echo.withInput({ text: 42 }), on], { registry, onFailure: FailurePolicy.COLLECT }).run();
    const failure = result.failures[0];
    expect(failure?.error).toBeInstanceOf(RemoteProcessError);
    expect(failure?.error.name).toBe('ValidationError');
    expect(failure?.error.message).toContain('text');
  });

  test("a remote failure keeps the error's name, message and stack, the checkpoint, and names queue:<name>", async () => {
    const result = await PLACED_PAR([failing, on], { registry }).run();
    const failure = result.failures[0];
    expect(failure?.error).toBeInstanceOf(RemoteProcessError);
    expect(failure?.error.name).toBe('TypeError');
    expect(failure?.error.message).toBe('remote type trouble');
    expect(failure?.error.stack).toContain('processes.ts');
    expect(failure?.checkpoint).toEqual({ step: 3 });
    expect(failure?.backend).toBe('queue:test');
    expect(failure?.placement).toBe(on);
  });

  test('partial results reach events$ in order, and usage crosses the wire', async () => {
    const events: ParEvent[] = [];
    const group = PLACED_PAR([streamer, on], { registry });
    await new Promise<void>((resolve) => group.events$.subscribe({ next: (event) => events.push(event), complete: resolve }));
    expect(events.filter((event) => event.type === 'partial').map((event) => (event.type === 'partial' ? event.value : undefined))).toEqual(['a', 'b', 'c', 'd', 'e']);
    const done = events[events.length - 1];
    expect(done?.type === 'done' && done.result.entries[0]?.usage).toEqual({ inputTokens: 7, outputTokens: 5 });
  });

  test('a job naming a process the worker does not run fails at once, naming the queue and the known ones', async () => {
    const stranger = Process('stranger', () => ProcessResult.ok());
    const result = await PLACED_PAR([stranger, on], { registry, deadline: 20 }).run();
    const message = result.failures[0]?.error.message ?? '';
    expect(message).toContain('unknown process "stranger" on queue "test"');
    expect(message).toContain('echo, streamer, sleepy, failing, failsLater, unserialisable');
  });

  test('a value that cannot be serialised is a clear SerializationError failure', async () => {
    const result = await PLACED_PAR([unserialisable, on], { registry }).run();
    expect(result.failures[0]?.error.name).toBe('SerializationError');
    expect(result.failures[0]?.error.message).toContain('cannot be serialised to JSON');
  });

  test('HALT aborts the remote ctx.signal within a second and the job is not retried', async () => {
    const started = Date.now();
    const result = await PLACED_PAR([sleepy.withInput({ ms: 30_000, tag: 'halted' }), on], [failsLater.withInput({ ms: 300 }), on], { registry }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(CancelledError);
    await waitFor(async () => (await listOf('test:aborted')).some((entry) => entry.tag === 'halted'));
    // The failure comes at about 300 ms; the remote abort follows within a second.
    expect(Date.now() - started).toBeLessThan(1_300);
    const aborted = (await listOf('test:aborted')).filter((entry) => entry.tag === 'halted');
    expect(aborted).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await listOf('test:started')).filter((entry) => entry.tag === 'halted')).toHaveLength(1);
  });

  test('the deadline cancels the remote job, and unsubscribing does too', async () => {
    const result = await PLACED_PAR([sleepy.withInput({ ms: 30_000, tag: 'deadline' }), on], { registry, deadline: 0.5 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(DeadlineExceededError);
    await waitFor(async () => (await listOf('test:aborted')).some((entry) => entry.tag === 'deadline'));

    const subscription = PLACED_PAR([sleepy.withInput({ ms: 30_000, tag: 'unsubscribed' }), on], { registry }).events$.subscribe();
    await waitFor(async () => (await listOf('test:started')).some((entry) => entry.tag === 'unsubscribed'));
    subscription.unsubscribe();
    await waitFor(async () => (await listOf('test:aborted')).some((entry) => entry.tag === 'unsubscribed'));
  });

  test('a worker never starts a job whose deadline has passed', async () => {
    const queue = new Queue('test', { connection: { host: '127.0.0.1', port: redis.port } });
    const job = await queue.add('sleepy', {
      processName: 'sleepy',
      input: { ms: 1, tag: 'late' },
      placement: {},
      deadline: Date.now() - 1_000,
      attempt: 1,
      callerId: 'nobody',
    });
    await waitFor(async () => (await job.getState()) === 'failed');
    const failed = await queue.getJob(job.id ?? '');
    expect(failed?.failedReason).toContain('deadline');
    expect((await listOf('test:started')).some((entry) => entry.tag === 'late')).toBe(false);
    await queue.close();
  });

  test("concurrencyLimit caps this caller's jobs in flight", async () => {
    const tags = Array.from({ length: 7 }, (_, index) => `capped-${index}`);
    const result = await PLACED_PAR(...tags.map((tag) => [sleepy.withInput({ ms: 150, tag }), on] as const), { registry }).run();
    expect(result.isOk).toBe(true);
    const peak = await peakInFlight(tags);
    expect(peak).toBeLessThanOrEqual(3);
  });

  test("a subclass's getter for concurrencyLimit caps the caller's jobs, as the seed's @property does", async () => {
    class TwoAtATime extends QueueBackend {
      // @ts-expect-error TS2611: TypeScript flags a getter over the base's declared property; the runtime honours it
      override get concurrencyLimit(): number {
        return 2;
      }
    }
    const backend = new TwoAtATime({ connection: redis.url, concurrencyLimit: 5 });
    const tags = Array.from({ length: 5 }, (_, index) => `getter-capped-${index}`);
    let result;
    try {
      result = await PLACED_PAR(...tags.map((tag) => [sleepy.withInput({ ms: 100, tag }), on] as const), { registry: new BackendRegistry().register('queue', backend) }).run();
    } finally {
      await backend.close();
    }
    expect(backend.concurrencyLimit).toBe(2);
    expect(result.isOk).toBe(true);
    const peak = await peakInFlight(tags);
    expect(peak).toBe(2);
  });

  test('an endpoint without a queue name, a too-large payload and bad options are clear errors', async () => {
    const noQueue = await PLACED_PAR([echo.withInput({ text: 'x' }), new Placement({ endpoint: 'queue' })], { registry }).run();
    expect(noQueue.failures[0]?.error).toBeInstanceOf(BackendUnavailableError);
    expect(noQueue.failures[0]?.error.message).toContain('queue:gpu');
    const small = new QueueBackend({ connection: redis.url, maxPayloadBytes: 100 });
    const tooBig = await PLACED_PAR([echo.withInput({ text: 'x'.repeat(500) }), on], { registry: new BackendRegistry().register('queue', small) }).run();
    expect(tooBig.failures[0]?.error.message).toContain('over the limit of 100');
    await small.close();
    expect(() => new QueueBackend({ connection: 'http://nope' })).toThrow(UsageError);
    expect(() => new QueueBackend({ connection: redis.url, concurrencyLimit: 0 })).toThrow(/concurrencyLimit/);
    await expect(startWorker({ connection: redis.url, queue: 'test', processes: [] })).rejects.toThrow(UsageError);
  });

  test('when Redis does not answer, the health check keeps processes off the queue', async () => {
    const unreachable = new QueueBackend({ connection: 'redis://127.0.0.1:1', healthTimeout: 0.2 });
    const result = await PLACED_PAR([echo.withInput({ text: 'x' }), on], { registry: new BackendRegistry().register('queue', unreachable) }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(BackendUnavailableError);
    await unreachable.close();
  });
});

async function waitFor(condition: () => Promise<boolean>, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('condition not met in time');
}
