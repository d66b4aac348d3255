// Benchmark 6, memory: heap per pending process, with 100,000 processes parked on a slow backend
// (one whose execute never answers), measured after forced GC (the worker runs with --expose-gc).
// "total" counts everything from before the processes were built (the Process objects, the pairs,
// the group, the run); "run" counts only what starting the run added. Then the run is unsubscribed:
// every backend subscription must be torn down (a check), and "left" is what stays on the heap.
import { Observable, from } from 'rxjs';
import { type Case, type Metrics, type Profile, check, formatNumber, formatStat, measureRounds, renderTable, series, stat, verdict, summaries } from './harness';
import type { SuiteResult } from './caps';
import { items } from './overhead';
import { stbass } from './target';
import type { Backend, BackendRegistry, Process, ProcessResult } from '../lib/index';

export interface MemoryConfig {
  readonly profile: Profile;
  readonly rounds: number;
  readonly processes: number;
  readonly cap: number;
}

const TARGET_BYTES = 2048;

interface Parked {
  readonly totalBytes: number;
  readonly runBytes: number;
  readonly leftBytes: number;
  readonly subscribed: number;
  readonly torn: number;
  readonly settledEarly: boolean;
}

/** Heap in use after a full collection. */
async function heapUsed(): Promise<number> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const gc = globalThis.gc as (() => void) | undefined;
  if (gc === undefined) throw new Error('the memory benchmark needs node --expose-gc');
  gc();
  return process.memoryUsage().heapUsed;
}

/** A backend that never answers, counting the executions it was given and those torn down. */
function slowBackend(cap: number): { backend: Backend; counts: { subscribed: number; torn: number } } {
  const counts = { subscribed: 0, torn: 0 };
  const backend: Backend = {
    name: 'slow',
    concurrencyLimit: cap,
    execute: () =>
      new Observable<ProcessResult>(() => {
        counts.subscribed += 1;
        return () => {
          counts.torn += 1;
        };
      }),
  };
  return { backend, counts };
}

type Start = (processes: Process[], registry: BackendRegistry, onSettled: () => void) => { unsubscribe(): void };

function memoryCases(config: MemoryConfig): Case[] {
  const s = stbass();
  const placement = new s.Placement({ endpoint: 'slow' });
  const body = () => s.ProcessResult.ok(0);
  const parked = (name: string, cap: number, expectRunning: (n: number) => number, start: Start): Case<Parked> => ({
    name,
    role: 'stbass',
    run: async (n) => {
      const { backend, counts } = slowBackend(cap);
      const registry = new s.BackendRegistry().register('slow', backend);
      const list = items(n);
      // Everything the run holds lives in `held`, so that dropping it leaves only leaks behind.
      const held: { processes?: Process[]; run?: { unsubscribe(): void } } = {};
      let settledEarly = false;
      const base = await heapUsed();
      held.processes = list.map(() => s.Process('parked', body));
      const built = await heapUsed();
      held.run = start(held.processes, registry, () => (settledEarly = true));
      const pending = await heapUsed();
      const subscribed = counts.subscribed;
      held.run.unsubscribe();
      held.run = undefined;
      held.processes = undefined;
      const left = await heapUsed();
      return {
        totalBytes: (pending - base) / n,
        runBytes: (pending - built) / n,
        leftBytes: (left - base) / n,
        subscribed,
        torn: counts.torn,
        settledEarly,
      };
    },
    check: (out, n) => {
      check(!out.settledEarly, 'a parked process settled before the run was unsubscribed');
      check(out.subscribed === expectRunning(n), `expected ${expectRunning(n)} executions on the slow backend, got ${out.subscribed}`);
      check(out.torn === out.subscribed, `unsubscribing tore down ${out.torn} of ${out.subscribed} executions`);
    },
    metrics: (out): Metrics => ({ totalBytes: out.totalBytes, runBytes: out.runBytes, leftBytes: out.leftBytes }),
  });
  const group: Start = (processes, registry, onSettled) =>
    s
      .PLACED_PAR(...processes.map((parkedProcess) => [parkedProcess, placement] as const), { registry, onFailure: s.FailurePolicy.COLLECT })
      .result$.subscribe(onSettled);
  const stream: Start = (processes, registry, onSettled) =>
    from(items(processes.length))
      .pipe(s.mapPlaced((i: number) => [processes[i] as Process, placement] as const, { registry, onFailure: s.FailurePolicy.COLLECT }))
      .subscribe(onSettled);
  return [
    parked('PLACED_PAR, running on the slow backend', Number.POSITIVE_INFINITY, (n) => n, group),
    parked(`PLACED_PAR, waiting for a slot (cap ${config.cap})`, config.cap, (n) => Math.min(n, config.cap), group),
    parked('mapPlaced, running on the slow backend', Number.POSITIVE_INFINITY, (n) => n, stream),
  ];
}

export async function measureMemory(config: MemoryConfig): Promise<SuiteResult<MemoryConfig>> {
  const started = Date.now();
  const cases = memoryCases(config);
  const group = { key: `memory/${config.processes}`, n: config.processes, cases };
  const warmup = [{ key: 'warmup', n: Math.min(config.processes, 10_000), cases }];
  const samples = await measureRounds([group], { rounds: config.rounds, warmup, label: 'memory' });
  return { benchmark: 'memory', config, cases: summaries(cases), samples, elapsedMs: Date.now() - started };
}

export function reportMemory(result: SuiteResult<MemoryConfig>) {
  const { processes } = result.config;
  const byCase = result.samples[`memory/${processes}`] ?? {};
  const bytes = (x: number) => formatNumber(x);
  const rows = result.cases.map((entry) => {
    const total = stat(series(byCase[entry.name], 'totalBytes'));
    return {
      case: entry.name,
      totalBytes: total,
      runBytes: stat(series(byCase[entry.name], 'runBytes')),
      leftBytes: stat(series(byCase[entry.name], 'leftBytes')),
      met: total === undefined ? undefined : total.median <= TARGET_BYTES,
    };
  });
  const table = renderTable(
    `memory: heap per pending process, ${formatNumber(processes)} processes parked on a slow backend (after GC)`,
    ['case', 'total B/process', 'run only B/process', 'left after unsubscribe', `target ≤ ${TARGET_BYTES / 1024} KiB (total)`],
    rows.map((row) => [row.case, formatStat(row.totalBytes, bytes), formatStat(row.runBytes, bytes), formatStat(row.leftBytes, bytes), verdict(row.met)]),
    [
      'total: from before the Process objects were built; run only: what starting the run added (task, context, slot, subscriptions).',
      "the slow backend's own Observable subscription (about a Subscriber and a closure) is included; node --expose-gc, a full gc() before each reading.",
      'every execution must be torn down when the run is unsubscribed (a correctness check).',
    ],
  );
  const misses = rows.filter((row) => row.met === false).map((row) => `memory: ${row.case}`);
  return { table, summary: { targetBytes: TARGET_BYTES, rows }, misses };
}
