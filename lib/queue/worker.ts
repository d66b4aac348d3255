import { type Job, type JobJson, UnrecoverableError, Worker, type WorkerOptions as BullWorkerOptions } from 'bullmq';
import { type Subscription, asyncScheduler } from 'rxjs';
import { z } from 'zod';
import { CancelledError, DeadlineExceededError, UsageError } from '../errors';
import { timerAt } from '../par/timerAt';
import { type JsonValue, Placement } from '../placement/Placement';
import { type Process, isProcess } from '../process/Process';
import { ProcessContext } from '../process/ProcessContext';
import { parseArgument } from '../validation/parse';
import { nameSchema } from '../validation/schemas';
import { type RedisClient, type RedisConnection, closeRedis, connectionSchema, duplicateRedis, openRedis, resolvePrefix, stbassKeys, whenReachable } from './connection';
import { DEFAULT_MAX_PAYLOAD_BYTES, type JobOutcome, type JobPayload, jobPayloadSchema, truncated } from './payload';
import { type CancelMessage, Signer, secretSchema } from './signing';
import { traceJob } from '../telemetry/queueHop';

const seconds = z.number({ error: 'a number of seconds > 0' }).gt(0);

const workerOptionsSchema = z.strictObject(
  {
    connection: connectionSchema,
    queue: nameSchema,
    processes: z.unknown(),
    concurrency: z.number({ error: 'a whole number >= 1' }).int().min(1).optional(),
    prefix: nameSchema.optional(),
    lockDuration: seconds.optional(),
    stalledInterval: seconds.optional(),
    maxStalledCount: z.number({ error: 'a whole number >= 0' }).int().min(0).optional(),
    callerCheckInterval: seconds.optional(),
    maxPayloadBytes: z.number({ error: 'a whole number of bytes >= 1' }).int().min(1).optional(),
    connectTimeout: seconds.optional(),
    secret: secretSchema.optional(),
  },
  { error: 'an options object { connection, queue, processes, concurrency?, ... }' },
);

/** Options of `startWorker`. */
export interface WorkerOptions {
  /** Where Redis is: a URL, ioredis options or an ioredis `Cluster` (the callers' Redis). */
  readonly connection: RedisConnection;
  /** The BullMQ queue to consume: `gpu` serves placements on `queue:gpu`. */
  readonly queue: string;
  /** The processes this worker runs, by name: an array, or an object whose values are processes. Nothing else ever runs. */
  readonly processes: readonly Process[] | Readonly<Record<string, Process>>;
  /** Jobs run at once by this worker (default 1). */
  readonly concurrency?: number;
  /** The key prefix, as the callers' (default `bull`; `{bull}` on a Cluster, where it must carry a `{hash tag}`). */
  readonly prefix?: string;
  /** Seconds a job's lock lasts without renewal; a worker that dies mid-job loses it after this (default 30, BullMQ's). */
  readonly lockDuration?: number;
  /**
   * Seconds between BullMQ's checks for stalled jobs (default 30, BullMQ's). A dead worker's job is
   * handed on between `lockDuration` and `lockDuration + stalledInterval` after its death.
   */
  readonly stalledInterval?: number;
  /** How many times a job may stall (its worker died) and still be handed on; one more and it fails (default 1, BullMQ's). */
  readonly maxStalledCount?: number;
  /** Seconds between checks that a running job's caller is still there (default 5). */
  readonly callerCheckInterval?: number;
  /** The largest job payload taken, in bytes of JSON (default 1 MiB, as the callers'); a larger job fails at once. */
  readonly maxPayloadBytes?: number;
  /** Seconds `startWorker` waits for Redis to answer before it rejects, saying why (default 10). */
  readonly connectTimeout?: number;
  /**
   * The queue's shared secret, the callers' (`QueueBackend({ secret })`). With it, this worker acts
   * only on signed cancellations and heartbeats: a forged cancel aborts nothing, and a forged or
   * replayed heartbeat does not keep a dead caller's job alive. The first forgery of each kind is
   * reported once with `process.emitWarning` (code `STBASS_QUEUE_FORGED`); all are counted in `rejected`.
   */
  readonly secret?: string;
}

