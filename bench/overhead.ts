// Benchmark 1, overhead per process: the same N async functions run by stbass (PLACED_PAR under
// COLLECT and HALT, PAR, mapPlaced), by the floors (Promise.all, raw RxJS mergeMap) and by the
// peers (p-limit, p-queue, Effect.forEach with a per-item timeout and errors captured as values).
import { Effect, Either } from 'effect';
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import {
  type Case,
  type CaseSummary,
  type Group,
  type Profile,
  type Samples,
  type Stat,
  check,
  formatNumber,
  formatRatio,
  formatStat,
  measureRounds,
  pairwise,
  renderTable,
  series,
  shortN,
  stat,
  verdict,
  summaries,
} from './harness';
import { baselineStbass, stbass } from './target';
import type * as Stbass from '../lib/index';
import type { PARResult, PlacedPair, ProcessResult } from '../lib/index';

export type Variant = 'immediate' | 'setImmediate';

export const VARIANT_TITLES: Record<Variant, string> = {
  immediate: 'each process resolves at once',
  setImmediate: 'each process yields once with setImmediate',
};

/** The work every case does N times: the same async function. */
const WORK: Record<Variant, (i: number) => Promise<number>> = {
  immediate: (i) => Promise.resolve(i),
  setImmediate: (i) => new Promise<number>((resolve) => setImmediate(resolve, i)),
};

/** The peers' per-item timeout (never reached: it is the cost of having one that is measured). */
const TIMEOUT_MS = 60_000;
/** The floor the ratios are taken against. */
export const FLOOR = 'Promise.all';
export const MERGE_MAP = 'RxJS from+mergeMap+toArray';
export const EFFECT = 'Effect.forEach';
export const P_LIMIT = 'p-limit';
export const P_QUEUE = 'p-queue';
/** The stbass cases with the ≤ 5× target at the largest N. */
export const OVERHEAD_TARGET = 5;

export interface ScalingConfig {
  readonly profile: Profile;
  /** Names the child in progress lines, e.g. `default flags`. */
  readonly label: string;
  readonly ns: readonly number[];
  readonly variants: readonly Variant[];
  readonly rounds: number;
  /** Sizes of the warm-up pass (each case once per variant). */
  readonly warmupNs: readonly number[];
  /** Cases too slow for the time budget at large N: at most `rounds` rounds (0: left out) from `fromN` on. */
  readonly capped: readonly RoundCap[];
}

export interface RoundCap {
  readonly case: string;
  readonly fromN: number;
  readonly rounds: number;
  /** Only for this variant (default: both). */
  readonly variant?: Variant;
}

/** The rounds cap of a case at size n (undefined: every round). */
export function capFor(config: ScalingConfig, name: string, variant: Variant, n: number): number | undefined {
  let cap: number | undefined;
  for (const entry of config.capped) {
    if (entry.case === name && n >= entry.fromN && (entry.variant === undefined || entry.variant === variant)) cap = Math.min(cap ?? Number.POSITIVE_INFINITY, entry.rounds);
  }
  return cap;
}

export interface ScalingResult {
  readonly benchmark: string;
  readonly config: ScalingConfig;
  readonly groups: readonly { key: string; n: number; variant: Variant }[];
  readonly cases: readonly CaseSummary[];
  readonly samples: Samples;
  readonly elapsedMs: number;
}

type Settled = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly error: unknown };

const okValue = (value: number): Settled => ({ ok: true, value });
const errValue = (error: unknown): Settled => ({ ok: false, error });

/** Rejects after `ms` unless `promise` settles first; clears its timer either way. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

const itemsBySize = new Map<number, number[]>();
/** [0, 1, …, n-1], built once per size outside the timed part. */
export function items(n: number): number[] {
  let list = itemsBySize.get(n);
  if (list === undefined) {
    list = Array.from({ length: n }, (_, i) => i);
    itemsBySize.set(n, list);
  }
  return list;
}

function checkSum(values: readonly number[], n: number): void {
  check(values.length === n, `expected ${n} results, got ${values.length}`);
  let sum = 0;
  for (const value of values) sum += value;
  check(sum === (n * (n - 1)) / 2, `the values do not add up (sum ${sum})`);
}

function checkSettled(values: readonly Settled[], n: number): void {
  check(values.length === n, `expected ${n} results, got ${values.length}`);
  const failed = values.find((value) => !value.ok);
  check(failed === undefined, `a process failed: ${String(failed?.ok === false ? failed.error : '')}`);
  checkSum(values.map((value) => (value.ok ? value.value : Number.NaN)), n);
}

