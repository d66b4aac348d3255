import type { Placement } from '../placement/Placement';
import type { Failure } from '../process/Failure';
import type { ProcessResult } from '../process/ProcessResult';
import { type TokenUsage, addUsage } from '../process/usage';

/**
 * One placement of a pair's fallback chain as it was tried: where, on which backend, how it ended
 * and when. `cancelled` is a hedge that lost, or a placement a HALT, the deadline or an
 * unsubscription cut (then `failure` is the cut's).
 *
 * @example
 * ```ts
 * for (const tried of result.entries[0]?.placements ?? []) {
 *   console.log(tried.placement.summary, tried.backend, tried.outcome, tried.failure?.summary);
 * }
 * ```
 */
export interface PlacementAttempt {
  readonly placement: Placement;
  /** The backend's name, or `undefined` when none was resolved (strict registry). */
  readonly backend: string | undefined;
  readonly outcome: 'ok' | 'failed' | 'cancelled';
  /** Why it failed or was cancelled. */
  readonly failure: Failure | undefined;
  /** Attempts that started on this placement (0 when its backend refused it). */
  readonly attempts: number;
  /** Whether it started as a hedge, beside a placement that had not settled. */
  readonly hedge: boolean;
  /** When its first attempt started, if one did. */
  readonly startedAt: Date | undefined;
  readonly endedAt: Date;
}

/** What happened to one pair of a group. */
export interface PAREntry<T = unknown> {
  readonly index: number;
  readonly name: string;
  readonly placement: Placement;
  /** The backend's name, or `undefined` when no backend was resolved (strict registry). */
  readonly backend: string | undefined;
  readonly result: ProcessResult<T>;
  /** How many attempts started (0 when it never ran). */
  readonly attempts: number;
  /** Tokens spent on models over every attempt, when the process recorded any (`ctx.recordUsage`). */
  readonly usage?: TokenUsage | undefined;
  /** When the first attempt started, if one did. */
  readonly startedAt: Date | undefined;
  readonly settledAt: Date;
  /** For a pair with a fallback chain: each placement tried, in the order started (`undefined` for one placement). */
  readonly placements?: readonly PlacementAttempt[] | undefined;
}

/** @internal A `PAREntry` that keeps its times as numbers and makes a `Date` only when one is read. */
export class SettledEntry<T> implements PAREntry<T> {
  constructor(
    readonly index: number,
    readonly name: string,
    readonly placement: Placement,
    readonly backend: string | undefined,
    readonly result: ProcessResult<T>,
    readonly attempts: number,
    readonly usage: TokenUsage | undefined,
    private readonly startedAtMs: number | undefined,
    private readonly settledAtMs: number,
    readonly placements?: readonly PlacementAttempt[],
  ) {}

  get startedAt(): Date | undefined {
    return this.startedAtMs === undefined ? undefined : new Date(this.startedAtMs);
  }

  get settledAt(): Date {
    return new Date(this.settledAtMs);
  }
}

/** Counts and failure types of a run, for logs and dashboards. */
export interface PARReport {
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** failed / total (0 for an empty group). */
  readonly failureRate: number;
  /** How many failures each error name had, e.g. `{ CancelledError: 2, Error: 1 }`. */
  readonly failureTypes: Readonly<Record<string, number>>;
  /** Tokens spent by the whole group, when any process recorded usage. */
  readonly usage?: TokenUsage;
}

/**
 * The outcome of a group: one result per pair, in declaration order.
 *
 * @example
 * ```ts
 * const result = await PLACED_PAR(a, b, { onFailure: FailurePolicy.COLLECT }).run();
 * if (result.isOk) use(result.value);                 // [aValue, bValue]
 * else result.failures.forEach((f) => console.error(f.detailed));
 * ```
 */
export class PARResult<T = unknown> {
  readonly entries: readonly PAREntry<T>[];
  readonly results: readonly ProcessResult<T>[];

  constructor(entries: readonly PAREntry<T>[]) {
    this.entries = Object.freeze([...entries]);
    this.results = Object.freeze(entries.map((entry) => entry.result));
    Object.freeze(this);
  }

  /** The successful results, in declaration order. */
  get successes(): ProcessResult<T>[] {
    return this.results.filter((result) => result.isOk);
  }

  /** The failures, in declaration order. */
  get failures(): Failure[] {
    const failures: Failure[] = [];
    for (const result of this.results) {
      const failure = result.failureOrUndefined;
      if (failure !== undefined) failures.push(failure);
    }
    return failures;
  }

  /** The success values, in declaration order. */
  get value(): T[] {
    const values: T[] = [];
    for (const result of this.results) if (result.isOk) values.push(result.value);
    return values;
  }

  /** Whether every process succeeded. */
  get isOk(): boolean {
    return this.results.every((result) => result.isOk);
  }

  /** Counts, failure rate and failure types. */
  report(): PARReport {
    const failures = this.failures;
    const failureTypes: Record<string, number> = {};
    for (const failure of failures) failureTypes[failure.error.name] = (failureTypes[failure.error.name] ?? 0) + 1;
    const total = this.results.length;
    const usage = this.entries.reduce<TokenUsage | undefined>((sum, entry) => addUsage(sum, entry.usage), undefined);
    return {
      total,
      succeeded: total - failures.length,
      failed: failures.length,
      failureRate: total === 0 ? 0 : failures.length / total,
      failureTypes,
      ...(usage === undefined ? {} : { usage }),
    };
  }
}
