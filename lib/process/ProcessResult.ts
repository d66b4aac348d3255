import { UsageError, toError } from '../errors';
import { Failure, type FailureFields } from './Failure';

/**
 * The outcome of one process: a value, or a `Failure`. Immutable.
 *
 * @example
 * ```ts
 * const ok = ProcessResult.ok('summary text');
 * const failed = ProcessResult.fail(new Error('rate limited'), { processName: 'classifier' });
 * ok.value;               // "summary text"
 * failed.failure.summary; // "[classifier] Error: rate limited"
 * ```
 */
export class ProcessResult<T = unknown> {
  readonly #value: T | undefined;
  readonly #failure: Failure | undefined;

  private constructor(value: T | undefined, failure: Failure | undefined) {
    this.#value = value;
    this.#failure = failure;
    Object.freeze(this);
  }

  /** A success holding `value`. */
  static ok<T = undefined>(value?: T): ProcessResult<T> {
    return new ProcessResult<T>(value, undefined);
  }

  /** A failure; `error` may be anything thrown (a non-Error is wrapped, keeping it as `cause`). */
  static fail<T = never>(error: unknown, context?: FailureFields): ProcessResult<T> {
    const failure = error instanceof Failure ? (context === undefined ? error : error.fillMissing(context)) : new Failure(toError(error), context);
    return new ProcessResult<T>(undefined, failure);
  }

  /** Whether `candidate` is a `ProcessResult`. */
  static is(candidate: unknown): candidate is ProcessResult {
    return candidate instanceof ProcessResult;
  }

  get isOk(): boolean {
    return this.#failure === undefined;
  }

  get isFail(): boolean {
    return this.#failure !== undefined;
  }

  /** The value of a success; on a failure, throws the original error. */
  get value(): T {
    if (this.#failure !== undefined) throw this.#failure.error;
    return this.#value as T;
  }

  /** The failure; on a success, throws a `UsageError`. */
  get failure(): Failure {
    if (this.#failure === undefined) throw new UsageError('result.failure', 'a failed ProcessResult (check result.isFail first)', this, { receivedText: 'a successful ProcessResult' });
    return this.#failure;
  }

  /** The failure, or `undefined` on a success: for code that branches without throwing. */
  get failureOrUndefined(): Failure | undefined {
    return this.#failure;
  }

  /** A copy of a failed result with its failure's missing fields filled in; a success is returned as is. */
  withFailureFields(fields: FailureFields): ProcessResult<T> {
    return this.#failure === undefined ? this : new ProcessResult<T>(undefined, this.#failure.fillMissing(fields));
  }

  toJSON(): { ok: true; value: T } | { ok: false; failure: ReturnType<Failure['toJSON']> } {
    return this.#failure === undefined ? { ok: true, value: this.#value as T } : { ok: false, failure: this.#failure.toJSON() };
  }
}
