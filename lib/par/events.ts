import type { Placement } from '../placement/Placement';
import type { Failure } from '../process/Failure';
import type { ProcessResult } from '../process/ProcessResult';
import type { PARResult } from './PARResult';

/** What every per-process event carries. */
export interface ProcessEventBase {
  /** The pair's position in the group, from 0. */
  readonly index: number;
  /** The pair's key in a keyed group (`PLACED_PAR({ plan: pair })`); absent in a positional one. */
  readonly key?: string;
  /** The process's name. */
  readonly name: string;
  /** The pair's placement. */
  readonly placement: Placement;
}

/** The process waits for a slot on its backend, or for its backend's rate limit to allow one more start. */
export interface QueuedEvent extends ProcessEventBase {
  readonly type: 'queued';
  readonly backend: string;
  /**
   * What it waits for: `slot` (the backend's `concurrencyLimit` is reached, or others are ahead of
   * it for one) or `rate` (a slot is free but the backend's `rateLimit`, or a pause after a 429,
   * holds new starts back).
   */
  readonly reason: 'slot' | 'rate';
}

/**
 * An attempt of this process failed with a `retryAfter` (a 429) on a backend that pauses on rate
 * limits (`pauseOnRateLimit`): no process of any run starts on that backend before `until`; work in
 * flight goes on. Comes before the attempt's `retrying` or `settled` event.
 */
export interface PausedEvent extends ProcessEventBase {
  readonly type: 'paused';
  readonly backend: string;
  /** When new starts resume (on the run's clock). */
  readonly until: Date;
  /** Why: `rate-limited`, an error that asked to wait (`error.retryAfter`). */
  readonly reason: 'rate-limited';
  /** The attempt's failure, whose error carries the `retryAfter`. */
  readonly failure: Failure;
}

/** An attempt started on the backend. */
export interface StartedEvent extends ProcessEventBase {
  readonly type: 'started';
  readonly backend: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/** The process published a partial result with `ctx.emit`. */
export interface PartialEvent extends ProcessEventBase {
  readonly type: 'partial';
  readonly value: unknown;
  /** The attempt that published it (from 1): after a `retrying` event, the earlier attempts' partials are void. */
  readonly attempt: number;
}

/** An attempt failed and another will start after `delay` seconds. */
export interface RetryingEvent extends ProcessEventBase {
  readonly type: 'retrying';
  /** The number of the attempt that will start next. */
  readonly attempt: number;
  /** Seconds until it starts. */
  readonly delay: number;
  /** Why the last attempt failed. */
  readonly failure: Failure;
}

/**
 * Why a chain moved to its next placement: its backend was `unavailable` (health check, strict
 * registry), the attempt `failed` (a retryable error, the retry policy spent there), it hit its
 * own `timeout`, or it is a `hedge` (the earlier placement had not settled in `hedge.after`).
 */
export type FallbackReason = 'unavailable' | 'failed' | 'timeout' | 'hedge';

/**
 * A pair with a fallback chain starts on its next placement: `placement` (and `from`) is where it
 * was, `to` where it goes now. Except for a hedge, the earlier placement is done: `failure` says why.
 */
export interface FallbackEvent extends ProcessEventBase {
  readonly type: 'fallback';
  readonly from: Placement;
  readonly to: Placement;
  readonly reason: FallbackReason;
  /** The failure that moved the chain on (none for a hedge, which leaves the earlier attempt running). */
  readonly failure: Failure | undefined;
}

/**
 * The partials published so far are void: the stream that emitted them broke (or lost a hedge) and
 * the process starts over on `placement`. A UI clears the partial text of this index.
 */
export interface RestartedEvent extends ProcessEventBase {
  readonly type: 'restarted';
}

/** The process settled: its final result in the group. */
export interface SettledEvent<T = unknown> extends ProcessEventBase {
  readonly type: 'settled';
  readonly result: ProcessResult<T>;
}

/** The whole group settled; the last event. */
export interface DoneEvent<T = unknown, Values = unknown> {
  readonly type: 'done';
  readonly result: PARResult<T, Values>;
}

/**
 * What `events$` emits, discriminated on `type`. Per index the order is
 * `queued? started partial* paused? (retrying started partial* paused?)* settled`, and `done` comes last; a pair
 * with a fallback chain adds `fallback` before each next placement's events and `restarted` where
 * its partials so far become void (its placements' events may interleave under a hedge).
 * Later versions may add types: ignore the ones you do not know.
 *
 * @example
 * ```ts
 * placed.events$.subscribe((event) => {
 *   if (event.type === 'partial') ui.append(event.index, event.value);
 *   if (event.type === 'done') ui.finish(event.result);
 * });
 * ```
 */
export type ParEvent<T = unknown, Values = unknown> = QueuedEvent | StartedEvent | PartialEvent | PausedEvent | RetryingEvent | FallbackEvent | RestartedEvent | SettledEvent<T> | DoneEvent<T, Values>;
