// stbass benchmarks: `npm run bench` (quick profile), `npm run bench -- --full`, `npm run bench:smoke`.
//
//   tsx bench/index.ts [--full | --smoke] [--only=overhead,staggered-halt,caps,deadline,memory,rates]
//                      [--source | --dist] [--out=<dir>]
//
// Every benchmark runs in child processes (bench/worker.ts), prints a table and writes
// bench/results/<name>.json (smoke: a temporary directory, unless --out). The exit status is
// non-zero only when a benchmark crashed or one of its correctness checks failed, never because a
// target was missed.
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type CapsConfig, type SuiteResult, reportCaps } from './caps';
import { type DeadlineConfig, reportDeadline } from './deadline';
import { SEMI_SPACE_FLAG, growthRows, growthTable } from './growth';
import { type Profile, environment, runWorker, seconds, writeResult } from './harness';
import { type MemoryConfig, reportMemory } from './memory';
import { type RatesConfig, reportRates } from './rates';
import { EFFECT, FLOOR, MERGE_MAP, P_QUEUE, type ScalingConfig, type ScalingResult, floorCaveats, overheadNotes, overheadRows, scalingTable } from './overhead';
import { STAGGERED_NOTES, STAGGER_FLOOR, staggeredRows } from './staggered-halt';
import { type Target, resolveTarget } from './target';

const BENCHMARKS = ['overhead', 'staggered-halt', 'caps', 'deadline', 'memory', 'rates'] as const;
type Benchmark = (typeof BENCHMARKS)[number];

interface Plan {
  readonly overhead: { readonly unflagged: ScalingConfig; readonly flagged: ScalingConfig };
  readonly staggered: { readonly unflagged: ScalingConfig; readonly flagged: ScalingConfig };
  readonly caps: CapsConfig;
  readonly deadline: DeadlineConfig;
  readonly memory: MemoryConfig;
  readonly rates: RatesConfig;
  /** A worker still running after this long is killed and counted as crashed. */
  readonly workerTimeoutMs: number;
}

function scaling(profile: Profile, label: string, fields: Omit<ScalingConfig, 'profile' | 'label'>): ScalingConfig {
  return { profile, label, ...fields };
}

function plan(profile: Profile): Plan {
  const semi = `${SEMI_SPACE_FLAG}`;
  const fixed = { processes: 400, durationMs: 10, cap: 8 };
  const deadline = { processes: 1_000, deadlineMs: 100, sleepMs: 10_000 };
  const both = ['immediate', 'setImmediate'] as const;
  switch (profile) {
    case 'smoke': {
      // N = 1,000 (and 100, so that growth is computed), 2 rounds: it only has to run and check.
      const common = { ns: [100, 1_000], rounds: 2, warmupNs: [100], capped: [] } as const;
      return {
        overhead: { unflagged: scaling(profile, 'default flags', { ...common, variants: both }), flagged: scaling(profile, semi, { ...common, variants: both }) },
        staggered: { unflagged: scaling(profile, 'default flags', { ...common, variants: ['immediate'] }), flagged: scaling(profile, semi, { ...common, variants: ['immediate'] }) },
        caps: { profile, rounds: 2, ...fixed },
        deadline: { profile, rounds: 2, ...deadline },
        memory: { profile, rounds: 2, processes: 1_000, cap: 8 },
        // 200 on 100 a second: a 1 s run, once, only to run the case and its window check.
        rates: { profile, rounds: 1, processes: 200, limit: 100 },
        workerTimeoutMs: 120_000,
      };
    }
    case 'quick': {
      const all = [1_000, 10_000, 100_000];
      // Under 3 minutes on 2 cores. Every stbass case and the floor run all 7 rounds at every N; the
      // slow contenders are capped: raw mergeMap is quadratic (~8 s a run at 100k: one round, at once
      // only), Effect costs 100–400 µs an item (3 rounds at 1k), p-queue ~35 µs (3 rounds at 10k),
      // p-limit ~10 µs runs every round (the engine is judged against it at 100k, pair by pair: 3
      // rounds left its median to one or two noisy pairs). Growth under the flag skips setImmediate and mergeMap.
      const peers = [
        { case: EFFECT, fromN: 1_000, rounds: 3 },
        { case: EFFECT, fromN: 10_000, rounds: 0 },
        { case: P_QUEUE, fromN: 10_000, rounds: 3 },
        { case: P_QUEUE, fromN: 100_000, rounds: 0 },
      ] as const;
      const capped = [...peers, { case: MERGE_MAP, fromN: 100_000, rounds: 1, variant: 'immediate' }, { case: MERGE_MAP, fromN: 100_000, rounds: 0, variant: 'setImmediate' }] as const;
      const cappedFlagged = [...peers, { case: MERGE_MAP, fromN: 100_000, rounds: 0 }] as const;
      return {
        overhead: {
          unflagged: scaling(profile, 'default flags', { ns: all, rounds: 7, warmupNs: [1_000, 10_000], variants: both, capped }),
          flagged: scaling(profile, semi, { ns: [10_000, 100_000], rounds: 7, warmupNs: [10_000], variants: ['immediate'], capped: cappedFlagged }),
        },
        staggered: {
          unflagged: scaling(profile, 'default flags', { ns: all, rounds: 7, warmupNs: [1_000, 10_000], variants: ['immediate'], capped: [] }),
          flagged: scaling(profile, semi, { ns: [10_000, 100_000], rounds: 7, warmupNs: [10_000], variants: ['immediate'], capped: [] }),
        },
        caps: { profile, rounds: 7, ...fixed },
        deadline: { profile, rounds: 10, ...deadline },
        memory: { profile, rounds: 7, processes: 100_000, cap: 8 },
        // Bound by the clock: 3 s a sample, for stbass and p-queue; 5 rounds are 30 s.
        rates: { profile, rounds: 5, processes: 2_000, limit: 500 },
        workerTimeoutMs: 600_000,
      };
    }
    case 'full': {
      const all = [1_000, 10_000, 100_000];
      const capped = [
        { case: MERGE_MAP, fromN: 100_000, rounds: 3 },
        { case: EFFECT, fromN: 10_000, rounds: 7 },
        { case: EFFECT, fromN: 100_000, rounds: 2 },
      ] as const;
      return {
        overhead: {
          unflagged: scaling(profile, 'default flags', { ns: all, rounds: 15, warmupNs: all, variants: both, capped }),
          flagged: scaling(profile, semi, { ns: [10_000, 100_000], rounds: 15, warmupNs: [10_000, 100_000], variants: both, capped }),
        },
        staggered: {
          unflagged: scaling(profile, 'default flags', { ns: all, rounds: 15, warmupNs: all, variants: ['immediate'], capped: [] }),
          flagged: scaling(profile, semi, { ns: [10_000, 100_000], rounds: 15, warmupNs: [10_000, 100_000], variants: ['immediate'], capped: [] }),
        },
        caps: { profile, rounds: 15, ...fixed },
        deadline: { profile, rounds: 30, ...deadline },
        memory: { profile, rounds: 11, processes: 100_000, cap: 8 },
        rates: { profile, rounds: 11, processes: 2_000, limit: 500 },
        workerTimeoutMs: 3_600_000,
      };
    }
  }
}

