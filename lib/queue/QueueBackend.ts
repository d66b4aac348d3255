import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Observable } from 'rxjs';
import { z } from 'zod';
import { ExecutionBackend } from '../backends/ExecutionBackend';
import { BackendUnavailableError, InvalidResultError } from '../errors';
import type { JsonValue, Placement } from '../placement/Placement';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';
import { parseArgument } from '../validation/parse';
import { concurrencySchema, nameSchema } from '../validation/schemas';
import {
  type RedisClient,
  type RedisConnection,
  bullKeys,
  closeRedis,
  connectionSchema,
  duplicateRedis,
  openRedis,
  resolvePrefix,
  stbassKeys,
  whenReachable,
  withinTime,
} from './connection';
import { type JobOutcome, type JobPayload, DEFAULT_MAX_PAYLOAD_BYTES, jobOutcomeSchema, truncated } from './payload';
import { type QueueRateLimit, applyQueueRateLimit, queueRateLimitSchema } from './queueRateLimit';
import { RemoteProcessError } from './RemoteProcessError';
import { CANCEL_VALIDITY_MS, Signer, secretSchema } from './signing';
import { type QueueHop, queueHop } from '../telemetry/queueHop';
import { subclassDefines } from '../backends/subclassDefines';

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
    closeTimeout: z.number({ error: 'a number of seconds > 0' }).gt(0).optional(),
    rateLimit: queueRateLimitSchema.optional(),
    secret: secretSchema.optional(),
  },
  { error: 'an options object { connection, prefix?, concurrencyLimit?, ... }' },
);

/** Options of the `QueueBackend`. */
export interface QueueBackendOptions {
  /** Where Redis is: a URL (`redis://:password@host:6379/0`, `rediss://` for TLS), ioredis options, or an ioredis `Cluster`. */
  readonly connection: RedisConnection;
  /**
   * The key prefix of BullMQ and stbass keys (default `bull`, BullMQ's; `{bull}` on a Cluster, where
   * the prefix must carry a `{hash tag}`). Workers must use the same.
   */
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
  /** Seconds `close()` waits for Redis to take the last commands before it drops the connections (default 2). */
  readonly closeTimeout?: number;
  /**
   * At most `requests.limit` jobs of each queue taken by its workers in `requests.per` seconds, for
   * every caller and worker of the queue: BullMQ's limiter in Redis (see `applyQueueRateLimit`),
   * set when this caller first uses the queue. Every caller of a queue should pass the same.
   */
  readonly rateLimit?: QueueRateLimit;
  /**
   * The queue's shared secret (at least 16 characters), the same as the workers': cancellations and
   * heartbeats are then signed (HMAC-SHA256), and workers given it ignore forged ones. Without it,
   * anyone who can write to Redis can cancel jobs or keep a dead caller's jobs alive.
   */
  readonly secret?: string;
}

/** How a waiting caller hears of its job. */
interface JobListener {
  progress(data: unknown): void;
  completed(returnvalue: unknown): void;
  failed(reason: string): void;
  /** The job is no longer in Redis (removed, or lost in a restart without persistence). */
  lost(): void;
  /** The backend closed before the job settled. */
  closed(): void;
  /**
   * When the job was added to Redis (0 until then): only then can the poller tell a lost job from
   * one not yet added, and a job younger than a poll interval is left to its events.
   */
  enqueuedAt: number;
  /** When the poller last looked this job up (0: never): the ones looked at longest ago go first. */
  polledAt: number;
}

/**
 * The most jobs one poll looks up. A caller with a backlog of thousands of waiting jobs would
 * otherwise send three commands per job every poll interval, loading Redis most when it is slowest;
 * beyond this many, jobs take turns (the one looked at longest ago first).
 */
const MAX_JOBS_PER_POLL = 1_000;

