// Benchmark 4, caps: 400 processes of 10 ms each on a backend capped at 8. The ideal wall time is
// 400 / 8 × 10 ms = 500 ms on exact timers; the peak in flight must never pass the cap (a check) and
// should reach it (a target). The event loop's timers are late on every wake, and by how much is the
// machine's, not ours: so the floor, 8 bare chains of the same sleeps with no library, is sampled in
// the same rounds, and the target is judged against the ideal as those timers allow it (the floor's
// wall time, round by round). The nominal excess is printed beside it. p-limit(8) over the same
// sleeps is the yardstick of what a limiter costs.
import { from, lastValueFrom, toArray } from 'rxjs';
import { type Case, type CaseSummary, type Metrics, type Profile, type Samples, check, formatNumber, formatOverIdeal, formatStat, measureRounds, pairwise, renderTable, series, sleep, stat, verdict, warm, summaries } from './harness';
import { stbass } from './target';
import type { PARResult, ProcessResult } from '../lib/index';

export interface CapsConfig {
  readonly profile: Profile;
  readonly rounds: number;
  readonly processes: number;
  readonly durationMs: number;
  readonly cap: number;
}

export interface SuiteResult<Config> {
  readonly benchmark: string;
  readonly config: Config;
  readonly cases: readonly CaseSummary[];
  readonly samples: Samples;
  readonly elapsedMs: number;
}

const WALL_TOLERANCE = 0.05;

interface Tracked<Out> {
  readonly out: Out;
  readonly peak: number;
}

function capsCases(config: CapsConfig): Case[] {
  const s = stbass();
  const { cap, durationMs } = config;
  const tracker = { inFlight: 0, peak: 0 };
  const reset = () => {
    tracker.inFlight = 0;
    tracker.peak = 0;
  };
  const sleeper = async (): Promise<true> => {
    tracker.inFlight += 1;
    if (tracker.inFlight > tracker.peak) tracker.peak = tracker.inFlight;
    await sleep(durationMs);
    tracker.inFlight -= 1;
    return true;
  };
  const body = () => sleeper().then(() => s.ProcessResult.ok(true));
  const placement = new s.Placement({ endpoint: 'capped' });
  const registryWithCap = () => new s.BackendRegistry().register('capped', new s.LocalBackend({ concurrencyLimit: cap }));
  const checkPeak = (peak: number) => check(peak <= cap, `${peak} processes were in flight at once on a backend capped at ${cap}`);
  const metrics = (out: Tracked<unknown>): Metrics => ({ peak: out.peak });
  const registries = { group: registryWithCap(), stream: registryWithCap() };
  const processes = (n: number) => Array.from({ length: n }, () => s.Process('sleeper', body));
  const placedPar = {
    name: `PLACED_PAR on LocalBackend({ concurrencyLimit: ${cap} })`,
    role: 'stbass',
    run: async (n) => {
      reset();
      const out = await s.PLACED_PAR(...processes(n).map((sleeperProcess) => [sleeperProcess, placement] as const), { registry: registries.group, onFailure: s.FailurePolicy.COLLECT }).run();
      return { out, peak: tracker.peak };
    },
    check: ({ out, peak }, n) => {
      check(out.results.length === n && out.isOk, `expected ${n} successes, got ${out.successes.length} of ${out.results.length}`);
      checkPeak(peak);
    },
    metrics,
  } satisfies Case<Tracked<PARResult<boolean>>>;
  const floor = {
    name: `${cap} bare chains of the same sleeps (the floor)`,
    role: 'floor',
    run: async (n) => {
      reset();
      // Lane `lane` sleeps every cap-th time, so that the chains sleep n times in all.
      const chain = async (lane: number): Promise<number> => {
        let slept = 0;
        for (let index = lane; index < n; index += cap) {
          await sleeper();
          slept += 1;
        }
        return slept;
      };
      const slept = await Promise.all(Array.from({ length: cap }, (_, lane) => chain(lane)));
      return { out: slept.reduce((sum, count) => sum + count, 0), peak: tracker.peak };
    },
    check: ({ out, peak }, n) => {
      check(out === n, `expected ${n} sleeps, got ${out}`);
      checkPeak(peak);
    },
    metrics,
  } satisfies Case<Tracked<number>>;
  const reference = {
    name: `p-limit(${cap}) (reference)`,
    role: 'reference',
    run: async (n) => {
      reset();
      const { default: pLimit } = await import('p-limit');
      const limit = pLimit(cap);
      const out = await Promise.all(Array.from({ length: n }, () => limit(sleeper)));
      return { out, peak: tracker.peak };
    },
    check: ({ out, peak }, n) => {
      check(out.length === n, `expected ${n} results`);
      checkPeak(peak);
    },
    metrics,
  } satisfies Case<Tracked<true[]>>;
  return [
    floor,
    placedPar,
    {
      name: `mapPlaced on LocalBackend({ concurrencyLimit: ${cap} })`,
      role: 'stbass',
      run: async (n) => {
        reset();
        const list = processes(n);
        const out = await lastValueFrom(
          from(list).pipe(
            s.mapPlaced((sleeperProcess) => [sleeperProcess, placement] as const, { registry: registries.stream, onFailure: s.FailurePolicy.COLLECT }),
            toArray(),
          ),
        );
        return { out, peak: tracker.peak };
      },
      check: ({ out, peak }, n) => {
        check(out.length === n && out.every((result) => result.isOk), `expected ${n} successes`);
        checkPeak(peak);
      },
      metrics,
    } satisfies Case<Tracked<ProcessResult<boolean>[]>>,
    reference,
    // The same two sampled warm (see Case.warm): what a pause before a run costs (the forced GC, or
    // any idle time: its code and data come back cold), which a timer-bound run pays on every wake.
    warm(placedPar),
    warm(reference),
  ];
}

