import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CancelledError, DeadlineExceededError, UsageError } from '../errors';
import { type JsonValue, Placement } from '../placement/Placement';
import { type Process, isProcess } from '../process/Process';
import { ProcessContext } from '../process/ProcessContext';
import { parseArgument } from '../validation/parse';
import { nameSchema } from '../validation/schemas';
import { type RedisConnection, closeRedis, connectionSchema, duplicateRedis, openRedis, stbassKeys } from './connection';
import { type JobOutcome, type JobPayload, jobPayloadSchema } from './payload';

const workerOptionsSchema = z.strictObject(
  {
    connection: connectionSchema,
    queue: nameSchema,
    processes: z.unknown(),
    concurrency: z.number({ error: 'a whole number >= 1' }).int().min(1).optional(),
    prefix: nameSchema.optional(),
    lockDuration: z.number({ error: 'a number of seconds > 0' }).gt(0).optional(),
    stalledInterval: z.number({ error: 'a number of seconds > 0' }).gt(0).optional(),
    callerCheckInterval: z.number({ error: 'a number of seconds > 0' }).gt(0).optional(),
  },
  { error: 'an options object { connection, queue, processes, concurrency?, ... }' },
);

/** Options of `startWorker`. */
export interface WorkerOptions {
  /** Where Redis is: a URL or ioredis options (the callers' Redis). */
  readonly connection: RedisConnection;
  /** The BullMQ queue to consume: `gpu` serves placements on `queue:gpu`. */
  readonly queue: string;
  /** The processes this worker runs, by name: an array, or an object whose values are processes. Nothing else ever runs. */
  readonly processes: readonly Process[] | Readonly<Record<string, Process>>;
  /** Jobs run at once by this worker (default 1). */
  readonly concurrency?: number;
  /** The key prefix, as the callers' (default `bull`). */
  readonly prefix?: string;
  /** Seconds a job's lock lasts without renewal; a worker that dies mid-job loses it after this (default 30, BullMQ's). */
  readonly lockDuration?: number;
  /** Seconds between BullMQ's checks for stalled jobs (default 30, BullMQ's). */
  readonly stalledInterval?: number;
  /** Seconds between checks that a running job's caller is still there (default 5). */
  readonly callerCheckInterval?: number;
}

/** A running worker. */
export interface RunningWorker {
  /** The BullMQ worker, for its events and metrics. */
  readonly worker: Worker;
  /** The names of the processes it runs. */
  readonly processNames: readonly string[];
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

/** Turns a value into JSON-safe data, or says why it cannot cross the wire. */
function toWire(value: unknown, what: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    const text = JSON.stringify(value);
    return { ok: true, value: text === undefined ? undefined : (JSON.parse(text) as unknown) };
  } catch (error) {
    return { ok: false, message: `${what} cannot be serialised to JSON: ${(error as Error).message}` };
  }
}