function checkGroup(result: PARResult<number>, n: number): void {
  check(result.results.length === n, `expected ${n} results, got ${result.results.length}`);
  check(result.isOk, `${result.failures.length} processes failed: ${result.failures[0]?.summary ?? ''}`);
  checkSum(result.value, n);
}

function checkResults(results: readonly ProcessResult<number>[], n: number): void {
  check(results.length === n, `expected ${n} results, got ${results.length}`);
  const failed = results.find((result) => !result.isOk);
  check(failed === undefined, `a process failed: ${failed?.failure.summary ?? ''}`);
  checkSum(results.map((result) => result.value), n);
}

/**
 * Growth's capped case (issue 10: "a capped backend with 100k waiting"): every process on a backend
 * capped at 8, so that all but 8 wait for a slot. Not one of the modes judged against the baseline
 * and p-limit (whose peers here are unbounded); judged by growth only.
 */
export const CAPPED = 'PLACED_PAR COLLECT, cap 8';

/** The stbass cases (PLACED_PAR COLLECT and HALT, PAR, mapPlaced, and COLLECT capped) for one build of stbass. */
function stbassCases(s: typeof Stbass, work: (i: number) => Promise<number>, suffix: string, role: Case['role']): Case[] {
  const registry = new s.BackendRegistry({ default: new s.LocalBackend() });
  // The previous engine's LocalBackend took `concurrency`, which the current one keeps as an alias.
  const capped = new s.BackendRegistry({ default: new s.LocalBackend(suffix === '' ? { concurrencyLimit: 8 } : { concurrency: 8 }) });
  const placement = new s.Placement({});
  const toResult = (value: number): ProcessResult<number> => s.ProcessResult.ok(value);
  const pairs = (n: number) => items(n).map((i) => [s.Process('p', () => work(i).then(toResult)), placement] as const);
  return [
    {
      name: `PLACED_PAR COLLECT${suffix}`,
      role,
      run: (n) => s.PLACED_PAR(...pairs(n), { onFailure: s.FailurePolicy.COLLECT, registry }).run(),
      check: checkGroup,
    } satisfies Case<PARResult<number>>,
    {
      name: `PLACED_PAR HALT${suffix}`,
      role,
      run: (n) => s.PLACED_PAR(...pairs(n), { onFailure: s.FailurePolicy.HALT, registry }).run(),
      check: checkGroup,
    } satisfies Case<PARResult<number>>,
    {
      name: `PAR${suffix}`,
      role,
      run: (n) => s.PAR(...items(n).map((i) => s.Process('p', () => work(i).then(toResult))), { registry }).run(),
      check: checkGroup,
    } satisfies Case<PARResult<number>>,
    {
      name: `${CAPPED}${suffix}`,
      role,
      run: (n) => s.PLACED_PAR(...pairs(n), { onFailure: s.FailurePolicy.COLLECT, registry: capped }).run(),
      check: checkGroup,
    } satisfies Case<PARResult<number>>,
    {
      name: `mapPlaced COLLECT${suffix}`,
      role,
      run: (n) =>
        lastValueFrom(
          from(items(n)).pipe(
            s.mapPlaced<number, PlacedPair<number>>((i) => [s.Process('p', () => work(i).then(toResult)), placement] as const, { onFailure: s.FailurePolicy.COLLECT, registry }),
            toArray(),
          ),
        ),
      check: checkResults,
    } satisfies Case<ProcessResult<number>[]>,
  ];
}

/** The suffix of the cases run on the baseline build named by STBASS_BENCH_BASELINE. */
export const BASELINE_SUFFIX = ' [baseline]';

