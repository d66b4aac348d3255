// The benchmark harness: rounds with rotated case order, median/min/max, pairwise ratios, tables,
// JSON results, and the child processes every benchmark runs in (so that node flags such as
// --max-semi-space-size or --expose-gc apply, and each benchmark starts on a fresh heap).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

/** A correctness check inside a benchmark failed: the run exits non-zero (targets never do). */
export class CheckError extends Error {
  override readonly name = 'CheckError';
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckError(message);
}

export type Profile = 'smoke' | 'quick' | 'full';

/** What one sample measured: `ns` (wall time of `run`) unless the case reports its own metrics. */
export type Metrics = Record<string, number>;

/** One contender of a benchmark: the same work as the others of its group. */
export interface Case<Out = unknown> {
  readonly name: string;
  /** `floor`: what ratios are taken against; `reference`: a yardstick that is not stbass. */
  readonly role: 'floor' | 'stbass' | 'peer' | 'reference';
  /** Does the work once; the awaited time is the sample's `ns`. Set-up belongs outside. */
  run(n: number): Promise<Out>;
  /** Throws a `CheckError` when the work came out wrong; not timed. */
  check(out: Out, n: number): void;
  /** Extra metrics from the output (e.g. lateness, peak); merged over `ns`. */
  metrics?(out: Out, n: number): Metrics;
  /** At most this many rounds at size `n` (0: not run at that size); `undefined`: every round. */
  roundsAt?(n: number): number | undefined;
  /**
   * `true`: sampled right after an untimed run of itself, with no GC forced in between, as in a
   * process that runs groups back to back. Otherwise a sample follows a forced major GC: a pause
   * after which code and data come back cold. A forced GC also drops the hidden classes no live
   * object has (V8's own major GCs keep them a while), throwing away the optimized code that used
   * them: the deadline's walk pays that; caps pays only the pause.
   */
  readonly warm?: boolean;
}

/** What a suite's result keeps of each case: enough for its report to tell the rows apart. */
export interface CaseSummary {
  readonly name: string;
  readonly role: Case['role'];
  readonly warm?: boolean;
}

/** `cases` as a suite's result keeps them (see `CaseSummary`). */
export function summaries(cases: readonly Case[]): CaseSummary[] {
  return cases.map(({ name, role, warm: isWarm }) => ({ name, role, warm: isWarm }));
}

/** `entry` again, sampled warm (see `Case.warm`): a row beside it that no target judges. */
export function warm<Out>(entry: Case<Out>): Case<Out> {
  return { ...entry, name: `${entry.name}, warm`, warm: true };
}

/** How far over the ideal a ratio minus one is, as `+4.6%`. */
export function formatOverIdeal(excess: number): string {
  return `${excess >= 0 ? '+' : ''}${formatNumber(excess * 100, 1)}%`;
}

/** Cases that do the same work at the same size, rotated within each round. */
export interface Group {
  readonly key: string;
  readonly n: number;
  readonly cases: readonly Case[];
}

/** samples[group key][case name][round]: the metrics of that round, or null when the case sat it out. */
export type Samples = Record<string, Record<string, (Metrics | null)[]>>;

const hasGc = typeof globalThis.gc === 'function';

/** Lets microtasks and callbacks left over from the previous sample run out, then collects garbage. */
export async function quiesce(forcedGc = true): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (hasGc && forcedGc) (globalThis.gc as () => void)();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export function capOf(entry: Case, n: number): number {
  return entry.roundsAt?.(n) ?? Number.POSITIVE_INFINITY;
}

/** Runs one case once: quiesce, time it, check it. */
export async function sample(entry: Case, n: number): Promise<Metrics> {
  await quiesce();
  if (entry.warm === true) {
    entry.check(await entry.run(n), n);
    await quiesce(false);
  }
  const start = process.hrtime.bigint();
  const out = await entry.run(n);
  const ns = Number(process.hrtime.bigint() - start);
  try {
    entry.check(out, n);
  } catch (error) {
    if (error instanceof CheckError) error.message = `${entry.name} at N=${n}: ${error.message}`;
    throw error;
  }
  return { ns, ...entry.metrics?.(out, n) };
}

/** `items` rotated left by `by`: round r starts with case r mod k, so every case sits in every position. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length;
  if (k === 0) return [];
  const shift = ((by % k) + k) % k;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

export interface MeasureOptions {
  readonly rounds: number;
  /** Warm-up passes (every case once per group, untimed but checked) before round 1. */
  readonly warmup: readonly Group[];
  /** Progress lines on stderr start with this. */
  readonly label: string;
}

/**
 * Warms up, then runs `rounds` rounds; in each round every group runs all its cases in an order
 * rotated by the round's number, so ratios between two cases are taken in the same conditions.
 */
