import type { Observable, ObservableInput } from 'rxjs';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import type { ProcessResult } from '../process/ProcessResult';
import type { RateLimit } from './rateLimit';

/** What a health check may answer with. */
export type HealthAnswer = boolean | PromiseLike<boolean> | Observable<boolean>;

/**
 * The shape of a backend: a plain object with these members qualifies as well as a subclass of
 * `ExecutionBackend`.
 */
export interface Backend {
  /** Identifies the backend in events, results and failures. */
  readonly name: string;
  /** The most processes in flight on this backend at once, across every run (default `Infinity`). */
  readonly concurrencyLimit?: number;
  /** How fast processes may start on this backend, across every run: requests and tokens per window (default: no limit). */
  readonly rateLimit?: RateLimit;
  /** Whether a failure with `retryAfter` (a 429) pauses new starts on this backend for that long, for every run (default: no). */
  readonly pauseOnRateLimit?: boolean;
  /** Runs one process; a promise (the seed's `async execute`) or an Observable (virtual-time friendly). */
  execute(process: Process, ctx: ProcessContext): ObservableInput<ProcessResult>;
  /** Whether the backend can take work now (default: yes). */
  healthCheck?(): HealthAnswer;
}

/**
 * The base class for execution backends: where placed processes run. `name`, `concurrencyLimit` and
 * `healthCheck` may be fields or getters (the seed writes them as `@property`): the base declares
 * them without defining them, so nothing it sets hides a subclass's getter. Without a
 * `concurrencyLimit` the backend has no cap; without a `healthCheck` it is always healthy.
 *
 * @example
 * ```ts
 * class MyCloudBackend extends ExecutionBackend {
 *   get name() { return 'my-cloud'; }
 *   override get concurrencyLimit() { return 100; } // or: override readonly concurrencyLimit = 100;
 *   override readonly rateLimit = { requests: { limit: 50, per: 60 } }; // at most 50 starts a minute
 *   override async healthCheck() { return true; }
 *   execute(process: Process, ctx: ProcessContext) {
 *     return process.execute(ctx); // route to the cloud here
 *   }
 * }
 * registry.register('my-cloud', new MyCloudBackend());
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface below
export abstract class ExecutionBackend {
  abstract readonly name: string;

  abstract execute(process: Process, ctx: ProcessContext): ObservableInput<ProcessResult>;

  /** Whether the backend can take work now (default: yes). */
  healthCheck(): HealthAnswer {
    return true;
  }
}

// The cap is declared, not defined: a field initialised in the class would hide a subclass's getter
// of the same name (the seed's `@property`), and TypeScript forbids a getter overriding a field. An
// optional member of the merged interface can be implemented by either, and is optional at runtime.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- optional by design
export interface ExecutionBackend {
  /** The most processes in flight on this backend at once, across every run (default `Infinity`). */
  readonly concurrencyLimit?: number;
  /**
   * How fast processes may start on this backend, across every run (default: no limit); a field or
   * a getter, read once when the backend is first used. See `RateLimit`.
   */
  readonly rateLimit?: RateLimit;
  /** Whether a failure with `retryAfter` (a 429) pauses new starts on this backend for every run (default: no). */
  readonly pauseOnRateLimit?: boolean;
}

// At runtime the cap reads Infinity until a subclass says otherwise, with a field (assigned or
// defined: the setter turns an assignment into the subclass's own property) or a getter.
Object.defineProperty(ExecutionBackend.prototype, 'concurrencyLimit', {
  get() {
    return Number.POSITIVE_INFINITY;
  },
  set(this: ExecutionBackend, value: unknown) {
    Object.defineProperty(this, 'concurrencyLimit', { value, writable: true, enumerable: true, configurable: true });
  },
  configurable: true,
});