/**
 * Starts a worker that consumes a BullMQ queue and runs the processes registered with it by name:
 * a job naming an unknown process fails at once (no code travels in a job). It validates the input
 * against the process's schema, never starts a job whose deadline passed, aborts `ctx.signal` when
 * the caller cancels or is gone, and sends `ctx.emit` values back as partial results.
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
  const prefix = parsed.prefix ?? 'bull';
  const keys = stbassKeys(prefix);
  const known = [...registry.keys()].join(', ');
  const callerCheckInterval = (parsed.callerCheckInterval ?? 5) * 1000;
  const redis: Redis = openRedis(options.connection);
  const subscriber: Redis = duplicateRedis(redis);

  // Placements repeat from job to job and are immutable: build each once.
  const placements = new Map<string, Placement>();
  const placementOf = (fields: JobPayload['placement']): Placement => {
    const key = JSON.stringify(fields);
    let placement = placements.get(key);
    if (placement === undefined) {
      if (placements.size >= 1_000) placements.clear();
      placement = new Placement(fields);
      placements.set(key, placement);
    }
    return placement;
  };

  // One watchdog for every running job: a job whose caller's heartbeat expired is aborted.
  const running = new Map<AbortController, string>();
  const watchdog = setInterval(() => {
    for (const [controller, callerId] of running) {
      redis.exists(keys.caller(callerId)).then(
        (alive) => alive === 0 && !controller.signal.aborted && controller.abort(new CancelledError('unsubscribed')),
        () => undefined,
      );
    }
  }, callerCheckInterval);
  watchdog.unref();

  const processJob = async (job: Job, _token?: string, signal?: AbortSignal): Promise<JobOutcome> => {
    const payloadCheck = jobPayloadSchema.safeParse(job.data);
    if (!payloadCheck.success) throw new UnrecoverableError(`invalid job payload on queue "${queueName}": ${payloadCheck.error.message}`);
    const payload = payloadCheck.data;
    const process = registry.get(payload.processName);
    if (process === undefined) throw new UnrecoverableError(`unknown process "${payload.processName}" on queue "${queueName}"; this worker runs: ${known}`);
    if (payload.deadline !== null && Date.now() >= payload.deadline) throw new UnrecoverableError(`the deadline (${new Date(payload.deadline).toISOString()}) passed before the job started`);
    // One round trip: was the job cancelled before it got here, and is its caller still there?
    const checks = await redis.pipeline().exists(keys.cancelled(job.id ?? '')).exists(keys.caller(payload.callerId)).exec();
    const [cancelled, callerAlive] = (checks ?? []).map(([, count]) => count);
    if (cancelled === 1) throw new UnrecoverableError('cancelled by the caller before it started');
    if (callerAlive === 0) throw new UnrecoverableError('the caller is gone (its heartbeat expired) before the job started');

    const controller = new AbortController();
    const abort = (reason: Error): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    signal?.addEventListener('abort', () => abort(new CancelledError('unsubscribed')), { once: true });
    const timers: NodeJS.Timeout[] = [];
    if (payload.deadline !== null) {
      const deadline = new Date(payload.deadline);
      timers.push(setTimeout(() => abort(new DeadlineExceededError(deadline, 'running', process.name)), payload.deadline - Date.now()));
    }
    running.set(controller, payload.callerId);

    // Partials go out in order, and all of them before the job completes.
    let partials: Promise<unknown> = Promise.resolve();
    let sequence = 0;
    const ctx = new ProcessContext({
      processName: process.name,
      processId: job.id,
      placement: placementOf(payload.placement),
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
    try {
      const result = await process.execute(ctx);
      await partials;
      if (controller.signal.aborted) throw new UnrecoverableError(`cancelled: ${(controller.signal.reason as Error).message}`);
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
      for (const timer of timers) clearTimeout(timer);
      running.delete(controller);
    }
  };

  // The worker's own connection: BullMQ blocks on it waiting for jobs, and the checks above must not wait behind that.
  const workerClient: Redis = duplicateRedis(redis);
  const worker = new Worker(queueName, processJob, {
    connection: workerClient,
    prefix,
    concurrency: parsed.concurrency ?? 1,
    ...(parsed.lockDuration === undefined ? {} : { lockDuration: parsed.lockDuration * 1000 }),
    ...(parsed.stalledInterval === undefined ? {} : { stalledInterval: parsed.stalledInterval * 1000 }),
  });
  worker.on('error', () => undefined);

  // The cross-worker half of cancellation: a caller announces the job id; the worker running it
  // aborts it through BullMQ's own (process-local) cancel, which aborts the processor's signal.
  await subscriber.subscribe(keys.cancelChannel);
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { queue, jobId } = JSON.parse(message) as { queue?: string; jobId?: string };
      if (queue === queueName && typeof jobId === 'string') worker.cancelJob(jobId, 'cancelled by the caller');
    } catch {
      // Not ours: ignore.
    }
  });
  await worker.waitUntilReady();

  return {
    worker,
    processNames: [...registry.keys()],
    async close(force = false) {
      if (force) worker.cancelAllJobs('the worker is closing');
      clearInterval(watchdog);
      await worker.close(force);
      await closeRedis(workerClient);
      await closeRedis(subscriber);
      await closeRedis(redis);
    },
  };
}
