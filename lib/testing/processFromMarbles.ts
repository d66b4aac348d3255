import { Observable, type ObservableNotification, type SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { UsageError } from '../errors';
import { Placement } from '../placement/Placement';
import { ProcessBase } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';

/** Options of `processFromMarbles`. */
export interface MarbleProcessOptions {
  /** Whose clock the frames run on (default `asyncScheduler`, which is virtual inside `TestScheduler.run`). */
  readonly scheduler?: SchedulerLike;
  /** The process's default placement, used when it is given bare to `PLACED_PAR`. */
  readonly placement?: Placement;
}

/**
 * When the body was subscribed and unsubscribed, on the scheduler's clock: the shape of RxJS's
 * `SubscriptionLog`, so `expectSubscriptions(process.subscriptions)` works. `unsubscribedFrame` is
 * `Infinity` while subscribed.
 */
export interface MarbleSubscription {
  readonly subscribedFrame: number;
  readonly unsubscribedFrame: number;
}

/** A message of the parsed diagram: at `frame`, a partial, the result, an error or the completion. */
type Step =
  | { readonly frame: number; readonly kind: 'partial'; readonly value: unknown }
  | { readonly frame: number; readonly kind: 'result'; readonly value: ProcessResult<unknown> }
  | { readonly frame: number; readonly kind: 'error'; readonly error: unknown }
  | { readonly frame: number; readonly kind: 'complete' };

function asResult(value: unknown): ProcessResult<unknown> {
  return value instanceof ProcessResult ? value : ProcessResult.ok(value);
}

/** Parses `marbles` with one character per millisecond, as inside `TestScheduler.run`, wherever it is called. */
function parse(marbles: string, values: Readonly<Record<string, unknown>> | undefined, error: unknown): Step[] {
  const previous = TestScheduler.frameTimeFactor;
  let messages: { frame: number; notification: ObservableNotification<unknown> }[];
  try {
    TestScheduler.frameTimeFactor = 1;
    // Without a values map each letter parses as itself; the map is applied below, letter by letter.
    messages = TestScheduler.parseMarbles(marbles, undefined, error, false, true);
  } finally {
    TestScheduler.frameTimeFactor = previous;
  }
  // The result is the last value before the completion (when it comes before any error); every other value is a partial.
  const end = messages.findIndex((message) => message.notification.kind !== 'N');
  let resultIndex = -1;
  if (end !== -1 && messages[end]?.notification.kind === 'C') resultIndex = end - 1;
  const steps: Step[] = [];
  const valueOf = (letter: unknown): unknown => (values !== undefined && typeof letter === 'string' && Object.hasOwn(values, letter) ? values[letter] : letter);
  for (const [index, { frame, notification }] of messages.entries()) {
    if (notification.kind === 'N') {
      const value = valueOf(notification.value);
      steps.push(index === resultIndex ? { frame, kind: 'result', value: asResult(value) } : { frame, kind: 'partial', value });
    } else if (notification.kind === 'E') steps.push({ frame, kind: 'error', error: notification.error });
    else steps.push({ frame, kind: 'complete' });
  }
  return steps;
}

/**
 * A process whose body is a cold Observable drawn as a marble diagram; see `processFromMarbles`.
 * `subscriptions` records when each run of its body was subscribed and unsubscribed.
 */
export class MarbleProcess<T = unknown> extends ProcessBase<T> {
  /** The diagram the body follows. */
  readonly marbles: string;
  /** One entry per execution of the body (shared with copies made by `withName`, `optional`...). */
  readonly subscriptions: MarbleSubscription[] = [];
  readonly #steps: readonly Step[];
  readonly #scheduler: SchedulerLike;

  /** @internal Use `processFromMarbles`. */
  constructor(name: string, marbles: string, steps: readonly Step[], options: MarbleProcessOptions) {
    super({ name, placement: options.placement });
    this.marbles = marbles;
    this.#steps = steps;
    this.#scheduler = options.scheduler ?? asyncScheduler;
  }

  run(ctx: ProcessContext): Observable<ProcessResult<T>> {
    return new Observable<ProcessResult<T>>((subscriber) => {
      const scheduler = this.#scheduler;
      const start = scheduler.now();
      const log = { subscribedFrame: start, unsubscribedFrame: Number.POSITIVE_INFINITY };
      this.subscriptions.push(log);
      const deliver = (step: Step): void => {
        if (subscriber.closed) return;
        if (step.kind === 'partial') ctx.emit(step.value);
        else if (step.kind === 'result') subscriber.next(step.value as ProcessResult<T>);
        else if (step.kind === 'error') subscriber.error(step.error);
        else subscriber.complete();
      };
      const timers = new Subscription(() => {
        const index = this.subscriptions.indexOf(log);
        if (index !== -1) this.subscriptions[index] = { ...log, unsubscribedFrame: scheduler.now() };
      });
      // Frame 0 is delivered at once, so a diagram such as `(r|)` is as synchronous as a plain result;
      // each later frame is one action on the scheduler, which keeps the order within the frame.
      const byFrame = new Map<number, Step[]>();
      for (const step of this.#steps) byFrame.set(step.frame, [...(byFrame.get(step.frame) ?? []), step]);
      for (const [frame, steps] of byFrame) {
        if (frame <= 0) steps.forEach(deliver);
        else timers.add(scheduler.schedule(() => steps.forEach(deliver), frame));
      }
      return timers;
    });
  }
}

/**
 * Builds a process whose body is a cold Observable drawn as a marble diagram, one character per
 * millisecond of `options.scheduler` (as inside `TestScheduler.run`, wherever it is called). The last
 * value before `|` is the result: a `ProcessResult` is used as is, anything else is wrapped with
 * `ProcessResult.ok`. Every other value is published with `ctx.emit`, so it becomes a `partial` event.
 * `#` errors with `error` (default `new Error('error')`), so the process fails. Without `|` or `#` the
 * process never finishes. A letter missing from `values` stands for itself.
 *
 * Each execution subscribes anew (it is cold); `process.subscriptions` logs when, for
 * `expectSubscriptions`.
 *
 * @example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { processFromMarbles } from 'stbass/testing';
 *
 * new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ expectObservable, expectSubscriptions }) => {
 *   // Streams two tokens at 1 and 3 ms, answers 'hello world' at 4 ms; the other fails at 2 ms.
 *   const writer = processFromMarbles('writer', '-a-b(r|)', { a: 'hello', b: ' world', r: 'hello world' });
 *   const broken = processFromMarbles('broken', '--#', {}, new Error('rate limited'));
 *   expectObservable(PLACED_PAR(writer, broken).result$.pipe(map((result) => result.report().failed))).toBe('--(x|)', { x: 2 });
 *   expectSubscriptions(writer.subscriptions).toBe('^-!'); // HALT unsubscribed the writer at 2 ms
 * });
 * ```
 */
export function processFromMarbles<T = unknown>(
  name: string,
  marbles: string,
  values?: Readonly<Record<string, unknown>>,
  error?: unknown,
  options: MarbleProcessOptions = {},
): MarbleProcess<T> {
  if (typeof name !== 'string' || name === '') throw new UsageError('processFromMarbles(name)', 'a non-empty string', name);
  if (typeof marbles !== 'string') throw new UsageError('processFromMarbles(name, marbles)', 'a marble string such as "--a--(r|)"', marbles);
  if (marbles.includes('^') || marbles.includes('!')) {
    throw new UsageError('processFromMarbles(name, marbles)', 'a cold marble diagram, without the subscription markers ^ and !', marbles);
  }
  if (values !== undefined && (typeof values !== 'object' || values === null)) throw new UsageError('processFromMarbles(name, marbles, values)', 'an object of values by letter', values);
  if (options.placement !== undefined && !(options.placement instanceof Placement)) throw new UsageError('processFromMarbles options.placement', 'a Placement', options.placement);
  const steps = parse(marbles, values, error === undefined ? new Error('error') : error);
  return new MarbleProcess<T>(name, marbles, steps, options);
}