export async function measureCaps(config: CapsConfig): Promise<SuiteResult<CapsConfig>> {
  const started = Date.now();
  const cases = capsCases(config);
  const group = { key: `caps/${config.processes}`, n: config.processes, cases };
  // A short warm-up (a tenth of the processes): the runs are bound by timers, not by the JIT.
  const warmup = [{ key: 'warmup', n: Math.ceil(config.processes / 10), cases }];
  const samples = await measureRounds([group], { rounds: config.rounds, warmup, label: 'caps' });
  return { benchmark: 'caps', config, cases: summaries(cases), samples, elapsedMs: Date.now() - started };
}

export function reportCaps(result: SuiteResult<CapsConfig>) {
  const { processes, cap, durationMs } = result.config;
  const ideal = (processes / cap) * durationMs;
  const byCase = result.samples[`caps/${processes}`] ?? {};
  const floorCase = result.cases.find((entry) => entry.role === 'floor');
  const floorSamples = floorCase === undefined ? undefined : byCase[floorCase.name];
  const rows = result.cases.map((entry) => {
    const samples = byCase[entry.name];
    const wall = stat(series(samples, 'ns').map((ns) => ns / 1e6));
    const peak = stat(series(samples, 'peak'));
    const overIdeal = stat(series(samples, 'ns').map((ns) => ns / 1e6 / ideal - 1));
    // The ideal as the timers allow it: the floor's wall time in the same round.
    const overFloor = entry === floorCase ? undefined : stat(pairwise(samples, floorSamples, 'ns', (x, y) => x / y - 1));
    const wallMet = overFloor === undefined ? undefined : overFloor.median <= WALL_TOLERANCE;
    const peakMet = peak === undefined ? undefined : peak.min === cap && peak.max === cap;
    // A warm row is shown beside its case and judged by no target.
    const judged = entry.role === 'stbass' && entry.warm !== true;
    const label = judged ? undefined : entry.warm === true ? 'not judged' : entry.role;
    return { case: entry.name, label, judged, wallMs: wall, overIdeal, overFloor, peak, wallMet, peakMet };
  });
  const table = renderTable(
    `caps: ${processes} processes of ${durationMs} ms on a backend capped at ${cap} (ideal ${formatNumber(ideal)} ms on exact timers)`,
    ['case', 'wall ms median (min–max)', `vs ${formatNumber(ideal)} ms`, 'vs the floor, same round', 'peak in flight (min–max)', `targets: wall within 5% of the floor, peak exactly ${cap}`],
    rows.map((row) => [
      row.case,
      formatStat(row.wallMs, (x) => formatNumber(x, 1)),
      formatStat(row.overIdeal, formatOverIdeal),
      formatStat(row.overFloor, formatOverIdeal),
      formatStat(row.peak, (x) => formatNumber(x)),
      row.label === undefined ? `wall ${verdict(row.wallMet)}, peak ${verdict(row.peakMet)}` : `(${row.label})`,
    ]),
    [
      `the floor: the same sleeps chained on ${cap} lanes with no library, so its excess over ${formatNumber(ideal)} ms is what the event loop's timers add on this machine now.`,
      'a peak above the cap fails the run (a correctness check); the targets never do.',
      '", warm": the same case timed right after an untimed run of itself, with no GC forced in between (not judged); the others follow a forced major GC, a pause after which code and data come back cold (100 ms idle costs as much).',
    ],
  );
  const misses = rows.filter((row) => row.judged && (row.wallMet === false || row.peakMet === false)).map((row) => `caps: ${row.case}`);
  return { table, summary: { idealMs: ideal, rows }, misses };
}
