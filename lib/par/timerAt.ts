import { Observable, type SchedulerLike } from 'rxjs';

/** The longest delay a JavaScript timer honours; a longer one fires after 1 ms. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Emits once when the scheduler's clock reaches `at` (ms), then completes; at once, synchronously,
 * when that instant has already passed (an instant equal to now still waits for the scheduler).
 *
 * Why not RxJS's `timer`: `timer(delay)` with a delay past 2^31 − 1 ms (about 24.8 days: a deadline
 * at the end of a quarter) fires after 1 ms; this one waits such a delay out in steps. And a deadline
 * already past must stop a group before any of its processes starts, not one tick later.
 *
 * ```
 * timerAt(scheduler, 30):  ------------------------------(v|)   (30 ms on the scheduler's clock)
 * timerAt(scheduler, -1):  (v|)
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
      const remaining = at - scheduler.now();
      if (remaining < 0) return fire();
      subscriber.add(scheduler.schedule(remaining > MAX_TIMER_DELAY ? wait : fire, Math.min(remaining, MAX_TIMER_DELAY)));
    };
    wait();
  });
}
