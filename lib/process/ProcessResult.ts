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
  // Plain (not #private) fields, so that deep equality in tests (jest's toEqual, TestScheduler) sees them.
  private readonly settledValue: T | undefined;
  private readonly settledFailure: Failure | undefined;

  private constructor(value: T | undefined, failure: Failure | undefined) {
    this.settledValue = value;
    this.settledFailure = failure;
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
    return this.settledFailure === undefined;
  }

  get isFail(): boolean {
    return this.settledFailure !== undefined;
  }

  /** The value of a success; on a failure, throws the original error. */
  get value(): T {
    if (this.settledFailure !== undefined) throw this.settledFailure.error;
    return this.settledValue as T;
  }

  /** The failure; on a success, throws a `UsageError`. */
  get failure(): Failure {
    if (this.settledFailure === undefined) throw new UsageError('result.failure', 'a failed ProcessResult (check result.isFail first)', this, { receivedText: 'a successful ProcessResult' });
    return this.settledFailure;
  }

  /** The failure, or `undefined` on a success: for code that branches without throwing. */
  get failureOrUndefined(): Failure | undefined {
    return this.settledFailure;
  }

  /** A copy of a failed result with its failure's missing fields filled in; a success is returned as is. */
  withFailureFields(fields: FailureFields): ProcessResult<T> {
    return this.settledFailure === undefined ? this : new ProcessResult<T>(undefined, this.settledFailure.fillMissing(fields));
  }

  toJSON(): { ok: true; value: T } | { ok: false; failure: ReturnType<Failure['toJSON']> } {
    return this.settledFailure === undefined ? { ok: true, value: this.settledValue as T } : { ok: false, failure: this.settledFailure.toJSON() };
  }
}
