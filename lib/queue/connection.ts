import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { UsageError } from '../errors';

/**
 * Where Redis is: a `redis://` or `rediss://` URL, ioredis options (host, port, password, tls, ...),
 * or an ioredis `Cluster` (stbass opens connections of its own from it and never closes yours).
 */
export type RedisConnection = string | RedisOptions | Cluster;

/** A client stbass opened: one Redis server, or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** The options shared by the queue backend and its workers. */
export const connectionSchema = z.union([z.string().regex(/^rediss?:\/\//, { error: 'a redis:// or rediss:// URL' }), z.looseObject({})], {
  error: 'a redis:// URL, ioredis options { host, port, password, tls, ... } or an ioredis Cluster',
});

/** Whether a connection is an ioredis `Cluster` (by its own flag: another copy of ioredis may have built it). */
export function isCluster(connection: unknown): connection is Cluster {
  return typeof connection === 'object' && connection !== null && (connection as { isCluster?: unknown }).isCluster === true && typeof (connection as { duplicate?: unknown }).duplicate === 'function';
}

/** The last connection error of each client, so that "Redis does not answer" can say why. */
const lastErrors = new WeakMap<RedisClient, Error>();

/** Quiets a client (ioredis reconnects by itself) while remembering its last error for the messages that need it. */
function watched<C extends RedisClient>(client: C): C {
  client.on('error', (error: Error) => {
    // A server that refused the TLS handshake may reset the next attempts before saying why again:
    // the reset must not hide the reason given before it.
    const known = lastErrors.get(client);
    if (known !== undefined && isTlsError(known) && isReset(error)) return;
    lastErrors.set(client, error);
  });
  client.on('ready', () => lastErrors.delete(client));
  return client;
}

/** Settings stbass adds to a connection it opens. */
export interface OpenSettings {
  /**
   * ioredis auto-pipelining: the commands issued in one tick leave in one write. Only for a client
   * that never blocks (BullMQ's blocking reads and pub/sub get connections of their own).
   */
  readonly autoPipelining?: boolean;
}

/**
 * Opens a Redis client. `maxRetriesPerRequest: null` is what BullMQ's blocking connections need,
 * and lets commands wait through a Redis restart instead of failing. A `Cluster` is duplicated with
 * that setting: the caller's own instance is left as it is.
 */
export function openRedis(connection: RedisConnection, settings: OpenSettings = {}): RedisClient {
  const enableAutoPipelining = settings.autoPipelining === true;
  if (typeof connection === 'string') return watched(new Redis(connection, { maxRetriesPerRequest: null, enableAutoPipelining }));
  if (isCluster(connection)) return watched(connection.duplicate([], { enableAutoPipelining, redisOptions: { ...connection.options.redisOptions, maxRetriesPerRequest: null } }));
  if (typeof connection !== 'object' || connection === null) throw new UsageError('connection', 'a redis:// URL, ioredis options or an ioredis Cluster', connection);
  return watched(new Redis({ maxRetriesPerRequest: null, enableAutoPipelining, ...connection }));
}

/** A second connection to the same Redis (for blocking reads or pub/sub), as quiet as the first and never auto-pipelined. */
export function duplicateRedis(client: RedisClient): RedisClient {
  return watched(isCluster(client) ? client.duplicate(undefined, { enableAutoPipelining: false }) : client.duplicate({ enableAutoPipelining: false }));
}

const isTlsError = (error: Error): boolean => describeRedisError(error).startsWith('TLS failed');
const isReset = (error: Error): boolean => /ECONNRESET|EPIPE|Connection is closed|socket disconnected/i.test(error.message);

/** Whether a client speaks TLS (a `rediss://` URL or `tls` options). */
function usesTls(client: RedisClient): boolean {
  const options = isCluster(client) ? client.options.redisOptions : client.options;
  return options?.tls !== undefined;
}

/** Why a client cannot reach Redis, as far as it knows: its last connection error, or silence. */
export function unreachableReason(client: RedisClient, seconds: number): string {
  const error = lastErrors.get(client);
  let cause = error === undefined ? 'no answer' : describeRedisError(error);
  if (error !== undefined && usesTls(client) && isReset(error)) {
    cause = `TLS failed: the server closed the connection during the TLS handshake (${error.message}); it may want a client certificate (tls.cert and tls.key, or --tls-cert and --tls-key) or trust another CA`;
  }
  return `Redis did not answer within ${seconds} s (${cause})`;
}

/** A connection error in words a person can act on: a wrong password or an untrusted certificate says so. */
export function describeRedisError(error: Error): string {
  const message = error.message;
  const code = (error as { code?: unknown }).code;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(message)) return `authentication failed: ${message}; check the password (and ACL user)`;
  if (typeof code === 'string' && /CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA/.test(code) && /alert/i.test(message)) {
    return `TLS failed: the server refused this client's certificate or wants one (${code}); give a client certificate and key it trusts (tls.cert and tls.key, or --tls-cert and --tls-key)`;
  }
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) return `TLS failed: ${message} (${code}); check the CA and certificates`;
  if (/certificate|ssl|tls/i.test(message)) return `TLS failed: ${message}; check the CA and certificates`;
  return message;
}

