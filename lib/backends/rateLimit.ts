import { z } from 'zod';

const countExpected = 'a whole number >= 1';
const tokensExpected = 'a finite number > 0';
const perExpected = 'a finite number of seconds > 0';

const perSchema = z.number({ error: perExpected }).finite({ error: perExpected }).gt(0, { error: perExpected });

/** At most `limit` requests (process starts) in any window of `per` seconds. */
const requestWindowSchema = z.strictObject(
  { limit: z.number({ error: countExpected }).int({ error: countExpected }).min(1, { error: countExpected }), per: perSchema },
  { error: 'an object { limit, per } (limit: a whole number >= 1; per: seconds > 0)' },
);

/** At most `limit` tokens recorded (or expected) in any window of `per` seconds. */
const tokenWindowSchema = z.strictObject(
  { limit: z.number({ error: tokensExpected }).finite({ error: tokensExpected }).gt(0, { error: tokensExpected }), per: perSchema },
  { error: 'an object { limit, per } (limit: tokens > 0; per: seconds > 0)' },
);

/** The shape of `backend.rateLimit`; see `RateLimit`. */
export const rateLimitSchema = z.strictObject(
  { requests: requestWindowSchema.optional(), tokens: tokenWindowSchema.optional() },
  { error: 'an object { requests?: { limit, per }, tokens?: { limit, per } } (per in seconds)' },
);

/**
 * A backend's rate limit, shared like its cap by every run and stream that uses the backend instance:
 * - `requests`: at most `limit` processes start in any window of `per` seconds (a sliding window,
 *   never a burst of twice the limit across a window's edge);
 * - `tokens`: a process starts only when the tokens recorded with `ctx.recordUsage` in the last
 *   `per` seconds, plus the tokens it expects (`placement.config.expectedTokens`), fit in `limit`.
 *   A process that expects more than `limit` starts once the window is empty, so it never waits forever.
 *
 * @example
 * ```ts
 * class ProviderBackend extends ExecutionBackend {
 *   readonly name = 'provider';
 *   override readonly concurrencyLimit = 8;
 *   override readonly rateLimit: RateLimit = { requests: { limit: 50, per: 60 }, tokens: { limit: 40_000, per: 60 } };
 *   execute(process: Process, ctx: ProcessContext) {
 *     return process.execute(ctx);
 *   }
 * }
 * ```
 */
export type RateLimit = z.input<typeof rateLimitSchema>;

/** The `placement.config` key with which a process declares the tokens it expects to spend, before it starts. */
export const EXPECTED_TOKENS_KEY = 'expectedTokens';

/** `placement.config.expectedTokens`: a finite number >= 0. */
export const expectedTokensSchema = z
  .number({ error: 'a finite number of tokens >= 0' })
  .finite({ error: 'a finite number of tokens >= 0' })
  .min(0, { error: 'a finite number of tokens >= 0' });
