// Benchmark 5, deadline precision: 1,000 running processes that sleep 10 s and honour their
// signal, under a 100 ms deadline. How late does `run()` resolve, and did every signal abort by
// then? The floor is the same sleepers aborted by a plain setTimeout and AbortControllers.
import { performance } from 'node:perf_hooks';
import { type Case, type Profile, check, formatNumber, formatRatio, measureRounds, renderTable, series, stat, verdict, warm, summaries } from './harness';
import type { SuiteResult } from './caps';
import { stbass } from './target';
import type { PARResult, ProcessContext } from '../lib/index';

export interface DeadlineConfig {
  readonly profile: Profile;
  readonly rounds: number;
  readonly processes: number;
  readonly deadlineMs: number;
  readonly sleepMs: number;
}

/** The target (issue 10): run() settles no later than this many times the floor's lateness, in the same run. */
const FLOOR_FACTOR = 2;

interface Timed<Out> {
  readonly out: Out;
  readonly latenessMs: number;
  /** Processes whose body ran (and so listened to its signal) before the deadline. */
  readonly started: number;
  /** Of those, the signals aborted by the time the run resolved. */
  readonly aborted: number;
}

interface Counter {
  started: number;
  aborted: number;
}

/** Sleeps `ms` unless `signal` aborts first (then clears its timer, counts itself, and rejects). */
function sleeper<T>(ms: number, signal: AbortSignal, value: T, counter: Counter): Promise<T> {
  counter.started += 1;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => resolve(value), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        counter.aborted += 1;
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}

export function deadlineCases(config: DeadlineConfig): Case[] {
  const s = stbass();
  const { deadlineMs, sleepMs } = config;
  const registry = new s.BackendRegistry({ default: new s.LocalBackend() });
  const placement = new s.Placement({});
  const counter: Counter = { started: 0, aborted: 0 };
  const reset = () => {
    counter.started = 0;
    counter.aborted = 0;
  };
  const ok = s.ProcessResult.ok(true);
  const body = (ctx: ProcessContext) => sleeper(sleepMs, ctx.signal, ok, counter);
  const metrics = (out: Timed<unknown>) => ({ latenessMs: out.latenessMs, started: out.started, aborted: out.aborted });
  const checkAborted = ({ started, aborted }: Timed<unknown>) => check(aborted === started, `${started - aborted} of ${started} signals had not aborted when the run resolved`);
  const floor = {
    name: 'setTimeout + AbortController (floor)',
    role: 'floor',
    run: async (n) => {
      reset();
      const start = performance.now();
      const controllers = Array.from({ length: n }, () => new AbortController());
      setTimeout(() => {
        for (const controller of controllers) controller.abort(new Error('deadline'));
      }, deadlineMs);
      const out = await Promise.allSettled(controllers.map((controller) => sleeper(sleepMs, controller.signal, true, counter)));
      return { out, latenessMs: performance.now() - start - deadlineMs, started: counter.started, aborted: counter.aborted };
    },
    check: (timed, n) => {
      check(timed.out.length === n && timed.out.every((entry) => entry.status === 'rejected'), 'every sleeper should have been aborted');
      checkAborted(timed);
    },
    metrics,
  } satisfies Case<Timed<PromiseSettledResult<boolean>[]>>;
  const placedPar = {
    name: `PLACED_PAR, deadline ${deadlineMs / 1000} s`,
    role: 'stbass',
    run: async (n) => {
      reset();
      const group = s.PLACED_PAR(...Array.from({ length: n }, () => [s.Process('sleeper', body), placement] as const), {
        deadline: deadlineMs / 1000,
        onFailure: s.FailurePolicy.COLLECT,
        registry,
      });
      const start = performance.now();
      const out = await group.run();
      return { out, latenessMs: performance.now() - start - deadlineMs, started: counter.started, aborted: counter.aborted };
    },
    check: (timed, n) => {
      const { out } = timed;
      check(out.results.length === n, `expected ${n} results, got ${out.results.length}`);
      // Under heavy load, starting 1,000 processes can outlast 100 ms: the late ones never start
      // (phase "waiting"); "running at the deadline" in the table says how many did.
      const missed = out.failures.filter((failure) => failure.error instanceof s.DeadlineExceededError).length;
      check(missed === n, `expected ${n} DeadlineExceededError, got ${missed}`);
      checkAborted(timed);
    },
    metrics,
  } satisfies Case<Timed<PARResult<boolean>>>;
  // Both again sampled warm, each against its own floor (see Case.warm): after a major GC the
  // engine's walk runs as unoptimized code.
  return [floor, placedPar, warm(floor), warm(placedPar)];
}

