import type { Observable, ObservableInput } from 'rxjs';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import type { ProcessResult } from '../process/ProcessResult';

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
  /** Runs one process; a promise (the seed's `async execute`) or an Observable (virtual-time friendly). */
  execute(process: Process, ctx: ProcessContext): ObservableInput<ProcessResult>;
  /** Whether the backend can take work now (default: yes). */
  healthCheck?(): HealthAnswer;
}

/**
 * The base class for execution backends: where placed processes run.
 *
 * @example
 * ```ts
 * class MyCloudBackend extends ExecutionBackend {
 *   readonly name = 'my-cloud';
 *   override readonly concurrencyLimit = 100;
 *   execute(process: Process, ctx: ProcessContext) {
 *     return process.execute(ctx); // route to the cloud here
 *   }
 * }
 * registry.register('my-cloud', new MyCloudBackend());
 * ```
 */
export abstract class ExecutionBackend implements Backend {
  abstract readonly name: string;
  readonly concurrencyLimit: number = Number.POSITIVE_INFINITY;

  abstract execute(process: Process, ctx: ProcessContext): ObservableInput<ProcessResult>;

  healthCheck(): HealthAnswer {
    return true;
  }
}
