// The hand-written operators of lib/par beside the stock RxJS operators they replace, at 10k and
// 100k inners: what the cost per inner does when the count grows tenfold (linear: the same).
//
//   npm run bench:operators [-- --rounds=5] [-- --smoke: 1k and 10k, one round, nothing written]
//
// - merge: N inners live at once, completed in arrival order. mergeMap(fn, Infinity) adds each to its
//   parent's finalizer array and splices it out when it ends; mergePlaced keeps a list.
// - cut: N live inners stopped at once, each then reporting its settlement. A takeUntil per inner on
//   one Subject is removed from the Subject's observer array one by one; mergePlaced walks its list
//   once.
// - lane: N inners through a cap of 8, each ending a microtask after it starts. mergeMap(fn, 8)
//   buffers the waiting values in an array consumed with shift(); withSlot queues them in a list.
// RxJS's cases at 100k run one round each: they take seconds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NEVER, Observable, type OperatorFunction, Subject, asyncScheduler, defaultIfEmpty, defer, from, mergeMap, takeUntil } from 'rxjs';
import { BackendRegistry, FailurePolicy, Placement, Process, ProcessResult, type Backend } from '../lib';
import { type Stop, mergePlaced } from '../lib/par/mergePlaced';
import { BackendSlots } from '../lib/par/slots';
import { type EngineEvent, type PlacedTask, type RunSettings, placeTask } from '../lib/par/task';
import { withSlot } from '../lib/par/withSlot';
import { formatNumber, renderTable } from './harness';

const smoke = process.argv.includes('--smoke');
const rounds = smoke ? 1 : Number(process.argv.find((arg) => arg.startsWith('--rounds='))?.split('=')[1] ?? 3);
const [SMALL, LARGE] = smoke ? [1_000, 10_000] : [10_000, 100_000];
const gc = (globalThis as { gc?: () => void }).gc;

type Event = EngineEvent<number>;
const settings: RunSettings = {
  policy: FailurePolicy.COLLECT,
  registry: new BackendRegistry(),
  scheduler: asyncScheduler,
  now: () => asyncScheduler.now(),
  parent: undefined,
  deadline: undefined,
  deadlineAt: undefined,
  verbose: false,
  deadlinePassed: new Subject<void>(),
};
const process1 = Process('p', () => ProcessResult.ok(1));
const placement = new Placement({});
const ok = ProcessResult.ok(1);
const tasks = (n: number): PlacedTask<number>[] => Array.from({ length: n }, (_, index) => placeTask(index, process1, placement, settings));
const settled = (task: PlacedTask<number>): Event => ({ type: 'settled', task, result: ok });

/** Subscribes `source` through `operator`; resolves with the count of events once it completes. */
function drain(source: Observable<PlacedTask<number>>, operator: OperatorFunction<PlacedTask<number>, Event>, after?: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    source.pipe(operator).subscribe({ next: () => (count += 1), error: reject, complete: () => resolve(count) });
    after?.();
  });
}

interface Case {
  readonly scenario: 'merge' | 'cut' | 'lane';
  readonly name: string;
  readonly rxjs: boolean;
  /** Runs the scenario over `items`; resolves with the events seen. */
  run(items: PlacedTask<number>[]): Promise<number>;
}

/** Inners that end when `endAll` is called, in the order they were subscribed. */
function fifoInners(): { inner: (task: PlacedTask<number>) => Observable<Event>; endAll: () => void } {
  let pending: (() => void)[] = [];
  return {
    inner: (task) =>
      new Observable<Event>((subscriber) => {
        pending.push(() => {
          subscriber.next(settled(task));
          subscriber.complete();
        });
      }),
    endAll: () => {
      const all = pending;
      pending = [];
      for (const end of all) end();
    },
  };
}

const lane: Backend = { name: 'lane', concurrencyLimit: 8, execute: (process, ctx) => process.execute$(ctx) };
const soon = (task: PlacedTask<number>): Observable<Event> => defer(() => Promise.resolve(settled(task)));
const cutError = new Error('stop');