export async function measureDeadline(config: DeadlineConfig): Promise<SuiteResult<DeadlineConfig>> {
  const started = Date.now();
  const cases = deadlineCases(config);
  const group = { key: `deadline/${config.processes}`, n: config.processes, cases };
  const samples = await measureRounds([group], { rounds: config.rounds, warmup: [group], label: 'deadline' });
  return { benchmark: 'deadline', config, cases: summaries(cases), samples, elapsedMs: Date.now() - started };
}

export function reportDeadline(result: SuiteResult<DeadlineConfig>) {
  const { processes, deadlineMs, sleepMs } = result.config;
  const byCase = result.samples[`deadline/${processes}`] ?? {};
  // A row is measured against the floor sampled the same way (warm or after the forced GC).
  const floorOf = (isWarm: boolean | undefined) => {
    const floorCase = result.cases.find((entry) => entry.role === 'floor' && (entry.warm === true) === (isWarm === true));
    return floorCase === undefined ? undefined : stat(series(byCase[floorCase.name], 'latenessMs'));
  };
  const rows = result.cases.map((entry) => {
    const floorLateness = floorOf(entry.warm);
    const isFloor = entry.role === 'floor';
    // A warm row is shown beside its case and judged by no target.
    const judged = entry.role === 'stbass' && entry.warm !== true;
    const lateness = stat(series(byCase[entry.name], 'latenessMs'));
    const started = series(byCase[entry.name], 'started');
    const aborted = series(byCase[entry.name], 'aborted');
    const allAborted = started.length === 0 ? undefined : started.every((value, round) => aborted[round] === value);
    const running = stat(started);
    const met = lateness === undefined || floorLateness === undefined ? undefined : lateness.median <= FLOOR_FACTOR * floorLateness.median;
    return { case: entry.name, isFloor, judged, floorLateness, latenessMs: lateness, running, allAborted, met };
  });
  const ms = (x: number) => formatNumber(x, 2);
  const table = renderTable(
    `deadline precision: ${formatNumber(processes)} processes sleeping ${sleepMs / 1000} s (honouring their signal), deadline ${deadlineMs} ms`,
    ['case', 'lateness ms median', 'max', 'min', 'running at the deadline (min)', 'every signal aborted', `target: median ≤ ${FLOOR_FACTOR}× the floor's`],
    rows.map((row) => [
      row.case,
      row.latenessMs === undefined ? '—' : ms(row.latenessMs.median),
      row.latenessMs === undefined ? '—' : ms(row.latenessMs.max),
      row.latenessMs === undefined ? '—' : ms(row.latenessMs.min),
      row.running === undefined ? '—' : formatNumber(row.running.min),
      row.allAborted === undefined ? '—' : row.allAborted ? 'yes' : 'NO',
      row.isFloor ? '(floor)' : row.latenessMs === undefined || row.floorLateness === undefined ? verdict(row.met) : `${formatRatio(row.latenessMs.median / row.floorLateness.median)}${row.judged ? `: ${verdict(row.met)}` : ' (not judged)'}`,
    ]),
    [
      `lateness: when run() resolved, minus ${deadlineMs} ms after it was called; ${series(byCase[result.cases[0]?.name ?? ''], 'latenessMs').length} rounds.`,
      'a signal left unaborted when run() resolves fails the run (a correctness check).',
      '", warm": the same case timed right after an untimed run of itself, with no GC forced in between, against the floor sampled the same way (not judged).',
    ],
  );
  const misses = rows.filter((row) => row.judged && row.met === false).map((row) => `deadline: ${row.case}`);
  return { table, summary: { rows }, misses };
}
