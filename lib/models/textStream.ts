import { Observable, from, switchMap, throwError, timeout } from 'rxjs';
import type { TokenUsage } from '../process/usage';
import { type CallProgress, StreamIncomplete, StreamStalled } from './toModelError';

/** The token totals a server has reported so far for one request (either may be missing). */
export interface UsageTotals {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

/** What one decoded stream event says: a piece of text, the usage so far, whether the answer is complete. */
export interface StreamStep {
  readonly text?: string;
  readonly usage?: UsageTotals;
  readonly finished?: boolean;
}

/**
 * Turns the running totals a server reports into increments for `ctx.recordUsage`, so tokens are
 * counted as soon as they are reported, even when the request is cancelled later.
 */
export class UsageMeter {
  #inputTokens = 0;
  #outputTokens = 0;

  constructor(private readonly record: (usage: TokenUsage) => void) {}

  report(totals: UsageTotals): void {
    const inputTokens = Math.max(0, (totals.inputTokens ?? this.#inputTokens) - this.#inputTokens);
    const outputTokens = Math.max(0, (totals.outputTokens ?? this.#outputTokens) - this.#outputTokens);
    if (inputTokens === 0 && outputTokens === 0) return;
    this.#inputTokens += inputTokens;
    this.#outputTokens += outputTokens;
    this.record({ inputTokens, outputTokens });
  }
}

/** What a streamed request is tied to. */
export interface TextStreamBinding {
  /** Cancels the request (the process's `ctx.signal`). */
  readonly signal: AbortSignal;
  /** Milliseconds the stream may stay silent, from the request to its first event and between events. */
  readonly idleTimeout: number;
  /** Called with each piece of text (publishes it as a `partial` event). */
  readonly onText: (text: string) => void;
  /** Counts the tokens the server reports. */
  readonly usage: UsageMeter;
  /** Turns a failure into the error to report, knowing whether the stream had opened and the text so far. */
  readonly failure: (error: unknown, progress: CallProgress) => unknown;
}

/**
 * One streamed request as an Observable of text pieces. Subscribing sends the request (`open` gets
 * the signal that closes its connection); unsubscribing, or `binding.signal` aborting, closes it.
 * The Observable completes when the stream's end marker arrived, and errors with
 * `binding.failure(...)` when it broke, stalled or ended early, or with the signal's reason when
 * it was cancelled.
 */
export function textStream(open: (signal: AbortSignal) => Promise<AsyncIterable<StreamStep>>, binding: TextStreamBinding): Observable<string> {
  return new Observable<string>((subscriber) => {
    const { signal } = binding;
    if (signal.aborted) {
      subscriber.error(signal.reason);
      return undefined;
    }
    const connection = new AbortController();
    const cancel = (): void => connection.abort(signal.reason);
    signal.addEventListener('abort', cancel, { once: true });
    let opened = false;
    let finished = false;
    let partialText = '';
    const fail = (error: unknown): void => subscriber.error(signal.aborted ? signal.reason : binding.failure(error, { opened, partialText }));
    const events = from(open(connection.signal)).pipe(
      switchMap((steps) => {
        opened = true;
        return from(steps);
      }),
      timeout({ each: binding.idleTimeout, with: () => throwError(() => new StreamStalled()) }),
    );
    const subscription = events.subscribe({
      next: (step) => {
        if (step.usage !== undefined) binding.usage.report(step.usage);
        if (step.finished === true) finished = true;
        if (step.text === undefined || step.text === '') return;
        partialText += step.text;
        binding.onText(step.text);
        subscriber.next(step.text);
      },
      error: fail,
      complete: () => (finished ? subscriber.complete() : fail(new StreamIncomplete('no end marker arrived'))),
    });
    return () => {
      subscription.unsubscribe();
      signal.removeEventListener('abort', cancel);
      // Closes the connection when the stream is left before its end; a no-op once it has ended.
      connection.abort();
    };
  });
}
