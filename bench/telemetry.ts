// Benchmark: the cost of OpenTelemetry on a run (`npm run bench:telemetry`, `-- --smoke` to only check it runs).
//
//   tsx bench/telemetry.ts [--smoke] [--baseline=<git ref, default: where HEAD left main>] [--out=<dir>]
//
// The same groups of N processes that resolve at once (the engine's own cost, nothing else) run on
// this engine and on the engine at <baseline> (compiled from git, before telemetry), paired round
// by round in one child process per mode, the order alternating, timed in CPU time of the child
// (user + system: other load on a shared machine disturbs it far less than wall time) and wall time:
//   absent  @opentelemetry/* cannot be found (as in an install without it); also the baseline
//           against itself, which is the noise floor the difference must be compared with;
//   api     the API installed, no provider registered: what most installs have (`ai` pulls it in);
//   noop    a registered provider whose tracer is the API's no-op one: every span made, none recorded;
//   sdk     the real SDK: BasicTracerProvider + SimpleSpanProcessor + InMemorySpanExporter, a
//           MeterProvider with a reader, and the AsyncLocalStorage context manager.
// Writes bench/results/telemetry.json (smoke: a temporary directory, unless --out).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { environment, quiesce, stat } from './harness';
import type * as Stbass from '../lib/index';
import type * as OtelApi from '@opentelemetry/api';
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as SdkMetrics from '@opentelemetry/sdk-metrics';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';

const root = join(__dirname, '..');
const load = createRequire(__filename);
const MODES = ['absent', 'api', 'noop', 'sdk'] as const;
type Mode = (typeof MODES)[number];

interface ModeResult {
  readonly mode: Mode;
  readonly n: number;
  readonly rounds: number;
  /** Median nanoseconds per process, by case: wall time, and CPU time (user + system) of the process. */
  readonly perProcess: Record<string, number>;
  readonly cpuPerProcess: Record<string, number>;
  /** Median over rounds of (case ÷ baseline, same round), with the min and max: wall time, CPU time. */
  readonly ratio: Record<string, Spread>;
  readonly cpuRatio: Record<string, Spread>;
}

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/** Compiles lib/ as it is at `ref` (from git, not the work tree) into `dir`/cjs; returns its index.js. */
function compileAt(ref: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', ref, 'lib'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  return compile(dir);
}

