import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { UsageError } from '../errors';

/** Where Redis is: a `redis://` or `rediss://` URL, or ioredis options (host, port, password, tls, ...). */
export type RedisConnection = string | RedisOptions;

/** The options shared by the queue backend and its workers. */
export const connectionSchema = z.union([z.string().regex(/^rediss?:\/\//, { error: 'a redis:// or rediss:// URL' }), z.looseObject({})], {
  error: 'a redis:// URL or ioredis options { host, port, password, tls, ... }',
});

/**
 * Opens a Redis client. `maxRetriesPerRequest: null` is what BullMQ's blocking connections need,
 * and lets commands wait through a Redis restart instead of failing.
 */
export function openRedis(connection: RedisConnection, overrides: RedisOptions = {}): Redis {
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw new UsageError('connection', 'a redis:// URL or ioredis options', connection);
  }
  const client = typeof connection === 'string' ? new Redis(connection, { maxRetriesPerRequest: null, ...overrides }) : new Redis({ maxRetriesPerRequest: null, ...connection, ...overrides });
  // ioredis reconnects by itself; a lost connection shows as a failed health check or job, not as
  // "Unhandled error event" noise on every retry.
  client.on('error', () => undefined);
  return client;
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

/** A second connection to the same Redis (for blocking reads or pub/sub), as quiet as the first. */
export function duplicateRedis(client: Redis): Redis {
  const duplicate = client.duplicate();
  duplicate.on('error', () => undefined);
  return duplicate;
}

/** Closes a client: politely when connected, at once when not (a QUIT would wait for a server that is gone). */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
