import { Observable, finalize } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { type Backend, type Process, type ProcessContext, type ProcessResult } from '../../lib';

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A backend that runs processes locally and records how many ran at once and in which order they started. */
export class RecordingBackend implements Backend {
  inFlight = 0;
  peak = 0;
  readonly started: string[] = [];
  readonly contexts: ProcessContext[] = [];

  constructor(
    readonly name: string,
    readonly concurrencyLimit = Number.POSITIVE_INFINITY,
  ) {}

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return new Observable<ProcessResult>((subscriber) => {
      this.inFlight += 1;
      this.peak = Math.max(this.peak, this.inFlight);
      this.started.push(process.name);
      this.contexts.push(ctx);
      return process.execute$(ctx).subscribe(subscriber);
    }).pipe(finalize(() => (this.inFlight -= 1)));
  }
}

/** A TestScheduler whose assertions are jest's deep equality. */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** The compact event names the marble tests use (the same helper users get from `stbass/testing`). */
export { eventCode } from '../../lib/testing';
