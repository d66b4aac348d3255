import { EMPTY, Observable } from 'rxjs';
import { CancelledError } from '../errors';
import type { Stop } from './mergePlaced';

/**
 * The stop of a run cancelled by an `AbortSignal`: emits once, when the first of `signals` aborts
 * (at once, on subscription, when one already has), a stop that settles every unsettled process
 * with one `CancelledError` of reason `aborted` whose `cause` is the signal's reason. Its listeners
 * are removed when it is unsubscribed (the run settled), so a long-lived signal keeps nothing of a run.
 *
 * Why not `fromEvent`: an already-aborted signal fires no event, and a run must then start nothing.
 *
 * ```
 * signal:  -----abort
 * result:  -----(x|)        x: the stop
 * ```
 *
 * @example
 * ```ts
 * from(tasks).pipe(mergePlaced(placed$, merge(deadline$, halts, abortStop$([signal]))));
 * ```
 */
export function abortStop$(signals: readonly AbortSignal[] | undefined): Observable<Stop> {
  if (signals === undefined || signals.length === 0) return EMPTY;
  return new Observable<Stop>((subscriber) => {
    const stop = (signal: AbortSignal): void => {
      const error = new CancelledError('aborted', undefined, { cause: signal.reason });
      subscriber.next(() => error);
      subscriber.complete();
    };
    const aborted = signals.find((signal) => signal.aborted);
    if (aborted !== undefined) return stop(aborted);
    const listeners = signals.map((signal) => {
      const listener = (): void => stop(signal);
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    });
    return () => listeners.forEach((remove) => remove());
  });
}
