import { ReplaySubject, type SchedulerLike, from, isObservable, share, take, throwError } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { hasHealthCheck } from './afterHealthCheck';
import { isPromiseLike } from '../validation/isPromiseLike';

/** What `afterHealthCheck` asks: a backend, or a cached view of its check. */
export interface HealthChecked {
  healthCheck?(): unknown;
}

/** One backend's check with its last answer, reused until the interval has passed on the run's clock. */
class CachedCheck implements HealthChecked {
  #answer: unknown;
  #askedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly backend: Backend,
    private readonly intervalMs: number,
    private readonly scheduler: SchedulerLike,
  ) {}

  healthCheck(): unknown {
    const now = this.scheduler.now();
    if (now < this.#askedAt + this.intervalMs) return this.#answer;
    this.#askedAt = now;
    this.#answer = ask(this.backend);
    return this.#answer;
  }
}

/**
 * The backend's answer in a form every pair of the run can share: a value as is; a promise or an
 * Observable read once (its first value or its error replayed to each pair that asks while it is
 * fresh); a throw as an Observable of that error, so the pairs that ask later hear it too.
 */
function ask(backend: Backend): unknown {
  let answer: unknown;
  try {
    answer = backend.healthCheck?.();
  } catch (error) {
    return throwError(() => error);
  }
  if (!isObservable(answer) && !isPromiseLike(answer)) return answer;
  return from(answer).pipe(
    take(1),
    share({
      connector() {
        return new ReplaySubject<unknown>(1);
      },
      resetOnError: false,
      resetOnComplete: false,
      resetOnRefCountZero: true,
    }),
  );
}

/**
 * Health answers cached per backend for one run (the `healthCheckInterval` option): a run of 1,000
 * pairs on one backend calls its `healthCheck` at most once per interval, and pairs that ask while
 * an answer is pending share it. A backend without a check of its own is passed through untouched.
 *
 * @example
 * ```ts
 * const health = new HealthCache(5, scheduler); // answers reused for 5 s
 * attempts$.pipe(afterHealthCheck(health.of(backend), unavailable));
 * ```
 */
export class HealthCache {
  readonly #checks = new WeakMap<Backend, CachedCheck>();
  readonly #intervalMs: number;

  constructor(
    intervalSeconds: number,
    private readonly scheduler: SchedulerLike,
  ) {
    this.#intervalMs = intervalSeconds * 1000;
  }

  /** The check `afterHealthCheck` should ask for `backend`. */
  of(backend: Backend): HealthChecked {
    if (!hasHealthCheck(backend)) return backend;
    let check = this.#checks.get(backend);
    if (check === undefined) {
      check = new CachedCheck(backend, this.#intervalMs, this.scheduler);
      this.#checks.set(backend, check);
    }
    return check;
  }
}
