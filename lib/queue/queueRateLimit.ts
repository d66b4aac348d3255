import type { Queue } from 'bullmq';
import { z } from 'zod';

const perExpected = 'a finite number of seconds > 0';

/**
 * The `rateLimit` option of a `QueueBackend`: jobs only. BullMQ's limiter counts the jobs its
 * workers take, not the tokens they spend; a token limit belongs on the backend the worker's
 * processes call (a model backend's own `rateLimit`).
 */
export const queueRateLimitSchema = z.strictObject(
  {
    requests: z.strictObject(
      {
        limit: z.number({ error: 'a whole number >= 1' }).int({ error: 'a whole number >= 1' }).min(1, { error: 'a whole number >= 1' }),
        per: z.number({ error: perExpected }).finite({ error: perExpected }).gt(0, { error: perExpected }),
      },
      { error: 'an object { limit, per } (limit: a whole number >= 1; per: seconds > 0)' },
    ),
  },
  { error: 'an object { requests: { limit, per } } (a queue limits jobs, not tokens)' },
);

/** A queue's rate: at most `requests.limit` jobs taken by its workers in each `requests.per` seconds. */
export type QueueRateLimit = z.input<typeof queueRateLimitSchema>;

/**
 * Puts `rateLimit` on the BullMQ queue in Redis (`Queue.setGlobalRateLimit`): from then on BullMQ's
 * own limiter, inside the Lua script with which every worker takes a job, holds it for every caller
 * and every worker of that queue, on any machine. Why BullMQ's and not a token bucket of our own:
 * the job waits in Redis either way, and only the script that hands jobs to workers sees them all.
 * Its window is fixed (a counter that expires `per` seconds after the first job of the window), so
 * up to twice the limit can start across a window's edge; the engine's own, per-process limit
 * (`backend.rateLimit`) is a sliding window.
 *
 * @example
 * ```ts
 * await applyQueueRateLimit(queue, { requests: { limit: 50, per: 60 } });
 * ```
 */
export async function applyQueueRateLimit(queue: Queue, rateLimit: z.output<typeof queueRateLimitSchema>): Promise<void> {
  await queue.setGlobalRateLimit(rateLimit.requests.limit, Math.round(rateLimit.requests.per * 1000));
}
