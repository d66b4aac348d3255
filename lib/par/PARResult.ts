import { UsageError } from '../errors';
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

/**
 * The results of a group by position: a tuple of `ProcessResult`s typed from its pairs for a
 * positional group (`[ProcessResult<string>, ProcessResult<number[]>]`), a plain array for a keyed one.
 */
export type ResultsOf<T, Values> = Values extends readonly unknown[] ? { readonly [I in keyof Values]: ProcessResult<Values[I]> } : readonly ProcessResult<T>[];

/** The positions `result.at(index)` takes: `0 | 1 | ...` for a tuple of pairs, any number otherwise. */
export type PositionOf<Values> = Values extends readonly unknown[] ? (number extends Values['length'] ? number : Extract<Exclude<Partial<Values>['length'], Values['length']>, number>) : number;

/** The value type at position `I`: the pair's own for a tuple, the group's union otherwise. */
export type ValueAt<T, Values, I> = Values extends readonly unknown[] ? (I extends keyof Values ? Values[I] : T) : T;

/** The keys `result.get(key)` takes: those of a keyed group (none for a positional one, any string when the shape is `unknown`). */
export type KeyOf<Values> = Values extends readonly unknown[] ? never : unknown extends Values ? string : Extract<keyof Values, string>;

/** The value type of key `K` of a keyed group (the group's union `T` when the shape is not known). */
export type ValueOfKey<T, Values, K> = unknown extends Values ? T : K extends keyof Values ? Values[K] : T;

/** `result.values`: the success values of a keyed group by key, each there only if it succeeded. */
export type ValuesByKey<T, Values> = unknown extends Values ? Partial<Record<string, T>> : Values extends readonly unknown[] ? never : { [K in keyof Values]?: Values[K] };

/** What happened to one pair of a group. */
export interface PAREntry<T = unknown> {
  readonly index: number;
  /** The pair's key in a keyed group (`PLACED_PAR({ plan: pair })`), `undefined` in a positional one. */
  readonly key?: string | undefined;
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
    readonly key?: string | undefined,
    readonly placements?: readonly PlacementAttempt[] | undefined,
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
 * The outcome of a group: one result per pair, in declaration order. `T` is the union of the
 * pairs' value types; `Values` is the group's shape, a tuple for a positional group
 * (`[string, number[]]`), a record for a keyed one (`{ plan: string; label: string[] }`), and
 * types `results`, `at(index)`, `get(key)` and `values`. `PARResult<T>` (shape `unknown`) is
 * any group's result: what a function that takes results of every kind declares.
 *
 * @example
 * ```ts
 * const result = await PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }).run();
 * result.get('plan');           // ProcessResult<string>
 * result.values.plan;           // string | undefined: there if the planner succeeded
 *
 * const pair = await PLACED_PAR(a, b, { onFailure: FailurePolicy.COLLECT }).run();
 * pair.at(0);                   // ProcessResult of a's value type
 * if (pair.isOk) use(pair.value);                 // [aValue, bValue]
 * else pair.failures.forEach((f) => console.error(f.detailed));
 * ```
 */
export class PARResult<T = unknown, Values = unknown> {
  readonly entries: readonly PAREntry<T>[];
  /** One result per pair, in declaration order: a tuple typed from the pairs of a positional group. */
  readonly results: ResultsOf<T, Values>;
  /** `results` as the plain list it is at runtime, whatever its tuple type. */
  readonly #list: readonly ProcessResult<T>[];
  /** For a keyed group: the position of each key. */
  readonly #positions: ReadonlyMap<string, number> | undefined;

  constructor(entries: readonly PAREntry<T>[]) {
    this.entries = Object.freeze([...entries]);
    // The group's declaration gave `Values` its shape at compile time; the runtime list is built in
    // that same declaration order, one result per pair, which is what the tuple type says.
    this.#list = Object.freeze(entries.map((entry) => entry.result));
    this.results = this.#list as ResultsOf<T, Values>;
    this.#positions = entries[0]?.key === undefined ? undefined : new Map(entries.map((entry, index) => [entry.key ?? '', index]));
    Object.freeze(this);
  }