/** One BullMQ queue as seen by this caller: the queue, its event stream, and the jobs waited for. */
interface QueueChannel {
  readonly queue: Queue;
  events: QueueEvents | undefined;
  readonly ready: Promise<unknown>;
  readonly listeners: Map<string, JobListener>;
  readonly eventsClient: RedisClient;
  poller: NodeJS.Timeout | undefined;
  polling: boolean;
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
  // Declared, not defined: a field would hide a subclass's getter (the seed's `@property`); the
  // constructor sets each from the options unless a subclass defines it.
  declare readonly name: string;
  declare readonly concurrencyLimit: number;
  /** The key prefix shared with the workers. */
  readonly prefix: string;
  readonly #redis: RedisClient;
  /**
   * PINGs and heartbeats go on a connection of their own: behind thousands of queued adds a PING
   * would time out on a healthy server, and a heartbeat could come too late to keep this caller alive.
   */
  #healthClient: RedisClient | undefined;
  readonly #channels = new Map<string, QueueChannel>();
  readonly #callerId = randomUUID();
  readonly #maxPayloadBytes: number;
  readonly #callerTtl: number;
  readonly #pollInterval: number;
  readonly #healthTimeout: number;
  readonly #closeTimeout: number;
  readonly #rateLimit: z.output<typeof queueRateLimitSchema> | undefined;
  readonly #signer: Signer | undefined;
  #waiting = 0;
  /** When Redis last answered this caller (an enqueue, an event, a poll): a busy caller is a live one. */
  #heardAt = 0;
  #health: { readonly at: number; readonly answer: Promise<boolean> } | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: QueueBackendOptions) {
    super();
    const parsed = parseArgument(optionsSchema, options, 'QueueBackend options');
    if (!subclassDefines(this, QueueBackend, 'name')) this.name = parsed.name ?? 'queue';
    if (!subclassDefines(this, QueueBackend, 'concurrencyLimit')) this.concurrencyLimit = parsed.concurrencyLimit ?? 64;
    this.prefix = resolvePrefix(options.connection, parsed.prefix, 'QueueBackend options.prefix');
    this.#maxPayloadBytes = parsed.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.#callerTtl = parsed.callerTtl ?? 15;
    this.#pollInterval = parsed.pollInterval ?? 5;
    this.#healthTimeout = parsed.healthTimeout ?? 2;
    this.#closeTimeout = parsed.closeTimeout ?? 2;
    this.#rateLimit = parsed.rateLimit;
    this.#signer = parsed.secret === undefined ? undefined : new Signer(parsed.secret, this.prefix);
    // Adds of one tick (a group starts many processes at once) leave in one write.
    this.#redis = openRedis(options.connection, { autoPipelining: true });
  }

  /**
   * Answers whether Redis replies to a PING within `healthTimeout`; when it does not, the check fails
   * with the reason (refused, wrong password, untrusted TLS certificate). A healthy answer is reused
   * for a second, so a group of thousands of jobs costs one PING, not one each.
   */
  override healthCheck(): Promise<boolean> {
    if (this.#closing !== undefined) return Promise.resolve(false);
    const now = Date.now();
    if (this.#health !== undefined && now - this.#health.at < 1_000) return this.#health.answer;
    // A PING answered late because this process is busy (thousands of jobs in flight) is not an
    // outage: Redis that answered anything within the timeout counts as healthy.
    const answer = whenReachable(this.sideClient(), this.#healthTimeout).then(
      () => true,
      (error: unknown) => {
        if (Date.now() - this.#heardAt < this.#healthTimeout * 1000) return true;
        throw error;
      },
    );
    this.#health = { at: now, answer };
    // A failed check is not reused: the next process asks again.
    answer.catch(() => {
      if (this.#health?.answer === answer) this.#health = undefined;
    });
    return answer;
  }

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return new Observable<ProcessResult>((subscriber) => {
      const queueName = queueNameOf(ctx.placement);
      const backend = queueName === undefined ? this.name : `${this.name}:${queueName}`;
      const settle = (result: ProcessResult): void => {
        settled = true;
        hop?.settled(result);
        subscriber.next(result);
        subscriber.complete();
      };
      const fail = (error: unknown, checkpoint?: unknown): void => settle(ProcessResult.fail(error, { backend, ...(checkpoint === undefined ? {} : { checkpoint }) }));
      let settled = false;
      let hop: QueueHop | undefined = undefined;
      if (queueName === undefined) {
        fail(new BackendUnavailableError(this.name, ctx.placement, 'the endpoint must name a queue, as in "queue:gpu"'));
        return undefined;
      }
      if (this.#closing !== undefined) {
        fail(new BackendUnavailableError(this.name, ctx.placement, 'the QueueBackend was closed'));
        return undefined;
      }
      const payload: JobPayload = {
        processName: process.name,
        input: ctx.input as JobPayload['input'],
        placement: wirePlacement(ctx.placement),
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
      // The hop's span (lib/telemetry), when traced; its context travels in the job.
      hop = queueHop({ queue: queueName, jobId, processName: process.name });
      if (hop !== undefined) payload.trace = hop.carrier;
      const channel = this.channel(queueName);
      const remoteFailure = (name: string, message: string): void => fail(new RemoteProcessError({ name, message: `the job failed on queue "${queueName}": ${message}` }));
      const listener: JobListener = {
        enqueuedAt: 0,
        polledAt: 0,
        progress: (data) => {
          if (!settled && typeof data === 'object' && data !== null && 'value' in data) ctx.emit(data.value);
        },
        completed: (returnvalue) => settled || settle(this.outcomeToResult(returnvalue, backend, ctx)),
        failed: (reason) => settled || remoteFailure('RemoteJobFailed', truncated(reason)),
        lost: () => settled || remoteFailure('RemoteJobLost', `job ${jobId} is no longer in Redis (removed, e.g. by Queue.drain(), or lost when Redis restarted without persistence)`),
        closed: () => settled || fail(new BackendUnavailableError(this.name, ctx.placement, 'the QueueBackend was closed before the job settled')),
      };
      channel.listeners.set(jobId, listener);
      this.holdCaller();
      channel.ready
        .then(() => {
          if (settled || subscriber.closed) return undefined;
          return channel.queue.add(process.name, payload, { jobId, attempts: 1, removeOnComplete: { age: 600 }, removeOnFail: { age: 600 } });
        })
        .then(
          () => (listener.enqueuedAt = this.#heardAt = Date.now()),
          (error: unknown) => {
            if (!settled && !subscriber.closed) fail(new BackendUnavailableError(this.name, ctx.placement, `could not enqueue the job: ${(error as Error).message}`, { cause: error }));
          },
        );

      return () => {
        channel.listeners.delete(jobId);
        this.releaseCaller();
        if (!settled) {
          hop?.cancelled();
          this.cancelRemote(channel, jobId);
        }
      };
    });
  }

  /**
   * Closes the queues, their event streams and the Redis connections, in at most `closeTimeout`
   * seconds even when Redis is down. Runs still waiting for a job settle first, with a
   * `BackendUnavailableError`, and their jobs are cancelled (best effort).
   */
  close(): Promise<void> {
    this.#closing ??= this.shutDown();
    return this.#closing;
  }

  private async shutDown(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    for (const channel of channels) {
      clearInterval(channel.poller);
      for (const [jobId, listener] of [...channel.listeners]) {
        this.cancelRemote(channel, jobId);
        listener.closed();
      }
    }
    const closing = Promise.allSettled(channels.flatMap((channel) => [channel.events?.close() ?? Promise.resolve(), channel.queue.close()]));
    await withinTime(closing, this.#closeTimeout * 1000);
    const graceMs = (this.#closeTimeout * 1000) / 2;
    const clients = [...channels.map((channel) => channel.eventsClient), this.#redis, ...(this.#healthClient === undefined ? [] : [this.#healthClient])];
    await Promise.all(clients.map((client) => closeRedis(client, graceMs)));
  }

  private sideClient(): RedisClient {
    this.#healthClient ??= duplicateRedis(this.#redis);
    return this.#healthClient;
  }

  private channel(queueName: string): QueueChannel {
    const existing = this.#channels.get(queueName);
    if (existing !== undefined) return existing;
    const queue = new Queue(queueName, { connection: this.#redis, prefix: this.prefix });
    queue.on('error', () => undefined);
    // Its own connection: QueueEvents blocks on XREAD, which must not hold up the queue's commands.
    const eventsClient = duplicateRedis(this.#redis);
    const listeners = new Map<string, JobListener>();
    // The stream is read from the last event id before any job is added, so no event of ours can
    // slip by before the first XREAD (reading from "$" would skip what came in between).
    // A rate limit goes into Redis before the first job of this caller is added.
    const limited = this.#rateLimit === undefined ? Promise.resolve() : applyQueueRateLimit(queue, this.#rateLimit);
    const ready = Promise.all([limited, this.#redis.xrevrange(bullKeys(this.prefix, queueName).events, '+', '-', 'COUNT', 1)]).then(([, last]) => {
      if (this.#closing !== undefined) return;
      const events = new QueueEvents(queueName, { connection: eventsClient, prefix: this.prefix, lastEventId: last[0]?.[0] ?? '0-0' });
      events.on('progress', ({ jobId, data }) => listeners.get(jobId)?.progress(data));
      events.on('completed', ({ jobId, returnvalue }) => {
        this.#heardAt = Date.now();
        listeners.get(jobId)?.completed(returnvalue);
      });
      events.on('failed', ({ jobId, failedReason }) => listeners.get(jobId)?.failed(failedReason));
      // Swallowed here: a lost connection shows as a failed health check or enqueue, and events
      // missed meanwhile are recovered by the poller below.
      events.on('error', () => undefined);
      channel.events = events;
    });
    // A channel that could not start (Redis refused the command: say, a wrong password) is dropped,
    // so the next job tries afresh; its own jobs fail on the enqueue.
    ready.catch(() => {
      if (this.#channels.get(queueName) !== channel) return;
      this.#channels.delete(queueName);
      clearInterval(channel.poller);
      void queue.close().catch(() => undefined);
      eventsClient.disconnect();
    });
    const channel: QueueChannel = { queue, events: undefined, eventsClient, listeners, ready, poller: undefined, polling: false };
    channel.poller = setInterval(() => void this.pollMissed(channel), this.#pollInterval * 1000);
    channel.poller.unref();
    this.#channels.set(queueName, channel);
    return channel;
  }

  /**
   * Settles jobs whose events this caller missed (a reconnect, a trimmed stream) and jobs that are
   * gone from Redis. Each job's hash and its place in the completed and failed sets are read in one
   * MULTI, so a job finishing meanwhile is never seen half-done (finished but without its value).
   */
  private async pollMissed(channel: QueueChannel): Promise<void> {
    if (channel.polling) return;
    const now = Date.now();
    const addedBefore = now - this.#pollInterval * 1000;
    let due: Array<[string, JobListener]> = [];
    for (const entry of channel.listeners) if (entry[1].enqueuedAt > 0 && entry[1].enqueuedAt <= addedBefore) due.push(entry);
    if (due.length === 0) return;
    if (due.length > MAX_JOBS_PER_POLL) due = due.sort(([, a], [, b]) => a.polledAt - b.polledAt).slice(0, MAX_JOBS_PER_POLL);
    const jobIds = due.map(([jobId, listener]) => ((listener.polledAt = now), jobId));
    channel.polling = true;
    try {
      const keys = bullKeys(this.prefix, channel.queue.name);
      const multi = this.#redis.multi();
      for (const jobId of jobIds) multi.hmget(keys.job(jobId), 'timestamp', 'returnvalue', 'failedReason').zscore(keys.completed, jobId).zscore(keys.failed, jobId);
      const replies = (await multi.exec()) ?? [];
      jobIds.forEach((jobId, index) => {
        const listener = channel.listeners.get(jobId);
        const [[, fields], [, completedAt], [, failedAt]] = [replies[index * 3] ?? [], replies[index * 3 + 1] ?? [], replies[index * 3 + 2] ?? []];
        if (listener === undefined || !Array.isArray(fields)) return;
        const [timestamp, returnvalue, failedReason] = fields as Array<string | null>;
        if (completedAt !== null && completedAt !== undefined) listener.completed(returnvalue);
        else if (failedAt !== null && failedAt !== undefined) listener.failed(failedReason ?? 'no reason was recorded');
        else if (timestamp === null) listener.lost();
      });
    } catch {
      // Redis is away: the next poll tries again.
    } finally {
      channel.polling = false;
    }
  }

  private outcomeToResult(returnvalue: unknown, backend: string, ctx: ProcessContext): ProcessResult {
    let outcome: JobOutcome;
    try {
      const decoded: unknown = typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
      // The common outcome, a value without usage, passes the schema whatever the value is (any JSON
      // is a value): it is taken as it is, and everything else is parsed.
      if (isBareValue(decoded)) return ProcessResult.ok(decoded.value);
      outcome = jobOutcomeSchema.parse(decoded);
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
    const queue = channel.queue.name;
    // Signed, the announcement is also the key's value, so a late picker can check it too.
    const message = this.#signer === undefined ? undefined : JSON.stringify(this.#signer.cancel(queue, jobId));
    this.#redis
      .multi()
      .set(keys.cancelled(jobId), message ?? '1', 'EX', CANCEL_VALIDITY_MS / 1000)
      .publish(keys.cancelChannel, message ?? JSON.stringify({ queue, jobId }))
      .exec()
      .catch(() => undefined);
    channel.queue.remove(jobId).catch(() => undefined);
  }

  /** Keeps this caller's liveness key fresh while any job waits, so workers do not abandon them. */
  private holdCaller(): void {
    this.#waiting += 1;
    if (this.#heartbeat !== undefined) return;
    const key = stbassKeys(this.prefix).caller(this.#callerId);
    const client = this.sideClient();
    // Signed, each beat carries its time: replaying an old one cannot keep this caller alive once it is gone.
    const beat = (): void =>
      void client.set(key, this.#signer?.heartbeat(this.#callerId, this.#callerTtl * 1000) ?? '1', 'EX', this.#callerTtl).catch(() => undefined);
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

/** Placements are immutable and shared by many processes: each is turned into its wire form once. */
const wirePlacements = new WeakMap<Placement, JobPayload['placement']>();
function wirePlacement(placement: Placement): JobPayload['placement'] {
  let wire = wirePlacements.get(placement);
  if (wire === undefined) wirePlacements.set(placement, (wire = placement.toJSON()));
  return wire;
}

/** `{ ok: true, value }` with no usage: an outcome the schema accepts, whatever the value. */
function isBareValue(outcome: unknown): outcome is { ok: true; value?: JsonValue } {
  return typeof outcome === 'object' && outcome !== null && (outcome as { ok?: unknown }).ok === true && (outcome as { usage?: unknown }).usage === undefined;
}

/** The queue a placement names: `gpu` for the endpoint `queue:gpu`. */
export function queueNameOf(placement: Placement): string | undefined {
  const endpoint = placement.endpoint;
  const colon = endpoint?.indexOf(':') ?? -1;
  if (endpoint === undefined || colon < 0) return undefined;
  const name = endpoint.slice(colon + 1);
  return name === '' ? undefined : name;
}
