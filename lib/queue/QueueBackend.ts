import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { z } from 'zod';
import { ExecutionBackend } from '../backends/ExecutionBackend';
import { BackendUnavailableError, InvalidResultError } from '../errors';
import type { Placement } from '../placement/Placement';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';
import { parseArgument } from '../validation/parse';
import { concurrencySchema, nameSchema } from '../validation/schemas';
import { type RedisConnection, closeRedis, connectionSchema, duplicateRedis, openRedis, stbassKeys } from './connection';
import { type JobOutcome, type JobPayload, jobOutcomeSchema } from './payload';
import { RemoteProcessError } from './RemoteProcessError';

const optionsSchema = z.strictObject(
  {
    connection: connectionSchema,
    prefix: nameSchema.optional(),
    concurrencyLimit: concurrencySchema.optional(),
    name: nameSchema.optional(),
    maxPayloadBytes: z.number({ error: 'a whole number of bytes >= 1' }).int().min(1).optional(),
    callerTtl: z.number({ error: 'a number of seconds >= 1' }).min(1).optional(),
    pollInterval: z.number({ error: 'a number of seconds > 0' }).gt(0).optional(),
    healthTimeout: z.number({ error: 'a number of seconds > 0' }).gt(0).optional(),
  },
  { error: 'an options object { connection, prefix?, concurrencyLimit?, ... }' },
);

/** Options of the `QueueBackend`. */
export interface QueueBackendOptions {
  /** Where Redis is: a URL (`redis://:password@host:6379/0`, `rediss://` for TLS) or ioredis options. */
  readonly connection: RedisConnection;
  /** The key prefix of BullMQ and stbass keys (default `bull`, BullMQ's). Workers must use the same. */
  readonly prefix?: string;
  /** The most jobs in flight from this process at once, across every run (default 64). */
  readonly concurrencyLimit?: number;
  /** The backend's name (default `queue`). */
  readonly name?: string;
  /** The largest job payload accepted, in bytes of JSON (default 1 MiB). */
  readonly maxPayloadBytes?: number;
  /** Seconds a worker waits for this caller's heartbeat before abandoning its jobs (default 15). */
  readonly callerTtl?: number;
  /** Seconds between checks of jobs whose events may have been missed, e.g. across a Redis restart (default 5). */
  readonly pollInterval?: number;
  /** Seconds the health check waits for Redis to answer (default 2). */
  readonly healthTimeout?: number;
}

/** How a waiting caller hears of its job. */
interface JobListener {
  progress(data: unknown): void;
  completed(returnvalue: unknown): void;
  failed(reason: string): void;
}

/** One BullMQ queue as seen by this caller: the queue, its event stream, and the jobs waited for. */
interface QueueChannel {
  readonly queue: Queue;
  readonly events: QueueEvents;
  readonly ready: Promise<unknown>;
  readonly listeners: Map<string, JobListener>;
  readonly eventsClient: Redis;
  poller: NodeJS.Timeout | undefined;
}

/**
 * Places processes on remote workers through BullMQ on Redis: `new Placement({ endpoint:
 * 'queue:gpu' })` runs on a worker of the BullMQ queue `gpu` (see `startWorker`). Only the
 * process's name, input, placement, deadline and attempt travel; partial results come back as
 * BullMQ progress events; cancellation (HALT, deadline, unsubscription) reaches the worker through
 * Redis pub/sub. Call `close()` when done.
 *
 * @example
 * ```ts
 * const queue = new QueueBackend({ connection: 'redis://127.0.0.1:6379', concurrencyLimit: 32 });
 * const registry = new BackendRegistry().register('queue', queue);
 * await PLACED_PAR([embedder, new Placement({ endpoint: 'queue:embeddings' })], { registry }).run();
 * await queue.close();
 * ```
 */