/** Cancellations and heartbeats a worker with a secret ignored because they were not genuinely signed. */
export interface RejectedMessages {
  readonly cancels: number;
  readonly heartbeats: number;
}

/** A running worker. */
export interface RunningWorker {
  /** The BullMQ worker, for its events and metrics. */
  readonly worker: Worker;
  /** The names of the processes it runs. */
  readonly processNames: readonly string[];
  /** With a secret: how many forged (unsigned, wrongly signed or replayed) cancellations and heartbeats it ignored. */
  readonly rejected: RejectedMessages;
  /** Stops taking jobs, lets running ones finish (or `force` cancels them), and disconnects. */
  close(force?: boolean): Promise<void>;
}

function registryOf(processes: unknown): Map<string, Process> {
  const list = Array.isArray(processes) ? (processes as unknown[]) : typeof processes === 'object' && processes !== null ? Object.values(processes) : undefined;
  if (list === undefined || list.length === 0) throw new UsageError('startWorker options.processes', 'a non-empty array or object of processes', processes);
  const registry = new Map<string, Process>();
  list.forEach((process, index) => {
    if (!isProcess(process)) throw new UsageError(`startWorker options.processes[${index}]`, 'a Process', process);
    registry.set(process.name, process);
  });
  return registry;
}

/**
 * Checks that a value can cross the wire, or says why not. The value itself goes on: BullMQ
 * serialises it again the same way, so parsing the text back would only cost time on every job.
 */
function toWire(value: unknown, what: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.stringify(value) === undefined ? undefined : value };
  } catch (error) {
    return { ok: false, message: `${what} cannot be serialised to JSON: ${(error as Error).message}` };
  }
}

/** Why a job is refused before it runs: a final failure (never retried, never stalled), its reason bounded. */
function refuse(reason: string): UnrecoverableError {
  return new UnrecoverableError(truncated(reason));
}

/**
 * A BullMQ Worker that turns a job it cannot decode (data that is not JSON, or over the size limit)
 * into a job that fails at once, instead of an error that leaves the job to stall and return forever.
 */
class GuardedWorker extends Worker {
  constructor(
    name: string,
    processor: (job: Job) => Promise<JobOutcome>,
    options: BullWorkerOptions,
    private readonly maxPayloadBytes: number,
    /** Why a decoded job must be failed without running, for the processor to say. */
    private readonly refusals: WeakMap<Job, string>,
  ) {
    super(name, processor, options);
  }