export async function measureRounds(groups: readonly Group[], options: MeasureOptions): Promise<Samples> {
  const started = Date.now();
  // Capped cases (too slow for every round) warm up only at the smallest warm-up size.
  const smallest = Math.min(...options.warmup.map((group) => group.n));
  for (const group of options.warmup) {
    for (const entry of group.cases) {
      const cap = capOf(entry, group.n);
      if (cap === Number.POSITIVE_INFINITY || (cap > 0 && group.n === smallest)) await sample(entry, group.n);
    }
  }
  progress(`${options.label}: warm-up done (${seconds(Date.now() - started)})`);
  const samples: Samples = {};
  for (const group of groups) {
    const byCase: Record<string, (Metrics | null)[]> = {};
    for (const entry of group.cases) byCase[entry.name] = [];
    samples[group.key] = byCase;
  }
  for (let round = 0; round < options.rounds; round += 1) {
    const roundStarted = Date.now();
    for (const group of groups) {
      const series = samples[group.key] as Record<string, (Metrics | null)[]>;
      for (const entry of rotate(group.cases, round)) {
        const list = series[entry.name] as (Metrics | null)[];
        list[round] = round < capOf(entry, group.n) ? await sample(entry, group.n) : null;
      }
    }
    progress(`${options.label}: round ${round + 1}/${options.rounds} (${seconds(Date.now() - roundStarted)})`);
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Statistics

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

export function stat(values: readonly number[]): Stat | undefined {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, count: sorted.length };
}

/** The values of one metric over the rounds a case took part in. */
export function series(samples: readonly (Metrics | null)[] | undefined, key: string): number[] {
  const values: number[] = [];
  for (const entry of samples ?? []) if (entry !== null && entry !== undefined && typeof entry[key] === 'number') values.push(entry[key]);
  return values;
}

/** `combine(a[r], b[r])` for every round r where both took part: ratios taken pair by pair. */
export function pairwise(
  a: readonly (Metrics | null)[] | undefined,
  b: readonly (Metrics | null)[] | undefined,
  key: string,
  combine: (x: number, y: number) => number = (x, y) => x / y,
): number[] {
  const values: number[] = [];
  const rounds = Math.min(a?.length ?? 0, b?.length ?? 0);
  for (let round = 0; round < rounds; round += 1) {
    const x = a?.[round]?.[key];
    const y = b?.[round]?.[key];
    if (typeof x === 'number' && typeof y === 'number') values.push(combine(x, y));
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio with about three significant digits. */
export function formatRatio(value: number): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${formatNumber(value, digits)}×`;
}

/** `median (min–max)` of a stat, each value through `format`. */
export function formatStat(value: Stat | undefined, format: (x: number) => string): string {
  if (value === undefined) return '—';
  if (value.count === 1) return `${format(value.median)} (1 round)`;
  return `${format(value.median)} (${format(value.min)}–${format(value.max)})`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A target verdict for the table: the build never fails on it. */
export function verdict(met: boolean | undefined): string {
  return met === undefined ? 'n/a' : met ? 'ok' : 'MISS';
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function renderTable(title: string, header: readonly string[], rows: readonly (readonly string[] | null)[], notes: readonly string[] = []): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row?.[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((sum, width) => sum + width, 0) + 2 * (widths.length - 1));
  const body = rows.map((row) => (row === null ? '' : line(row)));
  return [``, `== ${title}`, line(header), rule, ...body, ...notes.map((note) => `  ${note}`)].join('\n');
}

export function progress(message: string): void {
  process.stderr.write(`  · ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Results and environment

export interface Environment {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  /** 1-minute load average when the bench started: others' work on the machine skews every figure. */
  readonly loadAverage: number;
}

export function environment(): Environment {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    loadAverage: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}

/** Writes `<dir>/<name>.json` (through a .tmp file, so a crash never leaves half a file). */
export function writeResult(dir: string, name: string, data: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(temporary, path);
  return path;
}

export interface WorkerOptions {
  /** Node flags for the child, e.g. `--max-semi-space-size=64`. */
  readonly nodeFlags: readonly string[];
  /** The child is killed (and the benchmark counted as crashed) after this long. */
  readonly timeoutMs: number;
}

/**
 * Runs `bench/worker.ts <suite>` in a child node process with the same loader (tsx) and the given
 * flags; resolves with the JSON the worker wrote, rejects when it crashed or a check failed.
 */
export function runWorker<Result>(suite: string, config: unknown, options: WorkerOptions): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'stbass-bench-'));
  const outFile = join(dir, 'result.json');
  const args = [...process.execArgv, ...options.nodeFlags, join(__dirname, 'worker.ts'), suite, outFile];
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, STBASS_BENCH_CONFIG: JSON.stringify(config) },
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${suite}: worker killed after ${seconds(options.timeoutMs)} (hung?)`));
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`${suite} [${options.nodeFlags.join(' ') || 'default flags'}]: worker exited with ${signal ?? `code ${String(code)}`}`);
        resolve(JSON.parse(readFileSync(outFile, 'utf8')) as Result);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** `1000` → `1k`, `100000` → `100k`. */
export function shortN(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