export class QueueBackend extends ExecutionBackend {
  readonly name: string;
  override readonly concurrencyLimit: number;
  /** The key prefix shared with the workers. */
  readonly prefix: string;
  readonly #redis: Redis;
  readonly #channels = new Map<string, QueueChannel>();
  readonly #callerId = randomUUID();
  readonly #maxPayloadBytes: number;
  readonly #callerTtl: number;
  readonly #pollInterval: number;
  readonly #healthTimeout: number;
  #waiting = 0;
  #health: { readonly at: number; readonly answer: Promise<boolean> } | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: QueueBackendOptions) {
    super();
    const parsed = parseArgument(optionsSchema, options, 'QueueBackend options');
    this.name = parsed.name ?? 'queue';
    this.concurrencyLimit = parsed.concurrencyLimit ?? 64;
    this.prefix = parsed.prefix ?? 'bull';
    this.#maxPayloadBytes = parsed.maxPayloadBytes ?? 1024 * 1024;
    this.#callerTtl = parsed.callerTtl ?? 15;
    this.#pollInterval = parsed.pollInterval ?? 5;
    this.#healthTimeout = parsed.healthTimeout ?? 2;
    this.#redis = openRedis(options.connection);
  }

  /**
   * Answers whether Redis replies to a PING within `healthTimeout`. A healthy answer is reused for a
   * second, so a group of thousands of jobs costs one PING, not one each.
   */
  override healthCheck(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    const now = Date.now();
    if (this.#health !== undefined && now - this.#health.at < 1_000) return this.#health.answer;
    const answer = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.#healthTimeout * 1000);
      this.#redis.ping().then(
        (reply) => (clearTimeout(timer), resolve(reply === 'PONG')),
        () => (clearTimeout(timer), resolve(false)),
      );
    });
    this.#health = { at: now, answer };
    // A failed check is not reused: the next process asks again.
    void answer.then((healthy) => {
      if (!healthy && this.#health?.answer === answer) this.#health = undefined;
    });
    return answer;
  }

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return new Observable<ProcessResult>((subscriber) => {
      const queueName = queueNameOf(ctx.placement);
      const backend = queueName === undefined ? this.name : `${this.name}:${queueName}`;
      const settle = (result: ProcessResult): void => {
        settled = true;
        subscriber.next(result);
        subscriber.complete();
      };
      const fail = (error: unknown, checkpoint?: unknown): void => settle(ProcessResult.fail(error, { backend, ...(checkpoint === undefined ? {} : { checkpoint }) }));
      let settled = false;
      if (queueName === undefined) {
        fail(new BackendUnavailableError(this.name, ctx.placement, 'the endpoint must name a queue, as in "queue:gpu"'));
        return undefined;
      }
      if (this.#closed) {
        fail(new BackendUnavailableError(this.name, ctx.placement, 'the QueueBackend was closed'));
        return undefined;
      }
      const payload: JobPayload = {
        processName: process.name,
        input: ctx.input as JobPayload['input'],
        placement: ctx.placement.toJSON(),
        deadline: ctx.deadline === undefined ? null : ctx.deadline.getTime(),
        attempt: ctx.attempt,
        callerId: this.#callerId,
      };
      let size: number;
      try {
        size = Buffer.byteLength(JSON.stringify(payload));
      } catch (error) {
        fail(new TypeError(`the input of process "${process.name}" cannot be sent to a worker: it is not JSON (${(error as Error).message})`));
        return undefined;
      }
      if (size > this.#maxPayloadBytes) {
        fail(new RangeError(`the job payload of process "${process.name}" is ${size} bytes, over the limit of ${this.#maxPayloadBytes} (maxPayloadBytes)`));
        return undefined;
      }

      const jobId = randomUUID();
      const channel = this.channel(queueName);
      channel.listeners.set(jobId, {
        progress: (data) => {
          if (typeof data === 'object' && data !== null && 'value' in data) ctx.emit((data).value);
        },
        completed: (returnvalue) => settle(this.outcomeToResult(returnvalue, backend, ctx)),
        failed: (reason) => fail(new RemoteProcessError({ name: 'RemoteJobFailed', message: `the job failed on queue "${queueName}": ${reason}` })),
      });
      this.holdCaller();
      channel.ready
        .then(() => {
          if (settled || subscriber.closed) return undefined;
          return channel.queue.add(process.name, payload, { jobId, attempts: 1, removeOnComplete: { age: 600 }, removeOnFail: { age: 600 } });
        })
        .catch((error: unknown) => {
          if (!settled && !subscriber.closed) fail(new BackendUnavailableError(this.name, ctx.placement, `could not enqueue the job: ${(error as Error).message}`, { cause: error }));
        });

      return () => {
        channel.listeners.delete(jobId);
        this.releaseCaller();
        if (!settled) this.cancelRemote(channel, jobId);
      };
    });
  }

  /** Closes the queues, their event streams and the Redis connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const channel of channels) clearInterval(channel.poller);
    await Promise.allSettled(channels.flatMap((channel) => [channel.events.close(), channel.queue.close()]));
    await Promise.allSettled(channels.map((channel) => closeRedis(channel.eventsClient)));
    await closeRedis(this.#redis);
  }

  private channel(queueName: string): QueueChannel {
    const existing = this.#channels.get(queueName);
    if (existing !== undefined) return existing;
    const options = { connection: this.#redis, prefix: this.prefix };
    const queue = new Queue(queueName, options);
    // Its own connection: QueueEvents blocks on XREAD, which must not hold up the queue's commands.
    const eventsClient = duplicateRedis(this.#redis);
    const events = new QueueEvents(queueName, { connection: eventsClient, prefix: this.prefix });
    const listeners = new Map<string, JobListener>();
    events.on('progress', ({ jobId, data }) => listeners.get(jobId)?.progress(data));
    events.on('completed', ({ jobId, returnvalue }) => listeners.get(jobId)?.completed(returnvalue));
    events.on('failed', ({ jobId, failedReason }) => listeners.get(jobId)?.failed(failedReason));
    // Swallowed here: a lost connection shows as a failed health check or enqueue, and events
    // missed meanwhile are recovered by the poller below.
    events.on('error', () => undefined);
    queue.on('error', () => undefined);
    const channel: QueueChannel = { queue, events, eventsClient, listeners, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), poller: undefined };
    channel.poller = setInterval(() => void this.pollMissed(channel), this.#pollInterval * 1000);
    channel.poller.unref();
    this.#channels.set(queueName, channel);
    return channel;
  }

  /** Finds jobs that finished without this caller hearing of it (events lost across a reconnect). */
  private async pollMissed(channel: QueueChannel): Promise<void> {
    for (const [jobId, listener] of [...channel.listeners]) {
      const job = await Job.fromId(channel.queue, jobId).catch(() => undefined);
      if (job === undefined || !channel.listeners.has(jobId)) continue;
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'completed') listener.completed(job.returnvalue);
      else if (state === 'failed') listener.failed(job.failedReason);
    }
  }

  private outcomeToResult(returnvalue: unknown, backend: string, ctx: ProcessContext): ProcessResult {
    let outcome: JobOutcome;
    try {
      outcome = jobOutcomeSchema.parse(typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue);
    } catch {
      return ProcessResult.fail(new InvalidResultError(returnvalue, `the worker on ${backend}`), { backend });
    }
    if (outcome.usage !== undefined) ctx.recordUsage(outcome.usage);
    if (outcome.ok) return ProcessResult.ok(outcome.value);
    return ProcessResult.fail(new RemoteProcessError(outcome.error), { backend, ...(outcome.checkpoint === undefined ? {} : { checkpoint: outcome.checkpoint }) });
  }

  /** Tells every worker the job is cancelled: marked for late pickers, announced to the running one, removed if waiting. */
  private cancelRemote(channel: QueueChannel, jobId: string): void {
    const keys = stbassKeys(this.prefix);
    this.#redis
      .multi()
      .set(keys.cancelled(jobId), '1', 'EX', 3600)
      .publish(keys.cancelChannel, JSON.stringify({ queue: channel.queue.name, jobId }))
      .exec()
      .catch(() => undefined);
    channel.queue.remove(jobId).catch(() => undefined);
  }

  /** Keeps this caller's liveness key fresh while any job waits, so workers do not abandon them. */
  private holdCaller(): void {
    this.#waiting += 1;
    if (this.#heartbeat !== undefined) return;
    const beat = (): void => void this.#redis.set(stbassKeys(this.prefix).caller(this.#callerId), '1', 'EX', this.#callerTtl).catch(() => undefined);
    beat();
    this.#heartbeat = setInterval(beat, (this.#callerTtl * 1000) / 3);
    this.#heartbeat.unref();
  }

  private releaseCaller(): void {
    this.#waiting -= 1;
    if (this.#waiting > 0 || this.#heartbeat === undefined) return;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}

/** The queue a placement names: `gpu` for the endpoint `queue:gpu`. */
export function queueNameOf(placement: Placement): string | undefined {
  const endpoint = placement.endpoint;
  const colon = endpoint?.indexOf(':') ?? -1;
  if (endpoint === undefined || colon < 0) return undefined;
  const name = endpoint.slice(colon + 1);
  return name === '' ? undefined : name;
}