const CASES: Case[] = [
  {
    scenario: 'merge',
    name: 'mergeMap(fn, Infinity)',
    rxjs: true,
    run: (items) => {
      const { inner, endAll } = fifoInners();
      return drain(from(items), mergeMap(inner), endAll);
    },
  },
  {
    scenario: 'merge',
    name: 'mergePlaced(fn, NEVER)',
    rxjs: false,
    run: (items) => {
      const { inner, endAll } = fifoInners();
      return drain(from(items), mergePlaced(inner, NEVER), endAll);
    },
  },
  {
    scenario: 'cut',
    name: 'mergeMap(fn, takeUntil(halt$) each)',
    rxjs: true,
    run: (items) => {
      const halt$ = new Subject<void>();
      // Each cut inner reports its settlement, as mergePlaced's cut does.
      return drain(from(items), mergeMap((task) => NEVER.pipe(takeUntil(halt$), defaultIfEmpty(settled(task)))), () => halt$.next());
    },
  },
  {
    scenario: 'cut',
    name: 'mergePlaced(fn, halt$)',
    rxjs: false,
    run: (items) => {
      const halt$ = new Subject<Stop>();
      return drain(from(items), mergePlaced(() => NEVER, halt$), () => halt$.next(() => cutError));
    },
  },
  {
    scenario: 'lane',
    name: 'mergeMap(fn, 8)',
    rxjs: true,
    run: (items) => drain(from(items), mergeMap(soon, 8)),
  },
  {
    scenario: 'lane',
    name: 'mergePlaced + withSlot (cap 8)',
    rxjs: false,
    run: (items) => {
      const slots = new BackendSlots(lane);
      return drain(from(items), mergePlaced((task) => withSlot(slots, () => soon(task)), NEVER));
    },
  },
];

async function sample(entry: Case, n: number): Promise<number> {
  const items = tasks(n);
  gc?.();
  const started = performance.now();
  const seen = await entry.run(items);
  const elapsed = performance.now() - started;
  if (seen !== n) throw new Error(`${entry.name} at ${n}: ${seen} events, expected ${n}`);
  return (elapsed * 1e6) / n;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  if (gc === undefined) process.stderr.write('bench:operators: run with node --expose-gc for a GC before each sample\n');
  // Warm-up at the small size, so that neither side is timed while it compiles.
  for (const entry of CASES) await sample(entry, 1_000);
  const results: { scenario: string; case: string; nsPerInner: Record<number, number>; rounds: Record<number, number>; growth: number }[] = [];
  for (const entry of CASES) {
    const nsPerInner: Record<number, number> = {};
    const roundsAt: Record<number, number> = {};
    for (const n of [SMALL, LARGE]) {
      const count = entry.rxjs && n === LARGE ? 1 : rounds;
      const samples: number[] = [];
      for (let round = 0; round < count; round += 1) samples.push(await sample(entry, n));
      nsPerInner[n] = median(samples);
      roundsAt[n] = count;
      process.stderr.write(`  · ${entry.scenario}: ${entry.name} at ${formatNumber(n)}: ${formatNumber(nsPerInner[n])} ns per inner\n`);
    }
    results.push({ scenario: entry.scenario, case: entry.name, nsPerInner, rounds: roundsAt, growth: ((nsPerInner[LARGE] ?? Number.NaN) * LARGE) / ((nsPerInner[SMALL] ?? Number.NaN) * SMALL) });
  }
  process.stdout.write(
    renderTable(
      `hand-written operators beside RxJS: ns per inner, and cost(${formatNumber(LARGE)}) / cost(${formatNumber(SMALL)}) (linear is 10×)`,
      ['scenario', 'case', `ns per inner at ${formatNumber(SMALL)}`, `at ${formatNumber(LARGE)}`, 'growth'],
      results.map((row) => [row.scenario, row.case, formatNumber(row.nsPerInner[SMALL] ?? Number.NaN), `${formatNumber(row.nsPerInner[LARGE] ?? Number.NaN)}${row.rounds[LARGE] === 1 ? ' (1 round)' : ''}`, `${formatNumber(row.growth, 1)}×`]),
    ),
  );
  if (!smoke) writeFileSync(join(__dirname, 'results', 'operators.json'), `${JSON.stringify({ benchmark: 'operators', rounds, results }, null, 2)}\n`);
}

void main();
