// Benchmark 7, rates: 2,000 instant processes on a backend whose rateLimit is 500 requests per
// second. The limit is a sliding window, so the first 500 start at once and each later 500 as the
// window slides past the ones before: starts at 0, 1, 2 and 3 s, the ideal wall time is
// (2,000 / 500 - 1) × 1 s = 3 s (a smooth limiter spacing starts 2 ms apart would take 4 s: n / rate).
// A check: never more than 500 bodies start in any window of one second. A target: the wall time
// within 5% of the ideal. p-queue({ intervalCap: 500, interval: 1000 }), a fixed window, is the
// yardstick of what timers allow.
import { type SchedulerAction, type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import { type Case, type Metrics, type Profile, check, formatNumber, formatOverIdeal, formatStat, measureRounds, renderTable, series, stat, verdict, summaries } from './harness';
import type { SuiteResult } from './caps';
import { stbass } from './target';
import type { PARResult } from '../lib/index';

export interface RatesConfig {
  readonly profile: Profile;
  readonly rounds: number;
  readonly processes: number;
  /** Starts allowed per second. */
  readonly limit: number;
}

const WALL_TOLERANCE = 0.05;
const WINDOW_MS = 1_000;

interface Tracked<Out> {
  readonly out: Out;
  readonly starts: number[];
}

/** The most of `times` (sorted, ms) in any window [t, t + width). */
function mostInAnyWindow(times: readonly number[], width: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last += 1) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= width) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/**
 * The run's clock for the check: Date.now(), read once per synchronous turn (every reading until
 * the turn's microtasks run gets the same instant). A body then reads exactly the instant the
 * engine admitted it at; with Date.now() itself, a busy machine that pauses the process between
 * the engine's reading and the body's (we saw 30 ms at a load of 13) shows a window of 501 that the
 * engine never allowed. A delay is from that instant, as a scheduler's delays are from its `now()`:
 * asyncScheduler's timer is shortened by the time the turn has run since.
 */
function turnClock(): SchedulerLike {
  let instant: number | undefined;
  const forget = (): void => {
    instant = undefined;
  };
  const now = (): number => {
    if (instant === undefined) {
      instant = Date.now();
      queueMicrotask(forget);
    }
    return instant;
  };
  return {
    now,
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      return asyncScheduler.schedule(work, Math.max(0, now() + delay - Date.now()), state);
    },
  };
}

function ratesCases(config: RatesConfig): Case[] {
  const s = stbass();
  const { limit } = config;
  let starts: number[] = [];
  const scheduler = turnClock();
  const placement = new s.Placement({ endpoint: 'rated' });
  // A fresh backend each round: the window of the previous round must not slow the next.
  const registry = () => {
    class RatedBackend extends s.LocalBackend {
      override readonly rateLimit = { requests: { limit, per: WINDOW_MS / 1000 } };
    }
    return new s.BackendRegistry().register('rated', new RatedBackend());
  };
  const processes = (n: number) =>
    Array.from({ length: n }, () =>
      s.Process('instant', (ctx) => {
        starts.push(ctx.now());
        return s.ProcessResult.ok(true);
      }),
    );
  const checkWindow = (times: number[]) => {
    const most = mostInAnyWindow([...times].sort((a, b) => a - b), WINDOW_MS);
    check(most <= limit, `${most} processes started within one second on a backend limited to ${limit} a second`);
  };
  return [
    {
      name: `PLACED_PAR, rateLimit ${limit}/s`,
      role: 'stbass',
      run: async (n) => {
        const list = processes(n);
        const options = { registry: registry(), scheduler, onFailure: s.FailurePolicy.COLLECT };
        starts = [];
        const out = await s.PLACED_PAR(...list.map((process) => [process, placement] as const), options).run();
        return { out, starts };
      },
      check: ({ out, starts: times }, n) => {
        check(out.results.length === n && out.isOk, `expected ${n} successes, got ${out.successes.length} of ${out.results.length}`);
        checkWindow(times);
      },
      metrics: ({ starts: times }): Metrics => ({ lastStartMs: Math.max(...times) - Math.min(...times) }),
    } satisfies Case<Tracked<PARResult<boolean>>>,
    {
      name: `p-queue({ intervalCap: ${limit}, interval: 1000 }) (reference)`,
      role: 'reference',
      run: async (n) => {
        const { default: PQueue } = await import('p-queue');
        const queue = new PQueue({ intervalCap: limit, interval: WINDOW_MS });
        starts = [];
        const out = await Promise.all(Array.from({ length: n }, () => queue.add(() => starts.push(Date.now()))));
        return { out, starts };
      },
      check: ({ out }, n) => check(out.length === n, `expected ${n} results`),
      metrics: ({ starts: times }): Metrics => ({ lastStartMs: Math.max(...times) - Math.min(...times) }),
    } satisfies Case<Tracked<number[]>>,
  ];
}

export async function measureRates(config: RatesConfig): Promise<SuiteResult<RatesConfig>> {
  const started = Date.now();
  const cases = ratesCases(config);
  const group = { key: `rates/${config.processes}`, n: config.processes, cases };
  // A warm-up of one window's worth: it all starts at once, so it costs the JIT's time, not the clock's.
  const warmup = [{ key: 'warmup', n: config.limit, cases }];
  const samples = await measureRounds([group], { rounds: config.rounds, warmup, label: 'rates' });
  return { benchmark: 'rates', config, cases: summaries(cases), samples, elapsedMs: Date.now() - started };
}

/** The ideal wall time of a sliding window: the last batch starts when the window has slid `batches - 1` times. */
export function idealRatesMs(processes: number, limit: number): number {
  return (Math.ceil(processes / limit) - 1) * WINDOW_MS;
}

export function reportRates(result: SuiteResult<RatesConfig>) {
  const { processes, limit } = result.config;
  const ideal = idealRatesMs(processes, limit);
  const byCase = result.samples[`rates/${processes}`] ?? {};
  const rows = result.cases.map((entry) => {
    const wall = stat(series(byCase[entry.name], 'ns').map((ns) => ns / 1e6));
    const overIdeal = stat(series(byCase[entry.name], 'ns').map((ns) => ns / 1e6 / ideal - 1));
    const lastStart = stat(series(byCase[entry.name], 'lastStartMs'));
    const wallMet = wall === undefined ? undefined : Math.abs(wall.median / ideal - 1) <= WALL_TOLERANCE;
    return { case: entry.name, role: entry.role, wallMs: wall, overIdeal, lastStartMs: lastStart, wallMet };
  });
  const table = renderTable(
    `rates: ${processes} instant processes on a rateLimit of ${limit} a second (ideal ${formatNumber(ideal)} ms: starts at 0, 1, 2... s)`,
    ['case', 'wall ms median (min–max)', 'vs ideal', 'first to last start ms', 'target: wall within 5%'],
    rows.map((row) => [
      row.case,
      formatStat(row.wallMs, (x) => formatNumber(x, 1)),
      formatStat(row.overIdeal, formatOverIdeal),
      formatStat(row.lastStartMs, (x) => formatNumber(x)),
      row.role === 'reference' ? '(reference)' : verdict(row.wallMet),
    ]),
    [`more than ${limit} starts in a second fails the run (a correctness check); the target never does.`],
  );
  const misses = rows.filter((row) => row.role !== 'reference' && row.wallMet === false).map((row) => `rates: ${row.case}`);
  return { table, summary: { idealMs: ideal, rows }, misses };
}