interface Options {
  readonly profile: Profile;
  readonly only: readonly Benchmark[];
  readonly targetMode: 'auto' | 'dist' | 'source';
  readonly outDir: string;
}

function parseArgs(argv: readonly string[]): Options {
  let profile: Profile = 'quick';
  let only: Benchmark[] = [...BENCHMARKS];
  let targetMode: Options['targetMode'] = 'auto';
  let outDir: string | undefined;
  for (const arg of argv) {
    if (arg === '--full') profile = 'full';
    else if (arg === '--smoke') profile = 'smoke';
    else if (arg === '--quick') profile = 'quick';
    else if (arg === '--source') targetMode = 'source';
    else if (arg === '--dist') targetMode = 'dist';
    else if (arg.startsWith('--only=')) {
      const names = arg.slice('--only='.length).split(',').filter(Boolean);
      const unknown = names.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
      if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${BENCHMARKS.join(', ')})`);
      only = names as Benchmark[];
    } else if (arg.startsWith('--out=')) outDir = arg.slice('--out='.length);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: tsx bench/index.ts [--full | --smoke] [--only=a,b] [--source | --dist] [--out=<dir>]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  const defaultOut = profile === 'smoke' ? join(tmpdir(), 'stbass-bench-smoke') : join(__dirname, 'results');
  return { profile, only, targetMode, outDir: outDir ?? defaultOut };
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const target: Target = resolveTarget(options.targetMode);
  process.env.STBASS_BENCH_TARGET = target.entry;
  process.once('SIGINT', () => {
    target.dispose();
    process.exit(130);
  });
  try {
    return await runAll(options, target, started);
  } finally {
    target.dispose();
  }
}

async function runAll(options: Options, target: Target, started: number): Promise<number> {
  const env = environment();
  const the = plan(options.profile);
  console.log(`stbass benchmarks: ${options.profile} profile`);
  console.log(`measured: ${target.description}`);
  for (const warning of target.warnings) console.log(`warning: ${warning}`);
  console.log(`${env.node}, ${env.platform}, ${env.cpu} × ${env.cores}; load average ${env.loadAverage}${env.loadAverage > env.cores / 2 ? ' (busy machine: expect noisy figures)' : ''}`);

  const meta = (benchmark: string, flags: Record<string, string[]>) => ({
    benchmark,
    profile: options.profile,
    measured: { kind: target.kind, description: target.description, warnings: target.warnings },
    environment: env,
    nodeFlags: flags,
  });
  const written: string[] = [];
  const failures: string[] = [];
  const misses: string[] = [];
  const worker = <Result>(suite: string, config: unknown, nodeFlags: string[]) => runWorker<Result>(suite, config, { nodeFlags, timeoutMs: the.workerTimeoutMs });
  const attempt = async (name: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      failures.push(name);
      console.log(`\n!! ${name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const unflaggedFlags = ['--expose-gc'];
  const flaggedFlags = ['--expose-gc', SEMI_SPACE_FLAG];
  const scalingFlags = { unflagged: unflaggedFlags, flagged: flaggedFlags };

  let overhead: { unflagged?: ScalingResult; flagged?: ScalingResult } = {};
  let staggered: { unflagged?: ScalingResult; flagged?: ScalingResult } = {};

  if (options.only.includes('overhead')) {
    await attempt('overhead', async () => {
      const unflagged = await worker<ScalingResult>('overhead', the.overhead.unflagged, unflaggedFlags);
      overhead = { unflagged };
      const rows = overheadRows(unflagged);
      console.log(scalingTable(`overhead per process (default flags; ${unflagged.config.rounds} rounds)`, rows, FLOOR, unflagged.config.rounds, [...overheadNotes(unflagged), ...floorCaveats(rows, FLOOR)]));
      misses.push(...rows.filter((row) => row.target?.met === false).map((row) => `overhead: ${row.case} ${row.variant} (${row.ratioToFloor?.median.toFixed(1)}×)`));
      const flagged = await worker<ScalingResult>('overhead', the.overhead.flagged, flaggedFlags);
      overhead = { unflagged, flagged };
      written.push(writeResult(options.outDir, 'overhead', { ...meta('overhead', scalingFlags), rows, samples: { unflagged, flagged } }));
    });
  }
  if (options.only.includes('staggered-halt')) {
    await attempt('staggered-halt', async () => {
      const unflagged = await worker<ScalingResult>('staggered-halt', the.staggered.unflagged, unflaggedFlags);
      const flagged = await worker<ScalingResult>('staggered-halt', the.staggered.flagged, flaggedFlags);
      staggered = { unflagged, flagged };
      const rows = staggeredRows(unflagged);
      console.log(scalingTable(`HALT under staggered completion (default flags; ${unflagged.config.rounds} rounds)`, rows, STAGGER_FLOOR, unflagged.config.rounds, [...STAGGERED_NOTES, ...floorCaveats(rows, STAGGER_FLOOR)], false));
      written.push(writeResult(options.outDir, 'staggered-halt', { ...meta('staggered-halt', scalingFlags), rows, samples: { unflagged, flagged } }));
    });
  }
  if (overhead.flagged !== undefined || overhead.unflagged !== undefined || staggered.flagged !== undefined || staggered.unflagged !== undefined) {
    const rows = growthRows([
      { benchmark: 'overhead', flagged: overhead.flagged, unflagged: overhead.unflagged },
      { benchmark: 'staggered', flagged: staggered.flagged, unflagged: staggered.unflagged },
    ]);
    console.log(growthTable(rows));
    misses.push(...rows.filter((row) => row.met === false).map((row) => `growth: ${row.benchmark} ${row.case} ${row.variant} (${row.flagged?.median.toFixed(1)})`));
    written.push(writeResult(options.outDir, 'growth', { ...meta('growth', scalingFlags), rows }));
  }
  const simple = async <Config>(name: Benchmark, config: Config, nodeFlags: string[], report: (result: SuiteResult<Config>) => { table: string; summary: unknown; misses: string[] }) => {
    if (!options.only.includes(name)) return;
    await attempt(name, async () => {
      const result = await worker<SuiteResult<Config>>(name, config, nodeFlags);
      const { table, summary, misses: missed } = report(result);
      console.log(table);
      misses.push(...missed);
      written.push(writeResult(options.outDir, name, { ...meta(name, { run: nodeFlags }), summary, samples: result }));
    });
  };
  await simple('caps', the.caps, ['--expose-gc'], reportCaps);
  await simple('deadline', the.deadline, ['--expose-gc'], reportDeadline);
  await simple('memory', the.memory, ['--expose-gc'], reportMemory);
  await simple('rates', the.rates, ['--expose-gc'], reportRates);

  console.log(`\n${options.profile} profile done in ${seconds(Date.now() - started)} (load average now ${loadavg()[0]?.toFixed(2) ?? '?'}); measured ${target.description}`);
  console.log(`results: ${written.map((path) => relative(process.cwd(), path)).join(', ') || 'none'}`);
  if (misses.length > 0) console.log(`targets missed (reported, not enforced): ${misses.length}\n  ${misses.join('\n  ')}`);
  if (failures.length > 0) {
    console.log(`FAILED (crash or correctness check): ${failures.join(', ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
