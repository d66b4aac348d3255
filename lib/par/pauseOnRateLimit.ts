import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { retryAfterOf } from '../policy/FailurePolicy';
import type { RateGate } from './rateGate';
import { subscribeLinked } from './subscribeLinked';
import type { EngineEvent, PlacedTask } from './task';

/**
 * Backpressure from a 429: when an attempt settles with a failure whose error carries `retryAfter`
 * (seconds), new starts on the backend pause that long for every run that shares it (the gate is
 * the backend's), and, when anyone listens, a `paused` event says so before the settlement goes on.
 * Work in flight goes on. The pause is set before the attempt's slot returns, so the slot it frees
 * starts nobody early.
 *
 * Applied only to a backend that sets `pauseOnRateLimit`: the others pay nothing for it.
 *
 * ```
 * attempt$: s---(F|)          F: failed, error.retryAfter = 2
 * result:   s---(PF|)         P: paused until now + 2 s; queued starts wait until then
 * ```
 *
 * @example
 * ```ts
 * withSlot(slots, work).pipe(pauseOnRateLimit(task, backend, gate));
 * ```
 */
export function pauseOnRateLimit<T>(task: PlacedTask<T>, backend: Backend, gate: RateGate): MonoTypeOperatorFunction<EngineEvent<T>> {
  return (source) =>
    new Observable<EngineEvent<T>>((subscriber) => {
      subscribeLinked(source, subscriber, {
        next(event) {
          const failure = event.type === 'settled' ? event.result.failureOrUndefined : undefined;
          const wait = failure === undefined ? 0 : retryAfterOf(failure.error);
          if (failure !== undefined && wait > 0) {
            const { scheduler, verbose } = task.settings;
            const until = scheduler.now() + wait * 1000;
            gate.pause(until, scheduler);
            if (verbose) {
              const { index, process, placement } = task;
              subscriber.next({ type: 'paused', index, name: process.name, placement, backend: backend.name, until: new Date(until), reason: 'rate-limited', failure });
              if (subscriber.closed) return;
            }
          }
          subscriber.next(event);
        },
      });
    });
}
