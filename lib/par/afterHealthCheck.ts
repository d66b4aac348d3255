import { Observable, type OperatorFunction, concatMap, defaultIfEmpty, from, isObservable, map, of, take, catchError } from 'rxjs';
import { ExecutionBackend } from '../backends/ExecutionBackend';
import { toError } from '../errors';
import { isPromiseLike } from '../validation/isPromiseLike';
import type { HealthChecked } from './healthCache';

/** Why a backend cannot take work, from its health check. */
export interface Unhealthy {
  readonly detail: string;
  readonly cause?: unknown;
}

function verdictOf(answer: unknown): Unhealthy | undefined {
  if (answer === true) return undefined;
  return { detail: answer === false ? 'its health check answered false' : `its health check answered ${String(answer)} instead of a boolean` };
}

/** Whether `backend` has a health check worth waiting for: the base class's always answers true. */
export function hasHealthCheck(backend: HealthChecked): boolean {
  return backend.healthCheck !== undefined && backend.healthCheck !== ExecutionBackend.prototype.healthCheck;
}

/**
 * Subscribes to the source only if `backend.healthCheck()` answers `true` — at once, a promise or
 * an Observable (its first value) — and otherwise emits `unavailable(why)` and completes. A check
 * that throws, rejects, errors or answers anything but `true` is unhealthy. A backend without a
 * health check is healthy. A retry subscribes again, so every attempt is checked.
 *
 * ```
 * healthCheck: --(t|)           --(f|)
 * source:        --a--(b|)
 * result:      ----a--(b|)      --(u|)    u: unavailable({ detail: 'its health check answered false' })
 * ```
 *
 * @example
 * ```ts
 * attempts$.pipe(afterHealthCheck(backend, (why) => settlement(new BackendUnavailableError(...))));
 * ```
 */
export function afterHealthCheck<E>(backend: HealthChecked, unavailable: (why: Unhealthy) => E): OperatorFunction<E, E> {
  if (!hasHealthCheck(backend)) return (source) => source;
  return (source) =>
    new Observable<E>((subscriber) => {
      let answer: unknown;
      try {
        answer = backend.healthCheck?.();
      } catch (error) {
        subscriber.next(unavailable({ detail: `its health check threw: ${toError(error).message}`, cause: error }));
        return subscriber.complete();
      }
      if (answer === true) return source.subscribe(subscriber);
      if (!isObservable(answer) && !isPromiseLike(answer)) {
        subscriber.next(unavailable(verdictOf(answer) ?? { detail: 'its health check did not answer' }));
        return subscriber.complete();
      }
      from(answer)
        .pipe(
          take(1),
          defaultIfEmpty(undefined),
          map(verdictOf),
          catchError((error: unknown) => of<Unhealthy>({ detail: `its health check failed: ${toError(error).message}`, cause: error })),
          concatMap((unhealthy) => (unhealthy === undefined ? source : of(unavailable(unhealthy)))),
        )
        .subscribe(subscriber);
      return undefined;
    });
}
