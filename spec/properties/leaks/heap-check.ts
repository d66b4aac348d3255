// Leak check, run by spec/properties/leaks.spec.ts in a child process:
//   node --expose-gc --import tsx spec/properties/leaks/heap-check.ts [groups]
// Runs `groups` (default 10,000) groups in real time — HALT cancellations, deadlines that cancel running
// and waiting processes (one of which ignores its signal), retries, unsubscriptions — over backends
// shared by every group, then prints one line of JSON: heap growth after GC, timers left, listeners
// left on signals, contexts still reachable.
import { getEventListeners } from 'node:events';
import { Observable, type Subscription, lastValueFrom, timer, map } from 'rxjs';
import { type Backend, BackendRegistry, FailurePolicy, LocalBackend, PLACED_PAR, Placement, type PlacedPar, Process, type ProcessContext, ProcessResult } from '../../../lib';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const total = Number(process.argv[2] ?? 10_000);
const batchSize = 250;

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first (removing its listener either way). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// Every context a batch saw, strongly held only until the batch is checked; a sample is watched weakly.
let batchContexts: ProcessContext[] = [];
const watched: WeakRef<ProcessContext>[] = [];
let seen = 0;
const see = (ctx: ProcessContext): void => {
  batchContexts.push(ctx);
  seen += 1;
  if (seen % 97 === 0) watched.push(new WeakRef(ctx));
};

const local = new LocalBackend({ concurrencyLimit: 8 });
const observableBackend: Backend = {
  name: 'observable',
  concurrencyLimit: 4,
  execute: (process, ctx) => timer(0).pipe(map(() => ctx), (source) => new Observable<ProcessResult>((subscriber) => {
    let inner: Subscription | undefined;
    const outer = source.subscribe(() => (inner = process.execute$(ctx).subscribe(subscriber)));
    return () => {
      outer.unsubscribe();
      inner?.unsubscribe();
    };
  })),
};
const registry = new BackendRegistry().register('local', local).register('observable', observableBackend);
const onLocal = new Placement({ endpoint: 'local' });
const onObservable = new Placement({ endpoint: 'observable' });

const ok = Process('ok', (ctx) => (see(ctx), ProcessResult.ok(1)));
const failing = Process('failing', (ctx) => (see(ctx), Promise.reject(new Error('boom'))));
const patient = Process('patient', async (ctx) => {
  see(ctx);
  await sleep(1_000, ctx.signal);
  return ProcessResult.ok('late');
});
const slowObservable = Process('slow-observable', (ctx) => (see(ctx), timer(1_000).pipe(map(() => ProcessResult.ok('late')))));
// Ignores its signal and goes on working a while: its slot is held until it returns (SPEC 4). (One
// that never returned would keep its slot for ever, by design: the backend would still be busy.)
const stubborn = Process('stubborn', (ctx) => (see(ctx), new Promise<ProcessResult>((resolve) => setTimeout(() => resolve(ProcessResult.ok('ignored the signal')), 5))));
const flaky = Process('flaky', (ctx) => {
  see(ctx);
  if (ctx.attempt === 1) throw new Error('first attempt fails');
  return ProcessResult.ok('second');
});

// A body may keep its context past its run (a cache, a listener on a long-lived emitter): the context
// must not keep the run's results with it. Each keeper's failure carries a payload watched weakly.
const keptContexts: ProcessContext[] = [];
const keptPayloads: WeakRef<object>[] = [];
const keeper = Process('keeper', (ctx) => {
  keptContexts.push(ctx);
  const payload = { from: ctx.processName };
  keptPayloads.push(new WeakRef(payload));
  return ProcessResult.fail(new Error('keeps its context', { cause: payload }));
});

/** Groups whose events are streamed (their bodies could emit), each with a keeper, to completion. */
async function runKeepers(count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) {
    await lastValueFrom(PLACED_PAR([keeper, onLocal], [keeper, onObservable], [ok, onLocal], { registry, onFailure: FailurePolicy.COLLECT }).events$);
  }
}

const retry = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0 });

function makeGroup(index: number): PlacedPar {
  switch (index % 4) {
    case 0: // HALT: the failure cancels a running promise, a running Observable and whatever waits for a slot
      return PLACED_PAR([ok, onLocal], [patient, onLocal], [slowObservable, onObservable], [failing, onLocal], [patient, onObservable], { registry });
    case 1: // the deadline cancels a running process, one that ignores its signal, and waiting ones
      return PLACED_PAR([patient, onLocal], [stubborn, onLocal], [patient, onObservable], [ok, onObservable], { registry, deadline: 0.003, onFailure: FailurePolicy.COLLECT });
    case 2: // retries, with a deadline that never fires
      return PLACED_PAR([flaky, onLocal], [flaky, onObservable], [ok, onLocal], { registry, deadline: 30, onFailure: retry });
    default: // unsubscribed while running
      return PLACED_PAR([patient, onLocal], [slowObservable, onObservable], [ok, onLocal], { registry });
  }
}

function runGroup(index: number): Promise<void> {
  const group = makeGroup(index);
  if (index % 4 !== 3) return group.run().then(() => undefined);
  return new Promise((resolve) => {
    const subscription = group.events$.subscribe();
    setTimeout(() => {
      subscription.unsubscribe();
      resolve();
    }, 1);
  });
}

let listenersLeft = 0;
async function runBatches(count: number): Promise<void> {
  for (let start = 0; start < count; start += batchSize) {
    const batch: Promise<void>[] = [];
    for (let index = start; index < Math.min(count, start + batchSize); index += 1) batch.push(runGroup(index));
    await Promise.all(batch);
    for (const ctx of batchContexts) listenersLeft += getEventListeners(ctx.signal, 'abort').length;
    batchContexts = [];
  }
}

async function collect(): Promise<number> {
  for (let round = 0; round < 6; round += 1) {
    gc?.();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

/** After every run: as many never-ending processes as each backend's cap all start at once (no slot was kept). */
function queuedOnFullBackends(): number {
  const never = Process('never', () => new Observable<ProcessResult>());
  const pairs = [...Array.from({ length: 8 }, () => [never, onLocal] as const), ...Array.from({ length: 4 }, () => [never, onObservable] as const)];
  let queued = 0;
  const subscription = PLACED_PAR(...pairs, { registry }).events$.subscribe((event) => {
    if (event.type === 'queued') queued += 1;
  });
  subscription.unsubscribe();
  return queued;
}

const timersNow = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

async function main(): Promise<void> {
  const started = Date.now();
  await runBatches(2_000); // warm up: JIT, caches
  watched.length = 0;
  const baselineTimers = timersNow();
  const before = await collect();
  await runBatches(total);
  const after = await collect();
  const reachable = watched.filter((ref) => ref.deref() !== undefined).length;
  await runKeepers(100);
  await collect();
  const keptResultsReachable = keptPayloads.filter((ref) => ref.deref() !== undefined).length;
  const keptContextsHeld = keptContexts.length;
  keptContexts.length = 0;
  console.log(
    JSON.stringify({
      groups: total,
      heapGrowthBytes: after - before,
      heapBefore: before,
      heapAfter: after,
      timersLeft: timersNow() - baselineTimers,
      listenersLeft,
      watchedContexts: watched.length,
      reachableContexts: reachable,
      keptContexts: keptContextsHeld,
      keptResultsReachable,
      queuedOnFreshRun: queuedOnFullBackends(),
      elapsedMs: Date.now() - started,
    }),
  );
}

void main();