  protected override createJob(json: JobJson, jobId: string): Job {
    const data = typeof json.data === 'string' ? json.data : '';
    const limit = this.maxPayloadBytes;
    // A UTF-16 unit is at most 3 bytes of UTF-8: most payloads are cleared without counting.
    const bytes = data.length * 3 <= limit ? 0 : Buffer.byteLength(data);
    if (bytes > limit) return this.refused(json, jobId, `the job payload is ${bytes} bytes, over this worker's limit of ${limit} (maxPayloadBytes)`);
    try {
      return super.createJob(json, jobId);
    } catch (error) {
      return this.refused(json, jobId, `the job data is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  private refused(json: JobJson, jobId: string, reason: string): Job {
    const job = super.createJob({ ...json, data: '{}' }, jobId);
    this.refusals.set(job, reason);
    return job;
  }
}

/**
 * Starts a worker that consumes a BullMQ queue and runs the processes registered with it by name:
 * a job naming an unknown process fails at once (no code travels in a job). It validates the whole
 * payload (placement included) and the input against the process's schema, never starts a job whose
 * deadline passed, aborts `ctx.signal` when the caller cancels or is gone, and sends `ctx.emit`
 * values back as partial results. It rejects, saying why, when Redis cannot be reached within
 * `connectTimeout`.
 *
 * Delivery is at least once: a worker that dies after a body finished but before BullMQ recorded it
 * lets another worker run the job again (the caller still gets one result). `ctx.processId` is the
 * job id, the same on every delivery: use it as an idempotency key for side effects.
 *
 * @example
 * ```ts
 * const worker = await startWorker({ connection: 'redis://127.0.0.1:6379', queue: 'embeddings', processes: [embedder], concurrency: 4 });
 * process.on('SIGTERM', () => void worker.close());
 * ```
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const parsed = parseArgument(workerOptionsSchema, options, 'startWorker options');
  const registry = registryOf(parsed.processes);
  const queueName = parsed.queue;
  const prefix = resolvePrefix(options.connection, parsed.prefix, 'startWorker options.prefix');
  const keys = stbassKeys(prefix);
  const known = [...registry.keys()].join(', ');
  const callerCheckInterval = (parsed.callerCheckInterval ?? 5) * 1000;
  const connectTimeout = parsed.connectTimeout ?? 10;
  const redis: RedisClient = openRedis(options.connection);
  try {
    await whenReachable(redis, connectTimeout);
  } catch (error) {
    redis.disconnect();
    throw new Error(`startWorker: cannot reach Redis for queue "${queueName}": ${(error as Error).message}`, { cause: error });
  }
  const subscriber: RedisClient = duplicateRedis(redis);
  const refusals = new WeakMap<Job, string>();

  const signer = parsed.secret === undefined ? undefined : new Signer(parsed.secret, prefix);
  const rejected = { cancels: 0, heartbeats: 0 };
  /** Counts a forgery; says so once per kind (a flood of them must not flood the log). */
  const rejectForged = (kind: keyof typeof rejected, what: string): void => {
    rejected[kind] += 1;
    if (rejected[kind] > 1) return;
    process.emitWarning(
      `stbass worker on queue "${queueName}" ignored ${what} not signed with its secret (another Redis client, or a caller without the secret); further ones are only counted (worker.rejected)`,
      { code: 'STBASS_QUEUE_FORGED' },
    );
  };
  /** Whether a cancellation (a pub/sub message or a `cancelled` key's value) is to be obeyed. */
  const isGenuineCancel = (text: string): boolean => {
    if (signer === undefined) return true;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    const genuine = typeof message === 'object' && message !== null && signer.isGenuineCancel(message as CancelMessage);
    if (!genuine) rejectForged('cancels', 'a cancellation');
    return genuine;
  };
  /** Whether a caller's liveness key, as read (its value with a secret, else whether it exists), says the caller is alive. */
  const isCallerAlive = (callerId: string, read: unknown): boolean => {
    if (signer === undefined) return read === 1;
    if (read === null || read === undefined) return false;
    const alive = typeof read === 'string' && signer.isLiveHeartbeat(callerId, read);
    if (!alive) rejectForged('heartbeats', 'a caller heartbeat');
    return alive;
  };
  /** Reads a caller's liveness key: its value when heartbeats are signed, else only whether it exists. */
  const readCaller = (callerId: string): Promise<unknown> => (signer === undefined ? redis.exists(keys.caller(callerId)) : redis.get(keys.caller(callerId)));

  // Placements repeat from job to job and are immutable: build each once.
  const placements = new Map<string, Placement>();
  const placementOf = (fields: JobPayload['placement']): Placement => {
    const key = JSON.stringify(fields);
    let placement = placements.get(key);
    if (placement === undefined) {
      if (placements.size >= 1_000) placements.clear();
      try {
        placement = new Placement(fields);
      } catch (error) {
        throw refuse(`invalid placement in the job payload on queue "${queueName}": ${(error as Error).message}`);
      }
      placements.set(key, placement);
    }
    return placement;
  };

  /** Callers recently seen alive, until when. */
  const callersSeen = new Map<string, number>();
  /** Job ids whose cancellation was announced since this worker subscribed, until when they are forgotten. */
  const announced = new Map<string, number>();

  /** A running job: how to abort it, and who waits for it. */
  interface RunningJob {
    readonly callerId: string;
    abort(reason: Error, why: string): void;
  }

  // One watchdog for every running job: a job whose caller's heartbeat expired is aborted.
  const running = new Map<string, RunningJob>();
  const watchdog = setInterval(() => {
    for (const job of running.values()) {
      readCaller(job.callerId).then(
        (read) => isCallerAlive(job.callerId, read) || job.abort(new CancelledError('unsubscribed'), 'the caller is gone (its heartbeat expired) while the job ran'),
        () => undefined,
      );
    }
  }, callerCheckInterval);
  watchdog.unref();

  /** Everything about a job that can be checked before it counts as running; a bad job is refused here. */
  const admit = (job: Job): { process: Process; payload: JobPayload; placement: Placement } => {
    const refusal = refusals.get(job);
    if (refusal !== undefined) throw refuse(`${refusal} on queue "${queueName}"`);
    const payloadCheck = jobPayloadSchema.safeParse(job.data);
    if (!payloadCheck.success) throw refuse(`invalid job payload on queue "${queueName}": ${payloadCheck.error.message}`);
    const payload = payloadCheck.data;
    const process = registry.get(payload.processName);
    if (process === undefined) throw refuse(`unknown process "${truncated(payload.processName, 100)}" on queue "${queueName}"; this worker runs: ${known}`);
    const placement = placementOf(payload.placement);
    if (payload.deadline !== null && Date.now() >= payload.deadline) throw refuse(`the deadline (${new Date(payload.deadline).toISOString()}) passed before the job started`);
    return { process, payload, placement };
  };

  // Two parameters, not three: BullMQ then makes no AbortController of its own per job (this
  // worker aborts jobs itself, through `running`, on a cancellation and on a forced close).
  const processJob = async (job: Job): Promise<JobOutcome> => {
    const { process, payload, placement } = admit(job);
    // Was the job cancelled before it got here, and is its caller still there? Announcements reach
    // this worker by pub/sub (it subscribed before it took any job) and a caller seen alive within
    // the last second is taken as alive (its heartbeat lasts callerTtl), so a first delivery needs
    // no round trip; a job handed on from a dead worker may have been cancelled before this worker
    // listened, so for it the cancelled key is read.
    const jobId = job.id ?? '';
    if (announced.has(jobId)) throw refuse('cancelled by the caller before it started');
    const knownAlive = (callersSeen.get(payload.callerId) ?? 0) > Date.now();
    const redelivered = job.stalledCounter > 0 || job.attemptsStarted > 1;
    if (!knownAlive || redelivered) {
      const checks = signer === undefined ? redis.pipeline().exists(keys.cancelled(jobId)).exists(keys.caller(payload.callerId)) : redis.pipeline().get(keys.cancelled(jobId)).get(keys.caller(payload.callerId));
      const [cancelled, caller] = ((await checks.exec()) ?? []).map(([, reply]) => reply);
      const wasCancelled = signer === undefined ? cancelled === 1 : typeof cancelled === 'string' && isGenuineCancel(cancelled);
      if (wasCancelled) throw refuse('cancelled by the caller before it started');
      if (!isCallerAlive(payload.callerId, caller)) throw refuse('the caller is gone (its heartbeat expired) before the job started');
      if (callersSeen.size >= 10_000) callersSeen.clear();
      callersSeen.set(payload.callerId, Date.now() + 1_000);
    }

    const controller = new AbortController();
    let abortedBecause = '';
    const entry: RunningJob = {
      callerId: payload.callerId,
      abort: (reason, why) => {
        if (controller.signal.aborted) return;
        abortedBecause = why;
        controller.abort(reason);
      },
    };
    let deadlineTimer: Subscription | undefined;
    try {
      running.set(jobId, entry);
      if (payload.deadline !== null) {
        const deadline = new Date(payload.deadline);
        const error = new DeadlineExceededError(deadline, 'running', process.name);
        // Stepped, so that a deadline weeks away does not overflow a timer and fire at once.
        deadlineTimer = timerAt(asyncScheduler, payload.deadline).subscribe(() => entry.abort(error, error.message));
      }

      // Partials go out in order, and all of them before the job completes.
      let partials: Promise<unknown> = Promise.resolve();
      let sequence = 0;
      const ctx = new ProcessContext({
        processName: process.name,
        processId: job.id,
        placement,
        backend: `queue:${queueName}`,
        deadline: payload.deadline === null ? undefined : new Date(payload.deadline),
        attempt: payload.attempt,
        input: payload.input,
        signal: controller.signal,
        onEmit: (value) => {
          const wire = toWire(value, 'a partial result');
          const seq = (sequence += 1);
          partials = partials.then(() => job.updateProgress({ seq, value: wire.ok ? wire.value : wire.message })).catch(() => undefined);
        },
      });
      const result = await traceJob(payload.trace, { queue: queueName, jobId, processName: process.name }, () => process.execute(ctx));
      await partials;
      if (controller.signal.aborted) throw refuse(abortedBecause);
      const usage = ctx.usage === undefined ? {} : { usage: { inputTokens: ctx.usage.inputTokens, outputTokens: ctx.usage.outputTokens } };
      if (result.isOk) {
        const wire = toWire(result.value, `the value of process "${process.name}"`);
        if (wire.ok) return { ok: true, value: wire.value as JsonValue, ...usage };
        return { ok: false, error: { name: 'SerializationError', message: wire.message }, ...usage };
      }
      const failure = result.failure;
      const checkpoint = toWire(failure.checkpoint, 'the checkpoint');
      return {
        ok: false,
        error: { name: failure.error.name, message: failure.error.message, ...(failure.stack === undefined ? {} : { stack: failure.stack }) },
        ...(checkpoint.ok && checkpoint.value !== undefined ? { checkpoint: checkpoint.value as JsonValue } : {}),
        ...usage,
      };
    } finally {
      deadlineTimer?.unsubscribe();
      if (running.get(jobId) === entry) running.delete(jobId);
    }
  };

  // The worker's own connection: BullMQ blocks on it waiting for jobs, and the checks above must not wait behind that.
  const workerClient: RedisClient = duplicateRedis(redis);
  const worker = new GuardedWorker(
    queueName,
    processJob,
    {
      connection: workerClient,
      prefix,
      concurrency: parsed.concurrency ?? 1,
      ...(parsed.lockDuration === undefined ? {} : { lockDuration: parsed.lockDuration * 1000 }),
      ...(parsed.stalledInterval === undefined ? {} : { stalledInterval: parsed.stalledInterval * 1000 }),
      ...(parsed.maxStalledCount === undefined ? {} : { maxStalledCount: parsed.maxStalledCount }),
    },
    parsed.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    refusals,
  );
  worker.on('error', () => undefined);

  // The cross-worker half of cancellation: a caller announces the job id; the worker running it
  // aborts it.
  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { queue, jobId } = JSON.parse(message) as { queue?: string; jobId?: string };
      if (queue !== queueName || typeof jobId !== 'string' || !isGenuineCancel(message)) return;
      // Remembered for a job fetched but not started yet, which BullMQ's cancelJob cannot reach.
      const now = Date.now();
      if (announced.size >= 10_000) for (const [id, until] of announced) if (until <= now) announced.delete(id);
      if (announced.size >= 100_000) announced.clear(); // a flood of announcements: keep memory bounded
      announced.set(jobId, now + 60_000);
      running.get(jobId)?.abort(new CancelledError('unsubscribed'), 'cancelled by the caller');
    } catch {
      // Not ours: ignore.
    }
  });
  await worker.waitUntilReady();

  return {
    worker,
    processNames: [...registry.keys()],
    rejected,
    async close(force = false) {
      if (force) for (const job of running.values()) job.abort(new CancelledError('unsubscribed'), 'the worker is closing');
      clearInterval(watchdog);
      await worker.close(force);
      await closeRedis(workerClient);
      await closeRedis(subscriber);
      await closeRedis(redis);
    },
  };
}
