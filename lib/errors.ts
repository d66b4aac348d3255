import type { Placement } from './placement/Placement';
import type { Failure } from './process/Failure';
import { describeValue } from './validation/describe';

/**
 * A call to stbass was made with a wrong argument. It names the argument, what was expected and
 * what was received, so the call can be fixed from the message alone.
 *
 * @example
 * ```ts
 * try { PLACED_PAR(agent, { deadline: 0 }); }
 * catch (error) { if (error instanceof UsageError) console.log(error.argument); } // "options.deadline"
 * ```
 */
export class UsageError extends TypeError {
  /** The argument (or argument path) that was wrong, e.g. `options.deadline`. */
  readonly argument: string;
  /** What the argument should have been. */
  readonly expected: string;
  /** A description of what came instead. */
  readonly received: string;
  /** A wrong call stays wrong: a retry policy never runs it again. */
  readonly retryable = false;

  constructor(argument: string, expected: string, received: unknown, options?: { receivedText?: string }) {
    const receivedText = options?.receivedText ?? describeValue(received);
    super(`${argument}: expected ${expected}, received ${receivedText}`);
    this.name = 'UsageError';
    this.argument = argument;
    this.expected = expected;
    this.received = receivedText;
  }
}

/** Where a process stood when the deadline passed. */
export type DeadlinePhase = 'running' | 'waiting';

/**
 * The group's deadline passed before this process settled.
 *
 * @example
 * ```ts
 * const result = await PLACED_PAR(slowAgent, { deadline: 5 }).run();
 * const error = result.failures[0]?.error;
 * if (error instanceof DeadlineExceededError) console.log(error.phase); // "running"
 * ```
 */
export class DeadlineExceededError extends Error {
  /** The instant the deadline passed. */
  readonly deadline: Date;
  /** `running` when the process was on its backend, `waiting` when it waited for a slot or a retry. */
  readonly phase: DeadlinePhase;

  constructor(deadline: Date, phase: DeadlinePhase, processName?: string) {
    const who = processName === undefined ? 'the process' : `process "${processName}"`;
    const where = phase === 'running' ? 'was still running' : 'was still waiting to run';
    super(`deadline exceeded: ${who} ${where} when the deadline (${deadline.toISOString()}) passed`);
    this.name = 'DeadlineExceededError';
    this.deadline = deadline;
    this.phase = phase;
  }
}

/** Why a process was cancelled: a sibling's failure under HALT, the run unsubscribed, its `AbortSignal` aborted, or another placement of its chain settled it first. */
export type CancelReason = 'halt' | 'unsubscribed' | 'aborted' | 'superseded';

/**
 * The process was cancelled before it settled: another process failed under HALT, the run was
 * unsubscribed, or the run's `AbortSignal` aborted. Under HALT, `haltedBy` names the failed process
 * and `cause` is its error; on an abort, `cause` is the signal's reason.
 *
 * @example
 * ```ts
 * const error = result.failures[1]?.error;
 * if (error instanceof CancelledError && error.reason === 'halt') console.log(error.haltedBy);
 * ```
 */
export class CancelledError extends Error {
  /** `halt` when a sibling failed under HALT, `unsubscribed` when the run was unsubscribed, `aborted` when its signal aborted, `superseded` when another placement of its fallback chain settled the pair first (a hedge). */
  readonly reason: CancelReason;
  /** The name of the process whose failure halted the group (only for `halt`). */
  readonly haltedBy: string | undefined;

  /** `options.cause`: for `aborted`, the signal's reason. */
  constructor(reason: CancelReason, haltedBy?: { processName: string; error: Error }, options?: { cause?: unknown }) {
    const text =
      reason === 'halt'
        ? `cancelled: process "${haltedBy?.processName ?? '?'}" failed (${haltedBy?.error.name ?? 'Error'}: ${haltedBy?.error.message ?? ''}) and the group halted`
        : reason === 'superseded'
          ? 'cancelled: another attempt of the same pair on another placement of its chain (a hedge) settled it first'
          : reason === 'aborted'
            ? 'cancelled: the run was aborted (its AbortSignal) before the process settled'
            : 'cancelled: the run was unsubscribed before the process settled';
    super(text, haltedBy === undefined ? options : { cause: haltedBy.error });
    this.name = 'CancelledError';
    this.reason = reason;
    this.haltedBy = haltedBy?.processName;
  }
}

/**
 * Under `FailurePolicy.HALT`, an item of `mapPlaced` failed and ended the stream: the error the
 * stream errors with. It says which item failed (its index in the source, its process, its
 * placement); the process's own error is its `cause`, and `failure` has the rest.
 *
 * @example
 * ```ts
 * questions$.pipe(mapPlaced((q) => [answerer.withInput(q), opus])).subscribe({
 *   error: (error) => {
 *     if (error instanceof ItemFailedError) console.error(error.index, error.processName, error.cause);
 *   },
 * });
 * ```
 */
