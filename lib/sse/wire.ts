import type { JsonValue } from '../placement/Placement';
import type { FailureJSON } from '../process/Failure';
import type { PARReport } from '../par/PARResult';

/** A placement on the wire: its `summary` beside its fields (`Placement.toJSON()`). */
export interface WirePlacement {
  readonly summary: string;
  readonly model?: string;
  readonly endpoint?: string;
  readonly config?: Record<string, JsonValue>;
}

/** A `ProcessResult` on the wire: the value of a success, or the failure's `toJSON()`. */
export type WireResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly failure: FailureJSON };

/** One placement of a fallback chain as it was tried (`PlacementAttempt`), on the wire. */
export interface WirePlacementAttempt {
  readonly placement: WirePlacement;
  readonly backend?: string;
  readonly outcome: 'ok' | 'failed' | 'cancelled';
  readonly failure?: FailureJSON;
  readonly attempts: number;
  readonly hedge: boolean;
  readonly startedAt?: string;
  readonly endedAt: string;
}

/** One `PARResult` entry on the wire; dates are ISO strings. */
export interface WireEntry {
  readonly index: number;
  /** The pair's key in a keyed group. */
  readonly key?: string;
  readonly name: string;
  readonly placement: WirePlacement;
  readonly backend?: string;
  readonly attempts: number;
  readonly startedAt?: string;
  readonly settledAt: string;
  readonly result: WireResult;
  /** For a pair with a fallback chain: each placement tried. */
  readonly placements?: WirePlacementAttempt[];
}

/** A `PARResult` on the wire. */
export interface WirePARResult {
  readonly isOk: boolean;
  /** The success values in declaration order (`PARResult.value`). */
  readonly value: unknown[];
  readonly entries: WireEntry[];
  readonly report: PARReport;
}

interface WireProcessEvent {
  readonly index: number;
  /** The pair's key in a keyed group. */
  readonly key?: string;
  readonly name: string;
  readonly placement: WirePlacement;
}

/** `queued` on the wire. */
export interface WireQueuedEvent extends WireProcessEvent {
  readonly type: 'queued';
  readonly backend: string;
  readonly reason: 'slot' | 'rate';
}

/** `paused` on the wire: `until` is an ISO string. */
export interface WirePausedEvent extends WireProcessEvent {
  readonly type: 'paused';
  readonly backend: string;
  readonly until: string;
  readonly reason: 'rate-limited';
  readonly failure: FailureJSON;
}

/** `started` on the wire. */
export interface WireStartedEvent extends WireProcessEvent {
  readonly type: 'started';
  readonly backend: string;
  readonly attempt: number;
}

/** `partial` on the wire: `value` is what the process gave `ctx.emit`, as JSON. */
export interface WirePartialEvent extends WireProcessEvent {
  readonly type: 'partial';
  readonly value: unknown;
}

/** `retrying` on the wire. */
export interface WireRetryingEvent extends WireProcessEvent {
  readonly type: 'retrying';
  readonly attempt: number;
  readonly delay: number;
  readonly failure: FailureJSON;
}

/** `fallback` on the wire: the pair's chain moves from one placement to the next (`failure` absent for a hedge). */
export interface WireFallbackEvent extends WireProcessEvent {
  readonly type: 'fallback';
  readonly from: WirePlacement;
  readonly to: WirePlacement;
  readonly reason: 'unavailable' | 'failed' | 'timeout' | 'hedge';
  readonly failure?: FailureJSON;
}

/** `restarted` on the wire: the partials of this index so far are void (clear its partial text). */
export interface WireRestartedEvent extends WireProcessEvent {
  readonly type: 'restarted';
}

/** `settled` on the wire. */
export interface WireSettledEvent extends WireProcessEvent {
  readonly type: 'settled';
  readonly result: WireResult;
}

/** `done` on the wire: the last event of a run. */
export interface WireDoneEvent {
  readonly type: 'done';
  readonly result: WirePARResult;
}

/**
 * Sent in place of an event whose values do not serialise (a cyclic object, a BigInt): the stream
 * goes on, and the page learns which event it missed and why.
 */
export interface WireSerializationFailedEvent {
  readonly type: 'serialization-failed';
  /** The `type` of the event that could not be sent. */
  readonly of: string;
  readonly index?: number;
  readonly name?: string;
  readonly error: { readonly name: string; readonly message: string };
}

/**
 * What `fromServerSentEvents` emits: each `ParEvent` as JSON. Placements carry their `summary`,
 * failures are `Failure.toJSON()`, results are `{ ok, value }` or `{ ok, failure }`. Types that a
 * later version adds come through as well: ignore the ones you do not know.
 *
 * @example
 * ```ts
 * fromServerSentEvents('/runs/42').subscribe((event) => {
 *   if (event.type === 'partial') append(event.name, String(event.value));
 *   if (event.type === 'settled' && !event.result.ok) show(event.result.failure.summary);
 * });
 * ```
 */
export type WireEvent =
  | WireQueuedEvent
  | WireStartedEvent
  | WirePartialEvent
  | WirePausedEvent
  | WireRetryingEvent
  | WireFallbackEvent
  | WireRestartedEvent
  | WireSettledEvent
  | WireDoneEvent
  | WireSerializationFailedEvent;

/** The named SSE event that closes a stream; its data is `{}`, or `{ error }` when the source failed. */
export const END_EVENT = 'end';
