import { Observable, type OperatorFunction, type SchedulerLike, asyncScheduler } from 'rxjs';
import type { ParEvent } from '../par/events';
import { eventCode } from './eventCode';

/** An event and the frame (milliseconds of the scheduler's clock) at which it was emitted. */
export interface TimedEvent {
  readonly frame: number;
  readonly event: ParEvent;
}

/** A marble string and the values its letters stand for: what `expectObservable(...).toBe` takes. */
export interface MarbleDiagram {
  readonly marbles: string;
  readonly values: Readonly<Record<string, string>>;
}

/** How `eventsToMarbles` and `toMarbles` name and place events. */
export interface MarbleRenderOptions {
  /** Names each event (default `eventCode`: `started:name#1`, `settled:name:ok`, `done:fail`...). */
  readonly code?: (event: ParEvent) => string;
}

/** Options of `eventsToMarbles`. */
export interface EventsToMarblesOptions extends MarbleRenderOptions {
  /** The frame the diagram starts at, e.g. when the run was subscribed (default 0). */
  readonly origin?: number;
  /**
   * The frame of the completion `|`. Default: the frame of a `done` event, if there is one (a run's
   * `events$` completes right after `done`), else no completion.
   */
  readonly completeAt?: number;
}

/** Gaps of up to this many frames are written as dashes, longer ones as a time progression (`40ms`). */
const MAX_DASHES = 3;

/** The letter for the n-th distinct code: a-z, A-Z, then letters past ASCII (never marble syntax). */
function letterFor(n: number): string {
  if (n < 26) return String.fromCharCode(97 + n);
  if (n < 52) return String.fromCharCode(65 + n - 26);
  return String.fromCodePoint(0x100 + n - 52);
}

function gapToken(gap: number): string {
  return Number.isInteger(gap) && gap <= MAX_DASHES ? '-'.repeat(gap) : ` ${String(gap)}ms `;
}

/**
 * Renders timed events as a marble diagram in the syntax of `TestScheduler.run` (one character is one
 * frame, one millisecond): events of one frame are grouped as `(ab)`, gaps of up to 3 frames are
 * dashes and longer ones a time progression such as `40ms`, and the completion is `|`. Each distinct
 * event code gets a letter, in order of first appearance, so the result is deterministic and fit for a
 * snapshot. Throws a `RangeError` when two frames are too close to write (a group of n events takes
 * n + 2 frames); space the events out, e.g. with longer latencies.
 *
 * @example
 * ```ts
 * const diagram = eventsToMarbles([
 *   { frame: 0, event: startedEvent },
 *   { frame: 5, event: settledEvent },
 *   { frame: 5, event: doneEvent },
 * ]);
 * // { marbles: 'a 4ms (bc|)', values: { a: 'started:reader#1', b: 'settled:reader:ok', c: 'done:ok' } }
 * ```
 */
export function eventsToMarbles(events: readonly TimedEvent[], options: EventsToMarblesOptions = {}): MarbleDiagram {
  const code = options.code ?? eventCode;
  const origin = options.origin ?? 0;
  const letters = new Map<string, string>();
  const values: Record<string, string> = {};
  // Frames in order (a stable sort keeps the emission order within a frame).
  const timed = events.map((timedEvent, order) => ({ ...timedEvent, order })).sort((a, b) => a.frame - b.frame || a.order - b.order);
  const groups = new Map<number, string>();
  let doneAt: number | undefined;
  for (const { frame, event } of timed) {
    const name = code(event);
    let letter = letters.get(name);
    if (letter === undefined) {
      letter = letterFor(letters.size);
      letters.set(name, letter);
      values[letter] = name;
    }
    const relative = frame - origin;
    groups.set(relative, (groups.get(relative) ?? '') + letter);
    if (event.type === 'done') doneAt = relative;
  }
  const completeAt = options.completeAt === undefined ? doneAt : options.completeAt - origin;
  const last = timed.length === 0 ? undefined : (timed[timed.length - 1] as TimedEvent).frame - origin;
  if (completeAt !== undefined) {
    if (last !== undefined && completeAt < last) throw new RangeError(`eventsToMarbles: the completion (frame ${completeAt}) comes before the last event (frame ${last})`);
    groups.set(completeAt, `${groups.get(completeAt) ?? ''}|`);
  }

  let marbles = '';
  let position = 0;
  for (const [frame, content] of groups) {
    const gap = frame - position;
    if (gap < 0) {
      throw new RangeError(
        `eventsToMarbles: the events at frame ${frame} cannot be written: the group before them takes the frames up to ${position - 1} (a group of n events takes n + 2 frames); space the events out`,
      );
    }
    marbles += gapToken(gap);
    const width = [...content].length;
    marbles += width === 1 ? content : `(${content})`;
    position = frame + (width === 1 ? 1 : width + 2);
  }
  return { marbles: marbles.replace(/ {2,}/g, ' ').trim(), values };
}

/**
 * An operator for a run's `events$`: records each event's frame on `scheduler`'s clock (from the
 * subscription) and, when the run completes, emits its `MarbleDiagram` once. Use it for snapshot
 * tests, or to print what a marble assertion should say.
 *
 * @example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { toMarbles } from 'stbass/testing';
 *
 * const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
 * let diagram: MarbleDiagram | undefined;
 * scheduler.run(() => {
 *   group.events$.pipe(toMarbles(scheduler)).subscribe((rendered) => (diagram = rendered));
 * });
 * expect(diagram).toMatchSnapshot();
 * ```
 */
export function toMarbles(scheduler: SchedulerLike = asyncScheduler, options: MarbleRenderOptions = {}): OperatorFunction<ParEvent, MarbleDiagram> {
  return (source) =>
    new Observable<MarbleDiagram>((subscriber) => {
      const origin = scheduler.now();
      const events: TimedEvent[] = [];
      return source.subscribe({
        next(event) {
          events.push({ frame: scheduler.now() - origin, event });
        },
        error(error: unknown) {
          subscriber.error(error);
        },
        complete() {
          let diagram: MarbleDiagram;
          try {
            diagram = eventsToMarbles(events, { code: options.code, completeAt: scheduler.now() - origin });
          } catch (error) {
            subscriber.error(error);
            return;
          }
          subscriber.next(diagram);
          subscriber.complete();
        },
      });
    });
}
