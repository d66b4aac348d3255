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
  if (typeof connection === 'string') return new Redis(connection, { maxRetriesPerRequest: null, ...overrides });
  if (typeof connection !== 'object' || connection === null) throw new UsageError('connection', 'a redis:// URL or ioredis options', connection);
  return new Redis({ maxRetriesPerRequest: null, ...connection, ...overrides });
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

/** Closes a client: politely when connected, at once when not (a QUIT would wait for a server that is gone). */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
