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

/** The process waits for a slot on its backend. */
export interface QueuedEvent extends ProcessEventBase {
  readonly type: 'queued';
  readonly backend: string;
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
 * `queued? started partial* (retrying started partial*)* settled`, and `done` comes last.
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
export type ParEvent<T = unknown, Values = unknown> = QueuedEvent | StartedEvent | PartialEvent | RetryingEvent | SettledEvent<T> | DoneEvent<T, Values>;
