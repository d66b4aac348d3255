// Where does the time go? Runs one case of a benchmark under V8's CPU profiler (the one behind
// `node --cpu-prof`, started through the inspector so that only the measured runs are sampled,
// not start-up) and prints the functions with the most self time and the totals per file; with
// --alloc, also where the allocations come from (V8's sampling heap profiler).
//
//   tsx bench/cpu-profile.ts [case] [--n=100000] [--rounds=5] [--variant=immediate|setImmediate] [--alloc] [--source | --dist]
//   tsx bench/cpu-profile.ts --summarize <file.cpuprofile>     (e.g. one written by node --cpu-prof)
//
// [case] is a case name of the overhead, staggered-halt or deadline benchmark (default
// "PLACED_PAR COLLECT"), matched case-insensitively on a prefix. Profiles go to .perf/ (git-ignored).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, relative } from 'node:path';
import { deadlineCases } from './deadline';
import { type Case, quiesce, renderTable } from './harness';
import { type ScalingConfig, type Variant, overheadCases } from './overhead';
import { staggeredCases } from './staggered-halt';
import { resolveTarget } from './target';

const root = join(__dirname, '..');

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

interface HeapNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  if (path === '') return '(native)';
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length);
  return path.startsWith(root) ? relative(root, path) : path;
}

function frameKey(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
}

function fileKey(frame: CallFrame): string {
  const where = shortUrl(frame.url);
  return where.startsWith('rxjs/') ? 'rxjs (all files)' : where;
}

function topRows(map: Map<string, number>, count: number, total: number, unit: (value: number) => string): string[][] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, value]) => [key, unit(value), `${((100 * value) / total).toFixed(1)}%`]);
}

/** Top self-time functions and files of a CPU profile (idle time left out), as printable tables. */
export function summarizeCpu(profile: CpuProfile, title: string, top = 30): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id);
    const delta = profile.timeDeltas[index] ?? 0;
    if (frame === undefined || frame.functionName === '(idle)') return; // waiting on timers is not cost
    total += delta;
    byFunction.set(frameKey(frame), (byFunction.get(frameKey(frame)) ?? 0) + delta);
    byFile.set(fileKey(frame), (byFile.get(fileKey(frame)) ?? 0) + delta);
  });
  const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
  return [
    renderTable(`top ${top} functions by self time (${(total / 1e6).toFixed(2)} s busy, idle left out) — ${title}`, ['function  file:line', 'self', 'share'], topRows(byFunction, top, total, ms)),
    renderTable('self time per file', ['file', 'self', 'share'], topRows(byFile, 15, total, ms)),
  ].join('\n');
}

/** Top allocating functions of a sampling heap profile. */
function summarizeAllocations(head: HeapNode, title: string, top = 20): string {
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode) => {
    if (node.selfSize > 0) {
      total += node.selfSize;
      byFunction.set(frameKey(node.callFrame), (byFunction.get(frameKey(node.callFrame)) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(head);
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return renderTable(`top ${top} allocating functions (sampled, garbage included) — ${title}`, ['function  file:line', 'allocated', 'share'], topRows(byFunction, top, total, mb));
}

async function findCase(name: string, variant: Variant, n: number, rounds: number): Promise<Case> {
  const config: ScalingConfig = { profile: 'quick', label: 'cpu-prof', ns: [n], variants: [variant], rounds, warmupNs: [], capped: [] };
  const deadline = deadlineCases({ profile: 'quick', rounds, processes: n, deadlineMs: 100, sleepMs: 10_000 });
  const cases: Case[] = [...(await overheadCases(variant, config)), ...staggeredCases(), ...deadline];
  const entry = cases.find((candidate) => candidate.name.toLowerCase().startsWith(name.toLowerCase()));
  if (entry === undefined) throw new Error(`no case "${name}"; cases: ${cases.map((candidate) => candidate.name).join(', ')}`);
  return entry;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (key: string) => args.find((arg) => arg.startsWith(`--${key}=`))?.slice(key.length + 3);
  if (args[0] === '--summarize') {
    const file = args[1] ?? '';
    process.stdout.write(`${summarizeCpu(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, relative(process.cwd(), file))}\n`);
    return;
  }
  const name = args.find((arg) => !arg.startsWith('--')) ?? 'PLACED_PAR COLLECT';
  const n = Number(option('n') ?? 100_000);
  const rounds = Number(option('rounds') ?? 5);
  const variant = (option('variant') ?? 'immediate') as Variant;
  const target = resolveTarget(args.includes('--source') ? 'source' : args.includes('--dist') ? 'dist' : 'auto');
  process.env.STBASS_BENCH_TARGET = target.entry;
  process.setSourceMapsEnabled(false); // as in bench/worker.ts: tsx's source maps are not stbass's cost
  process.stdout.write(`measured: ${target.description}\n`);
  try {
    await profileCase(args, name, variant, n, rounds);
  } finally {
    target.dispose();
  }
}

async function profileCase(args: readonly string[], name: string, variant: Variant, n: number, rounds: number): Promise<void> {
  const entry = await findCase(name, variant, n, rounds);
  const warm = Math.min(n, 10_000);
  for (let round = 0; round < 3; round += 1) entry.check(await entry.run(warm), warm);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  if (args.includes('--alloc')) {
    await session.post('HeapProfiler.enable');
    // Count garbage too: what the scavenger has to sweep is the point.
    await session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  process.stderr.write(`profiling ${entry.name} (${variant}) at N=${n}: ${rounds} runs after 3 warm-up runs at N=${warm}\n`);
  await quiesce();
  await session.post('Profiler.start');
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round += 1) entry.check(await entry.run(n), n);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  const heap = args.includes('--alloc') ? ((await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: HeapNode } }).profile : undefined;
  const dir = join(root, '.perf');
  mkdirSync(dir, { recursive: true });
  const slug = `${entry.name.replace(/[^A-Za-z0-9]+/g, '-')}-${variant}-${n}`;
  const file = join(dir, `${slug}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  process.stdout.write(`${rounds} runs in ${elapsed.toFixed(0)} ms (${((elapsed * 1e6) / (rounds * n)).toFixed(0)} ns per process while profiled)\n`);
  process.stdout.write(`${summarizeCpu(profile, relative(process.cwd(), file))}\n`);
  if (heap !== undefined) {
    writeFileSync(join(dir, `${slug}.heapprofile`), JSON.stringify(heap));
    process.stdout.write(`${summarizeAllocations(heap.head, `${slug}.heapprofile`)}\n`);
  }
  session.disconnect();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
