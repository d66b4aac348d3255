import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { type EngineEvent, type PlacedTask, deadlineError, failed } from './task';
import { subscribeLinked } from './subscribeLinked';
import { timerAt } from './timerAt';

/**
 * Cuts one process at its own deadline (a `mapPlaced` item's, counted from its arrival) when it has
 * not settled by then: its signal aborts, its Observable is unsubscribed, and it settles with a
 * `DeadlineExceededError` saying whether it was running or still waiting. A group's deadline is one
 * timer for the whole group instead (see `mergePlaced`).
 *
 * ```
 * deadline at 5:
 * source:   --s------(R|)
 * result:   --s--(D|)          D: settled with DeadlineExceededError (phase "running")
 * ```
 *
 * @example
 * ```ts
 * placed$(task).pipe(ownDeadline(task));
 * ```
 */
export function ownDeadline<T>(task: PlacedTask<T>): MonoTypeOperatorFunction<EngineEvent<T>> {
  const at = task.deadlineAt;
  if (at === undefined) return (source) => source;
  return (source) =>
    new Observable<EngineEvent<T>>((subscriber) => {
      const running = subscribeLinked(source, subscriber, {
        next(event) {
          subscriber.next(event);
        },
      });
      const timer = timerAt(task.settings.scheduler, at).subscribe(() => {
        const error = deadlineError(task);
        task.cutReason = error;
        running.unsubscribe();
        subscriber.next({ type: 'settled', task, result: failed(task, error) });
        subscriber.complete();
      });
      subscriber.add(timer);
    });
}
