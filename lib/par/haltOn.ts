import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { CancelledError } from '../errors';
import type { FailurePolicy } from '../policy/FailurePolicy';
import type { Failure } from '../process/Failure';
import type { Stop } from './mergePlaced';
import { subscribeLinked } from './subscribeLinked';
import type { EngineEvent, PlacedTask } from './task';

/**
 * Under `FailurePolicy.HALT`, the first failure of a non-optional process stops the run: it is
 * passed on, then `stop` is called with the `CancelledError` every unsettled process gets (naming
 * the failed process, its error as `cause`). A failure the run's own stop made (its deadline, an
 * earlier halt) never halts it. Under any other policy the events pass unchanged.
 *
 * With `then.error` (a stream such as `mapPlaced`, whose answer to a halt is an error) nothing more
 * is passed on from the failure on: the stream errors with `then.error(failure, task)` once every process
 * is cut.
 *
 * ```
 * events: --a--F--b--|        F: a non-optional failure
 * result: --a--F(c|)          c: the stop's settlements of every unsettled process
 * then:   --a--#              # : then.error(F's failure, F's task)
 * ```
 *
 * @example
 * ```ts
 * events$.pipe(haltOn(FailurePolicy.HALT, (stop) => stops.next(stop)));
 * ```
 */
export function haltOn<T>(policy: FailurePolicy, stop: (stop: Stop) => void, then?: { error: (failure: Failure, task: PlacedTask<T>) => unknown }): MonoTypeOperatorFunction<EngineEvent<T>> {
  if (policy.kind !== 'halt') return (source) => source;
  return (source) =>
    new Observable<EngineEvent<T>>((subscriber) => {
      let halted = false;
      subscribeLinked(source, subscriber, {
        next(event) {
          if (halted) return then === undefined ? subscriber.next(event) : undefined;
          const settlement = event.type === 'settled' && event.byStop !== true && !event.task.process.isOptional ? event : undefined;
          const failure = settlement?.result.failureOrUndefined;
          if (then === undefined || failure === undefined) subscriber.next(event);
          if (settlement === undefined || failure === undefined) return;
          halted = true;
          const error = new CancelledError('halt', { processName: failure.processName, error: failure.error });
          stop(() => error);
          if (then !== undefined) subscriber.error(then.error(failure, settlement.task));
        },
        complete() {
          if (!halted || then === undefined) subscriber.complete();
        },
      });
    });
}