/**
 * Resolves once Redis answers a PING, or rejects after `seconds` with the reason it could not be
 * reached (refused, wrong password, TLS).
 */
export function whenReachable(client: RedisClient, seconds: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // When the timer fires after this process was busy for longer than the timeout, the answer may
    // already wait in the socket: timers run before I/O in a turn of the event loop, so the verdict
    // waits for one I/O pass (setImmediate runs after it) and an answer read there still counts.
    const timer = setTimeout(() => setImmediate(() => reject(new Error(unreachableReason(client, seconds)))), seconds * 1000);
    client.ping().then(
      () => (clearTimeout(timer), resolve()),
      (error: unknown) => (clearTimeout(timer), reject(new Error(`Redis refused a PING: ${describeRedisError(error instanceof Error ? error : new Error(String(error)))}`))),
    );
  });
}

/**
 * Closes a client within `graceMs`: politely when connected, at once when not (a QUIT would wait for
 * a server that is gone).
 */
export async function closeRedis(client: RedisClient, graceMs = 1_000): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await withinTime(client.quit(), graceMs);
  client.disconnect();
}

/** Waits for a promise, but no longer than `ms`; its rejection is ignored (closing is best effort). */
export async function withinTime(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Whether a key prefix carries a Redis Cluster hash tag (`{...}`), so every key of a queue is in one slot. */
export function isHashTagged(prefix: string): boolean {
  return /\{[^}]+\}/.test(prefix);
}

/**
 * The key prefix: the one given, or BullMQ's `bull`, and on a Redis Cluster `{bull}` (a hash tag:
 * BullMQ's scripts touch several keys of a queue at once, which a cluster allows only in one slot).
 */
export function resolvePrefix(connection: RedisConnection, prefix: string | undefined, argument: string): string {
  const cluster = isCluster(connection);
  if (prefix === undefined) return cluster ? '{bull}' : 'bull';
  if (cluster && !isHashTagged(prefix)) throw new UsageError(argument, 'a prefix with a hash tag on a Redis Cluster, as in "{bull}" or "{jobs}:stbass"', prefix);
  return prefix;
}

/** The Redis keys and channel that stbass adds beside BullMQ's, under the same prefix. */
export const stbassKeys = (prefix: string) => ({
  /** Pub/sub channel on which callers announce cancelled job ids. */
  cancelChannel: `${prefix}:stbass:cancel`,
  /** Set when a job is cancelled, for a worker that picks it up after the announcement. */
  cancelled: (jobId: string) => `${prefix}:stbass:cancelled:${jobId}`,
  /** Kept alive by a caller while it waits for jobs; a worker abandons jobs whose caller is gone. */
  caller: (callerId: string) => `${prefix}:stbass:caller:${callerId}`,
});

/** BullMQ's own keys for a queue (its layout, read by the caller's one-round-trip poll). */
export const bullKeys = (prefix: string, queue: string) => ({
  job: (jobId: string) => `${prefix}:${queue}:${jobId}`,
  completed: `${prefix}:${queue}:completed`,
  failed: `${prefix}:${queue}:failed`,
  events: `${prefix}:${queue}:events`,
});
