import { Observable, type SchedulerLike } from 'rxjs';

/** The longest delay a JavaScript timer honours; a longer one fires after 1 ms. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Emits once when the scheduler's clock reaches `at` (ms), then completes. Always through the
 * scheduler, never synchronously, even for an instant already past: a retry's backoff must not run
 * inside the attempt that just failed.
 *
 * Why not RxJS's `timer`: `timer(delay)` with a delay past 2^31 − 1 ms (about 24.8 days: a deadline
 * at the end of a quarter) fires after 1 ms; this one waits such a delay out in steps.
 *
 * ```
 * timerAt(scheduler, 30):  ------------------------------(v|)   (30 ms on the scheduler's clock)
 * timerAt(scheduler, -1):  (v|)                                  (on the scheduler's next turn)
 * ```
 *
 * @example
 * ```ts
 * timerAt(asyncScheduler, Date.parse('2027-03-31T23:59:59Z')).subscribe(() => closeQuarter());
 * ```
 */
export function timerAt(scheduler: SchedulerLike, at: number): Observable<void> {
  return new Observable<void>((subscriber) => {
    const fire = (): void => {
      subscriber.next();
      subscriber.complete();
    };
    const wait = (): void => {
      const remaining = Math.max(0, at - scheduler.now());
      subscriber.add(scheduler.schedule(remaining > MAX_TIMER_DELAY ? wait : fire, Math.min(remaining, MAX_TIMER_DELAY)));
    };
    wait();
  });
}