/** The cases of benchmark 1 for one variant of the work. */
export async function overheadCases(variant: Variant, config: ScalingConfig): Promise<Case[]> {
  const s = stbass();
  const { default: pLimit } = await import('p-limit');
  const { default: PQueue } = await import('p-queue');
  const work = WORK[variant];
  const baseline = baselineStbass();

  const cases: Case[] = [
    {
      name: FLOOR,
      role: 'floor',
      run: (n) => Promise.all(items(n).map(work)),
      check: checkSum,
    } satisfies Case<number[]>,
    {
      name: MERGE_MAP,
      role: 'floor',
      run: (n) => lastValueFrom(from(items(n)).pipe(mergeMap(work), toArray())),
      check: checkSum,
    } satisfies Case<number[]>,
    ...stbassCases(s, work, '', 'stbass'),
    ...(baseline === undefined ? [] : stbassCases(baseline, work, BASELINE_SUFFIX, 'peer')),
    {
      name: P_LIMIT,
      role: 'peer',
      run: (n) => {
        const limit = pLimit(Number.POSITIVE_INFINITY);
        return Promise.all(items(n).map((i) => limit(() => withTimeout(work(i), TIMEOUT_MS)).then(okValue, errValue)));
      },
      check: checkSettled,
    } satisfies Case<Settled[]>,
    {
      name: P_QUEUE,
      role: 'peer',
      run: (n) => {
        const queue = new PQueue({ concurrency: Number.POSITIVE_INFINITY, timeout: TIMEOUT_MS });
        return Promise.all(items(n).map((i) => queue.add(() => work(i)).then(okValue, errValue)));
      },
      check: checkSettled,
    } satisfies Case<Settled[]>,
    {
      name: EFFECT,
      role: 'peer',
      run: (n) =>
        Effect.runPromise(
          Effect.forEach(items(n), (i) => Effect.tryPromise(() => work(i)).pipe(Effect.timeout(TIMEOUT_MS), Effect.either), { concurrency: 'unbounded' }),
        ),
      check: (out, n) => {
        check(out.length === n, `expected ${n} results, got ${out.length}`);
        check(out.every(Either.isRight), 'a process failed');
        checkSum(out.map((either) => (Either.isRight(either) ? either.right : Number.NaN)), n);
      },
    } satisfies Case<Either.Either<number, unknown>[]>,
  ];
  return cases.map((entry) => ({ ...entry, roundsAt: (n: number) => capFor(config, entry.name, variant, n) }));
}

/** Runs benchmark 1 in a worker. */
export async function measureOverhead(config: ScalingConfig): Promise<ScalingResult> {
  const started = Date.now();
  const casesByVariant = new Map<Variant, Case[]>();
  for (const variant of config.variants) casesByVariant.set(variant, await overheadCases(variant, config));
  return scalingRun('overhead', config, casesByVariant, started);
}

/** Groups (variant × N), warm-up and rounds: shared by the scaling benchmarks (1 and 3). */
export async function scalingRun(benchmark: string, config: ScalingConfig, casesByVariant: Map<Variant, Case[]>, started: number): Promise<ScalingResult> {
  const groups: (Group & { variant: Variant })[] = [];
  for (const n of config.ns) {
    for (const variant of config.variants) groups.push({ key: `${variant}/${n}`, n, variant, cases: casesByVariant.get(variant) ?? [] });
  }
  const warmup = config.warmupNs.flatMap((n) => config.variants.map((variant) => ({ key: `${variant}/${n}`, n, cases: casesByVariant.get(variant) ?? [] })));
  const samples = await measureRounds(groups, { rounds: config.rounds, warmup, label: `${benchmark} [${config.label}]` });
  const cases = [...casesByVariant.values()][0] ?? [];
  return {
    benchmark,
    config,
    groups: groups.map(({ key, n, variant }) => ({ key, n, variant })),
    cases: summaries(cases),
    samples,
    elapsedMs: Date.now() - started,
  };
}

export interface ScalingRow {
  readonly variant: Variant;
  readonly n: number;
  readonly case: string;
  readonly role: Case['role'];
  readonly rounds: number;
  readonly nsPerProcess: Stat | undefined;
  readonly ratioToFloor: Stat | undefined;
  readonly target?: { readonly description: string; readonly met: boolean | undefined };
}

/** Per (variant, N, case): ns per process and the ratio to the floor, taken round by round. */
export function scalingRows(result: ScalingResult, floor: string, targetFor: (row: Omit<ScalingRow, 'target'>, maxN: number) => ScalingRow['target']): ScalingRow[] {
  const maxN = Math.max(...result.groups.map((group) => group.n));
  const rows: ScalingRow[] = [];
  for (const group of result.groups) {
    const byCase = result.samples[group.key] ?? {};
    for (const entry of result.cases) {
      const ns = series(byCase[entry.name], 'ns');
      const base = {
        variant: group.variant,
        n: group.n,
        case: entry.name,
        role: entry.role,
        rounds: ns.length,
        nsPerProcess: stat(ns.map((value) => value / group.n)),
        ratioToFloor: stat(pairwise(byCase[entry.name], byCase[floor], 'ns')),
      };
      const target = targetFor(base, maxN);
      rows.push(target === undefined ? base : { ...base, target });
    }
  }
  return rows;
}

