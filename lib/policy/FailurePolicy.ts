import { z } from 'zod';
import { CancelledError, DeadlineExceededError } from '../errors';
import { parseArgument } from '../validation/parse';
import { secondsSchema } from '../validation/schemas';

/** How retry delays grow with the attempt number. */
export type Backoff = 'exponential' | 'linear' | 'constant';

const retryOptionsSchema = z.strictObject(
  {
    maxAttempts: z.number({ error: 'a whole number >= 1' }).int({ error: 'a whole number >= 1' }).min(1, { error: 'a whole number >= 1' }),
    backoff: z.enum(['exponential', 'linear', 'constant'], { error: 'one of "exponential", "linear", "constant"' }).optional(),
    baseDelay: secondsSchema.optional(),
    maxDelay: secondsSchema.optional(),
  },
  { error: 'an object { maxAttempts, backoff?, baseDelay?, maxDelay? }' },
);

/** Options of `FailurePolicy.retry`. */
export interface RetryOptions {
  /** How many times a process may run in all, including the first (>= 1). */
  readonly maxAttempts: number;
  /** How delays grow (default `exponential`). */
  readonly backoff?: Backoff;
  /** The first delay, in seconds (default 0.5). */
  readonly baseDelay?: number;
  /**
   * The longest wait between two attempts, in seconds (default `Infinity`): it caps the backoff and
   * an error's `retryAfter` alike, so a server's `retry-after: 3600` is not waited out in full.
   *
   * @example
   * ```ts
   * FailurePolicy.retry({ maxAttempts: 5, baseDelay: 1, maxDelay: 10 }); // waits 1, 2, 4, 8, then 10 at most
   * ```
   */
  readonly maxDelay?: number;
}

/**
 * What a group does when a process fails: `HALT` cancels the rest, `COLLECT` lets every process
 * finish, `retry(...)` runs a failed process again before collecting.
 *
 * @example
 * ```ts
 * PLACED_PAR(a, b, { onFailure: FailurePolicy.COLLECT });
 * PLACED_PAR(a, b, { onFailure: FailurePolicy.retry({ maxAttempts: 3, backoff: 'exponential', baseDelay: 0.5 }) });
 * ```
 */
export abstract class FailurePolicy {
  /** `halt`, `collect` or `retry`. */
  abstract readonly kind: 'halt' | 'collect' | 'retry';

  /** The first failure of a non-optional process cancels every unsettled process. */
  static readonly HALT: FailurePolicy = new (class HaltPolicy extends FailurePolicy {
    readonly kind = 'halt' as const;
  })();

  /** Every process runs to its end (or the deadline). */
  static readonly COLLECT: FailurePolicy = new (class CollectPolicy extends FailurePolicy {
    readonly kind = 'collect' as const;
  })();

  /** Runs a failed process again on the same placement, then collects. */
  static retry(options: RetryOptions): RetryPolicy {
    return new RetryPolicy(options);
  }

  toString(): string {
    return `FailurePolicy.${this.kind.toUpperCase()}`;
  }
}

/**
 * Retries a failed process up to `maxAttempts` runs in all, waiting `delayFor(attempt)` seconds
 * between runs; the group collects. An error may shape its retry: `retryable: false` makes it final
 * (a bad request will not get better), and `retryAfter` (seconds) lengthens the wait (a 429's
 * `retry-after`). Cancellations and deadline misses are never retried.
 *
 * @example
 * ```ts
 * const policy = FailurePolicy.retry({ maxAttempts: 4, backoff: 'exponential', baseDelay: 0.5 });
 * [0, 1, 2].map((attempt) => policy.delayFor(attempt)); // [0.5, 1, 2]
 * ```
 */
export class RetryPolicy extends FailurePolicy {
  readonly kind = 'retry' as const;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly baseDelay: number;
  /** The longest wait between two attempts, in seconds (`Infinity` when not capped). */
  readonly maxDelay: number;

  constructor(options: RetryOptions) {
    super();
    const parsed = parseArgument(retryOptionsSchema, options, 'FailurePolicy.retry(options)');
    this.maxAttempts = parsed.maxAttempts;
    this.backoff = parsed.backoff ?? 'exponential';
    this.baseDelay = parsed.baseDelay ?? 0.5;
    this.maxDelay = parsed.maxDelay ?? Number.POSITIVE_INFINITY;
    Object.freeze(this);
  }

  /** Seconds to wait after failed attempt `attempt` (counted from 0), at most `maxDelay`. */
  delayFor(attempt: number): number {
    return Math.min(this.backoffFor(attempt), this.maxDelay);
  }

  private backoffFor(attempt: number): number {
    switch (this.backoff) {
      case 'exponential':
        return this.baseDelay * 2 ** attempt;
      case 'linear':
        return this.baseDelay * (attempt + 1);
      case 'constant':
        return this.baseDelay;
    }
  }

  /**
   * Whether a process whose attempt number `attempts` failed with `error` runs again: not past
   * `maxAttempts`, not after a cancellation or a deadline miss, nor when the error says it is
   * permanent (`error.retryable === false`, e.g. an HTTP 401).
   */
  retries(error: Error, attempts: number): boolean {
    if (attempts >= this.maxAttempts || error instanceof CancelledError || error instanceof DeadlineExceededError) return false;
    return !('retryable' in error && error.retryable === false);
  }

  /** Seconds to wait after failed attempt number `attempts` (from 1): the backoff, or the error's `retryAfter` when longer; never past `maxDelay`. */
  waitAfter(attempts: number, error: Error): number {
    return Math.min(Math.max(this.delayFor(attempts - 1), retryAfterOf(error)), this.maxDelay);
  }

  override toString(): string {
    const cap = this.maxDelay === Number.POSITIVE_INFINITY ? '' : `, maxDelay: ${this.maxDelay}`;
    return `FailurePolicy.retry({ maxAttempts: ${this.maxAttempts}, backoff: "${this.backoff}", baseDelay: ${this.baseDelay}${cap} })`;
  }
}

/** @internal The wait an error asks for before a retry (`error.retryAfter`, seconds, e.g. from HTTP 429), or 0. */
export function retryAfterOf(error: Error): number {
  const retryAfter = 'retryAfter' in error ? error.retryAfter : undefined;
  return typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 0;
}
