import { Observable, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import type { RetryPolicy } from '../policy/FailurePolicy';
import { type EngineEvent, type PlacedTask } from './task';
import { subscribeLinked } from './subscribeLinked';
import { timerAt } from './timerAt';

/**
 * Runs the source (one attempt, from health check to settlement) again while its settlement is a
 * failure that `policy` retries, after the policy's wait on the run's scheduler (an error's
 * `retryAfter` honoured), announcing each retry with a `retrying` event. No retry is scheduled
 * that could only start after the deadline: the real failure is the better answer then. A
 * settlement without an attempt (the backend failed its health check) is final.
 *
 * Why not RxJS's `retry`: an attempt's failure is a value (a failed `ProcessResult`), not an error,
 * and `retry`'s `timer` fires at once for waits past 24.8 days.
 *
 * ```
 * policy: retry({ maxAttempts: 2, baseDelay: 0.002 })
 * source: -s-(F|)               then  -s-(R|)
 * result: -s-F'--s-(R|)       F': retrying (attempt 2, delay 0.002), F dropped
 * ```
 *
 * @example
 * ```ts
 * attempts$.pipe(retryBy(task, FailurePolicy.retry({ maxAttempts: 3 })));
 * ```
 */
export function retryBy<T>(task: PlacedTask<T>, policy: RetryPolicy): MonoTypeOperatorFunction<EngineEvent<T>> {
  return (source) =>
    new Observable<EngineEvent<T>>((subscriber) => {
      const { scheduler, verbose } = task.settings;
      let backoff: Subscription | undefined;
      const run = (): void => {
        backoff = undefined;
        const attemptsBefore = task.attempts;
        subscribeLinked(source, subscriber, {
          next(event) {
            const failure = event.type === 'settled' ? event.result.failureOrUndefined : undefined;
            // Only an attempt that ran is retried: a backend that failed its health check is final.
            const ran = task.attempts > attemptsBefore;
            if (failure === undefined || !ran || !policy.retries(failure.error, task.attempts)) return subscriber.next(event);
            const delay = policy.waitAfter(task.attempts, failure.error);
            const at = scheduler.now() + delay * 1000;
            if (task.deadlineAt !== undefined && at >= task.deadlineAt) return subscriber.next(event);
            // Scheduled before it is announced, so a consumer that leaves on the event cancels it.
            backoff = timerAt(scheduler, at).subscribe(run);
            if (verbose) subscriber.next({ type: 'retrying', index: task.index, name: task.process.name, placement: task.placement, attempt: task.attempts + 1, delay, failure });
          },
          complete() {
            if (backoff === undefined) subscriber.complete();
          },
        });
      };
      run();
      return () => backoff?.unsubscribe();
    });
}