/** The printed table of a scaling benchmark, one block per variant and N. */
export function scalingTable(title: string, rows: readonly ScalingRow[], floor: string, configuredRounds: number, notes: readonly string[], showVariant = true): string {
  const body: (string[] | null)[] = [];
  let previous: string | undefined;
  for (const row of rows) {
    const block = `${row.variant}/${row.n}`;
    if (previous !== undefined && block !== previous) body.push(null);
    previous = block;
    body.push([
      `${showVariant ? `${row.variant === 'immediate' ? 'at once' : 'setImmediate'}  ` : ''}N=${shortN(row.n)}  ${row.case}`,
      formatStat(row.nsPerProcess, (x) => formatNumber(x)),
      row.case === floor ? '1×' : formatStat(row.ratioToFloor, formatRatio),
      row.rounds === configuredRounds ? String(row.rounds) : `${row.rounds} (capped)`,
      row.target === undefined ? '' : `${row.target.description}: ${verdict(row.target.met)}`,
    ]);
  }
  return renderTable(title, ['case', 'ns/process median (min–max)', `× ${floor} (pairwise)`, 'rounds', 'target'], body, notes);
}

/** The engine's targets beside a baseline build (issue 10): at most this many times its cost, pairwise. */
export const BASELINE_TARGET = 1.5;

export function overheadRows(result: ScalingResult): ScalingRow[] {
  return scalingRows(result, FLOOR, (row, maxN) => {
    if (row.role !== 'stbass' || row.n !== maxN || row.case === CAPPED) return undefined;
    const samples = result.samples[result.groups.find((group) => group.variant === row.variant && group.n === row.n)?.key ?? ''] ?? {};
    const baseline = samples[`${row.case}${BASELINE_SUFFIX}`];
    if (baseline === undefined) return { description: `≤ ${OVERHEAD_TARGET}× at ${shortN(maxN)}`, met: row.ratioToFloor === undefined ? undefined : row.ratioToFloor.median <= OVERHEAD_TARGET };
    // Beside a baseline build: at most 1.5× its cost and below p-limit's, both pairwise in the same rounds.
    const toBaseline = stat(pairwise(samples[row.case], baseline, 'ns'));
    const toPLimit = stat(pairwise(samples[row.case], samples[P_LIMIT], 'ns'));
    const shown = (ratio: Stat | undefined) => (ratio === undefined ? '—' : formatRatio(ratio.median));
    return {
      description: `${shown(toBaseline)} baseline (≤ ${BASELINE_TARGET}×), ${shown(toPLimit)} p-limit (< 1×)`,
      met: toBaseline === undefined || toPLimit === undefined ? undefined : toBaseline.median <= BASELINE_TARGET && toPLimit.median < 1,
    };
  });
}

export function overheadNotes(result: ScalingResult): string[] {
  const caps = result.config.capped.map(
    (cap) => `${cap.case}${cap.variant === undefined ? '' : ` (${cap.variant})`} from N=${shortN(cap.fromN)}: ${cap.rounds === 0 ? 'left out' : `${cap.rounds} round(s)`}`,
  );
  return [
    `stbass cases build their N Process objects (and pairs) inside the timed part, as a user would; no deadline.`,
    `peers: concurrency unbounded, a ${TIMEOUT_MS / 1000} s per-item timeout, errors captured as values (Settled / Either).`,
    `${MERGE_MAP} is mergeMap(fn) with concurrency Infinity: quadratic at large N (each finished inner subscription is spliced out of an array).`,
    `${EFFECT} with concurrency 'unbounded' + Effect.timeout + Effect.either costs ~100–400 µs per item (fibers, GC-bound).`,
    ...(caps.length === 0 ? [] : [`capped to keep the time budget (see "rounds"): ${caps.join('; ')}.`]),
    `ratios are per round (the case and ${FLOOR} in the same round, order rotated each round), then median (min–max).`,
  ];
}

/**
 * When the floor's own cost per process jumps at the largest N (young-generation GC: the promises
 * outlive a scavenge and get promoted), every ratio at that N is flattered; say so under the table.
 */
export function floorCaveats(rows: readonly ScalingRow[], floor: string): string[] {
  const notes: string[] = [];
  const sizes = [...new Set(rows.map((row) => row.n))].sort((a, b) => a - b);
  const large = sizes[sizes.length - 1];
  const small = sizes[sizes.length - 2];
  if (large === undefined || small === undefined) return notes;
  for (const variant of new Set(rows.map((row) => row.variant))) {
    const at = (n: number) => rows.find((row) => row.case === floor && row.variant === variant && row.n === n)?.nsPerProcess?.median;
    const jump = (at(large) ?? 0) / (at(small) ?? Number.POSITIVE_INFINITY);
    if (jump > 2) {
      notes.push(
        `caveat (${variant}): ${floor} costs ${formatRatio(jump)} more per process at N=${shortN(large)} than at N=${shortN(small)} (GC of ${shortN(large)} live promises), ` +
          `which flatters every ratio at N=${shortN(large)}; the growth table (also under --max-semi-space-size=64) shows it.`,
      );
    }
  }
  return notes;
}