export class ItemFailedError extends Error {
  /** The item's position in the source, from 0. */
  readonly index: number;
  /** The name of the item's process. */
  readonly processName: string;
  /** Where the item ran. */
  readonly placement: Placement | undefined;
  /** The item's failure: its error (also `cause`), backend, attempts, timing. */
  readonly failure: Failure;

  constructor(index: number, failure: Failure) {
    const { processName, placement, error } = failure;
    super(`mapPlaced item ${index} (process "${processName}", placement ${placement?.summary ?? 'unspecified'}) failed and halted the stream: ${error.name}: ${error.message}`, { cause: error });
    this.name = 'ItemFailedError';
    this.index = index;
    this.processName = processName;
    this.placement = placement;
    this.failure = failure;
  }
}

/**
 * The backend chosen for a placement cannot take the work: its health check said no (or threw),
 * or, in a strict registry, no registered backend matches the placement.
 *
 * @example
 * ```ts
 * const registry = new BackendRegistry({ strict: true }).register('anthropic', claude);
 * // a typo'd endpoint fails with: no backend matches ... registered: anthropic
 * ```
 */
export class BackendUnavailableError extends Error {
  /** The backend's name, or the placement's endpoint/model when no backend matched. */
  readonly backend: string;
  /** The placement that was to run there. */
  readonly placement: Placement;

  constructor(backend: string, placement: Placement, detail: string, options?: { cause?: unknown }) {
    super(`backend "${backend}" is unavailable for placement (${placement.summary}): ${detail}`, options);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.placement = placement;
  }
}

/**
 * A placement of a fallback chain did not settle within the chain's `timeout`: the attempt there is
 * cancelled (its signal aborts with this error) and the chain moves on to its next placement.
 *
 * @example
 * ```ts
 * PLACED_PAR([writer, [opus, haiku], { timeout: 20 }]); // opus gets 20 s, then haiku
 * result.entries[0]?.placements?.[0]?.failure?.error instanceof PlacementTimeoutError; // when it took too long
 * ```
 */
export class PlacementTimeoutError extends Error {
  /** The placement that took too long. */
  readonly placement: Placement;
  /** The chain's `timeout`, in seconds. */
  readonly timeout: number;

  constructor(placement: Placement, timeout: number) {
    super(`placement (${placement.summary}) did not settle within the chain's timeout of ${timeout} s`);
    this.name = 'PlacementTimeoutError';
    this.placement = placement;
    this.timeout = timeout;
  }
}

/**
 * A process or backend produced something that is not a `ProcessResult`.
 *
 * @example
 * ```ts
 * const result = await Process('bad', () => 42 as never).execute(ctx);
 * result.failure.error instanceof InvalidResultError; // true
 * ```
 */
export class InvalidResultError extends Error {
  /** What was produced instead of a `ProcessResult`. */
  readonly received: unknown;

  constructor(received: unknown, what = 'the process') {
    super(`${what} did not produce a ProcessResult: expected a ProcessResult (ProcessResult.ok(value) or ProcessResult.fail(error)), received ${describeValue(received)}`);
    this.name = 'InvalidResultError';
    this.received = received;
  }
}

/** One readable problem found by a zod schema. */
export interface ValidationIssue {
  /** Dotted path of the field, `(root)` for the value itself. */
  readonly path: string;
  /** Why the field was rejected. */
  readonly message: string;
}

/**
 * A process's input or output did not match its zod schema.
 *
 * @example
 * ```ts
 * const error = result.failures[0]?.error;
 * if (error instanceof ValidationError) console.log(error.issues); // [{ path: 'query', message: '...' }]
 * ```
 */
export class ValidationError extends Error {
  /** `input` or `output`. */
  readonly target: 'input' | 'output';
  /** The problems found, each with its field path. */
  readonly issues: readonly ValidationIssue[];
  /** The same input fails the same way: a retry policy never runs it again. */
  readonly retryable = false;

  constructor(target: 'input' | 'output', processName: string, issues: readonly ValidationIssue[]) {
    const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    super(`${target} of process "${processName}" is invalid: ${listed}`);
    this.name = 'ValidationError';
    this.target = target;
    this.issues = issues;
  }
}

/** Turns anything thrown into an `Error`; a non-Error keeps the original as its `cause`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const text = typeof thrown === 'string' ? thrown : `a non-Error value was thrown: ${describeValue(thrown)}`;
  return new Error(text, { cause: thrown });
}