  /**
   * The result of the pair at `index` (from 0, in declaration order), typed from that pair: on a
   * positional group, `at(0)` is `ProcessResult<string>` when the first process gives a string.
   * An index outside the group is a `UsageError`.
   *
   * @example
   * ```ts
   * const result = await PLACED_PAR([planner, opus], [classifier, haiku]).run();
   * const plan = result.at(0); // ProcessResult<string>
   * if (plan.isOk) console.log(plan.value.toUpperCase());
   * ```
   */
  at<I extends PositionOf<Values>>(index: I): ProcessResult<ValueAt<T, Values, I>> {
    const position: number = index;
    const entry = Number.isInteger(position) ? this.entries[position] : undefined;
    if (entry === undefined) throw new UsageError('result.at(index)', this.entries.length === 0 ? 'no index: the group is empty' : `a whole number from 0 to ${this.entries.length - 1}`, index);
    // The pair at `index` is the one whose value type `ValueAt` reads from the declaration.
    return entry.result as ProcessResult<ValueAt<T, Values, I>>;
  }

  /**
   * The result of the pair under `key` in a keyed group (`PLACED_PAR({ plan: pair, ... })`), typed
   * from that pair. A key the group does not have, or a positional group, is a `UsageError`.
   *
   * @example
   * ```ts
   * const result = await PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }).run();
   * const plan = result.get('plan'); // ProcessResult<string>
   * ```
   */
  get<K extends KeyOf<Values>>(key: K): ProcessResult<ValueOfKey<T, Values, K>> {
    const position = this.#positions?.get(key);
    const entry = position === undefined ? undefined : this.entries[position];
    if (entry === undefined) throw new UsageError('result.get(key)', this.#keyedExpectation(), key);
    // The pair under `key` is the one whose value type `ValueOfKey` reads from the declaration.
    return entry.result as ProcessResult<ValueOfKey<T, Values, K>>;
  }

  /**
   * The success values of a keyed group by key; a key whose process failed is absent. A positional
   * group has no keys: read `value` or `at(index)` there (reading `values` is a `UsageError`).
   *
   * @example
   * ```ts
   * const { plan, label } = (await PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }).run()).values;
   * if (plan !== undefined) console.log(plan); // string
   * ```
   */
  get values(): ValuesByKey<T, Values> {
    if (this.#positions === undefined && this.entries.length > 0) throw new UsageError('result.values', this.#keyedExpectation(), this, { receivedText: 'the result of a positional group (read result.value or result.at(index))' });
    const values: Record<string, unknown> = {};
    for (const entry of this.entries) if (entry.key !== undefined && entry.result.isOk) values[entry.key] = entry.result.value;
    // Built from the entries by their keys, which are the keys of `Values`; absent where a process failed.
    return values as ValuesByKey<T, Values>;
  }

  #keyedExpectation(): string {
    if (this.#positions === undefined) return 'a key of a keyed group (PLACED_PAR({ key: pair, ... })); this group is positional: use result.at(index)';
    return `one of the group's keys (${[...this.#positions.keys()].join(', ')})`;
  }

  /** The successful results, in declaration order. */
  get successes(): ProcessResult<T>[] {
    return this.#list.filter((result) => result.isOk);
  }

  /** The failures, in declaration order. */
  get failures(): Failure[] {
    const failures: Failure[] = [];
    for (const result of this.#list) {
      const failure = result.failureOrUndefined;
      if (failure !== undefined) failures.push(failure);
    }
    return failures;
  }

  /** The success values, in declaration order. */
  get value(): T[] {
    const values: T[] = [];
    for (const result of this.#list) if (result.isOk) values.push(result.value);
    return values;
  }

  /** Whether every process succeeded. */
  get isOk(): boolean {
    return this.#list.every((result) => result.isOk);
  }

  /** Counts, failure rate and failure types. */
  report(): PARReport {
    const failures = this.failures;
    const failureTypes: Record<string, number> = {};
    for (const failure of failures) failureTypes[failure.error.name] = (failureTypes[failure.error.name] ?? 0) + 1;
    const total = this.#list.length;
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