/** Compiles `dir`/lib with the build's settings into `dir`/cjs. */
function compile(dir: string): string {
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(root, 'tsconfig.build.json'), compilerOptions: { rootDir: 'lib', outDir: 'cjs', inlineSources: false, sourceMap: false }, include: ['lib'] }));
  execFileSync(process.execPath, [load.resolve('typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'pipe' });
  return join(dir, 'cjs', 'index.js');
}

/** Where this branch left main (the engine before this branch's changes), else HEAD. */
function forkPoint(): string {
  try {
    return execFileSync('git', ['merge-base', 'HEAD', 'main'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'HEAD';
  }
}

function main(): void {
  const smoke = process.argv.includes('--smoke');
  const ref = option('baseline') ?? forkPoint();
  // Inside node_modules, so that rxjs and zod resolve from the copies.
  const work = join(root, 'node_modules', '.cache', 'stbass-bench', `telemetry-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  try {
    process.stdout.write(`telemetry: compiling lib/ now and at ${ref}\n`);
    mkdirSync(join(work, 'current'), { recursive: true });
    execFileSync('cp', ['-r', join(root, 'lib'), join(work, 'current', 'lib')]);
    const current = compile(join(work, 'current'));
    const baseline = compileAt(ref, join(work, 'baseline'));
    const sizes = smoke ? [200] : [1_000, 10_000];
    const rounds = smoke ? 3 : 21;
    const results: ModeResult[] = [];
    for (const mode of MODES) {
      for (const n of sizes) {
        process.stdout.write(`telemetry: ${mode}, N = ${n}, ${rounds} rounds\n`);
        const preload = mode === 'absent' ? ['-r', join(root, 'spec', 'telemetry', 'fixtures', 'withoutOtel.ts')] : [];
        const child = spawnSync(process.execPath, ['--expose-gc', '-r', load.resolve('tsx/cjs'), ...preload, __filename, `--child=${mode}`, `--n=${n}`, `--rounds=${rounds}`], {
          env: { ...process.env, STBASS_BENCH_CURRENT: current, STBASS_BENCH_BASELINE: baseline },
          encoding: 'utf8',
          timeout: 600_000,
        });
        if (child.status !== 0) throw new Error(`the ${mode} child failed (${String(child.status)}): ${child.stderr}`);
        results.push(JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as ModeResult);
      }
    }
    const format = (value: Spread | undefined): string => (value === undefined ? '' : `${value.median.toFixed(3)} (${value.min.toFixed(2)}–${value.max.toFixed(2)})`);
    const lines = [
      '',
      `CPU time (user + system of the child) per process; ratios are medians of ${rounds} paired rounds (min–max). Wall time in the JSON.`,
      '',
      '| mode | N | baseline ns/process | this engine ns/process | this ÷ baseline | baseline ÷ baseline (noise) | wall: this ÷ baseline |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const result of results) {
      const cpu = result.cpuPerProcess;
      lines.push(`| ${result.mode} | ${result.n} | ${Math.round(cpu['baseline'] ?? 0)} | ${Math.round(cpu['current'] ?? 0)} | ${format(result.cpuRatio['current'])} | ${format(result.cpuRatio['baseline again'])} | ${format(result.ratio['current'])} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    const out = option('out') ?? (smoke ? mkdtempSync(join(tmpdir(), 'stbass-bench-')) : join(root, 'bench', 'results'));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'telemetry.json'), `${JSON.stringify({ benchmark: 'telemetry', baseline: ref, environment: environment(), results }, null, 2)}\n`);
    process.stdout.write(`telemetry: wrote ${join(out, 'telemetry.json')}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Registers what `mode` measures; returns what to do after each round (the SDK's spans dropped). */
function setUp(mode: Mode): { afterRound: () => number } {
  if (mode === 'absent' || mode === 'api') return { afterRound: () => 0 };
  const api = load('@opentelemetry/api') as typeof OtelApi;
  if (mode === 'noop') {
    const noop = new api.ProxyTracerProvider();
    api.trace.setGlobalTracerProvider({ getTracer: (name, version) => noop.getTracer(name, version) });
    return { afterRound: () => 0 };
  }
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = load('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
  const { MeterProvider, MetricReader } = load('@opentelemetry/sdk-metrics') as typeof SdkMetrics;
  const { AsyncLocalStorageContextManager } = load('@opentelemetry/context-async-hooks') as typeof ContextAsyncHooks;
  class Reader extends MetricReader {
    protected override onForceFlush(): Promise<void> {
      return Promise.resolve();
    }
    protected override onShutdown(): Promise<void> {
      return Promise.resolve();
    }
  }
  const exporter = new InMemorySpanExporter();
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  api.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new Reader()] }));
  return {
    afterRound: () => {
      const spans = exporter.getFinishedSpans().length;
      exporter.reset();
      return spans;
    },
  };
}

async function child(mode: Mode, n: number, rounds: number): Promise<void> {
  const { afterRound } = setUp(mode);
  const current = load(process.env.STBASS_BENCH_CURRENT ?? '') as typeof Stbass;
  const baseline = load(process.env.STBASS_BENCH_BASELINE ?? '') as typeof Stbass;
  const groupOf = (stbass: typeof Stbass): Stbass.PlacedPar<number> => stbass.PAR(...Array.from({ length: n }, (_, i) => stbass.Process(`p${i % 8}`, () => stbass.ProcessResult.ok(i))));
  const cases: Record<string, Stbass.PlacedPar<number>> = { baseline: groupOf(baseline), current: groupOf(current) };
  if (mode === 'absent') cases['baseline again'] = groupOf(baseline);
  const names = Object.keys(cases);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const cpuTimes: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  let lastCpu = 0;
  const runOnce = async (name: string): Promise<number> => {
    const group = cases[name];
    if (group === undefined) throw new Error(name);
    await quiesce();
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    const result = await group.run();
    const elapsed = Number(process.hrtime.bigint() - started);
    const spent = process.cpuUsage(cpu);
    lastCpu = (spent.user + spent.system) * 1000;
    if (!result.isOk || result.entries.length !== n) throw new Error(`${name}: the run did not come out right`);
    const spans = afterRound();
    // The real SDK records a span for the run and one per process: on this engine always, on a
    // baseline only if it is one with tracing (a baseline from before it records none).
    const expected = name === 'current' ? [n + 1] : [0, n + 1];
    if (mode === 'sdk' && !expected.includes(spans)) throw new Error(`${name}: ${spans} spans for ${n} processes`);
    return elapsed;
  };
  for (let warm = 0; warm < 3; warm += 1) for (const name of names) await runOnce(name);
  for (let round = 0; round < rounds; round += 1) {
    // The order rotates, so that neither case always runs first in a round.
    const order = names.map((_, i) => names[(i + round) % names.length] ?? '');
    for (const name of order) {
      times[name]?.push(await runOnce(name));
      cpuTimes[name]?.push(lastCpu);
    }
  }
  const summary = (samples: Record<string, number[]>): { perProcess: Record<string, number>; ratio: Record<string, Spread> } => {
    const perProcess: Record<string, number> = {};
    const ratio: Record<string, Spread> = {};
    const base = samples['baseline'] ?? [];
    for (const name of names) {
      perProcess[name] = (stat(samples[name] ?? [])?.median ?? 0) / n;
      if (name === 'baseline') continue;
      const paired = stat((samples[name] ?? []).map((time, round) => time / (base[round] ?? Number.NaN)));
      if (paired !== undefined) ratio[name] = { median: paired.median, min: paired.min, max: paired.max };
    }
    return { perProcess, ratio };
  };
  const wall = summary(times);
  const cpu = summary(cpuTimes);
  const result: ModeResult = { mode, n, rounds, perProcess: wall.perProcess, ratio: wall.ratio, cpuPerProcess: cpu.perProcess, cpuRatio: cpu.ratio };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const childMode = option('child');
if (childMode === undefined) main();
else void child(childMode as Mode, Number(option('n')), Number(option('rounds')));
