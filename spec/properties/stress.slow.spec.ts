import { Observable, type SchedulerAction, type SchedulerLike, type Subscription, asyncScheduler, map, timer } from 'rxjs';
import {
  type Backend,
  BackendRegistry,
  CancelledError,
  DeadlineExceededError,
  FailurePolicy,
  LocalBackend,
  PLACED_PAR,
  type PARResult,
  type ParEvent,
  Placement,
  type PlacedPar,
  Process,
  type ProcessContext,
  ProcessResult,
} from '../../lib';
import { withoutStackTraces } from './support/stacks';

// A real-time stress test: 100,000 processes over three capped backends (a promise-based one, an
// Observable-based one and a LocalBackend), mixed behaviours (sync and async successes, throws,
// rejections, flaky ones, invalid results, partials, processes that never end, one kind ignoring its
// signal) under retry with a deadline, and then the same group under HALT. Every invariant of the
// Reliability list is checked while streaming the events (per-index state in typed arrays, so the
// checks stay linear). A slow suite (`npm run test:full`, CI): about 10 s on an idle machine.
//
// Real time on a busy machine: nothing here allows a number of milliseconds of lateness. "Nothing
// starts after the deadline" is read on the clock the engine reads (the run's scheduler), at the
// reading it acted on; "the result comes at the deadline" is measured against a control timer set
// for the deadline in the same run.

const N = 100_000;
const DEADLINE_SECONDS = 6;
/**
 * The control timer is set this long after the deadline instant (ms): more than the rounding between
 * `Date.now()` and Node's timer clock, so that the engine's deadline timer is always due first.
 */
const CONTROL_DELAY = 5;

type Kind = 'ok' | 'ok-async' | 'ok-observable' | 'throw' | 'reject' | 'flaky' | 'invalid' | 'never' | 'ignore';

/** A small deterministic PRNG (mulberry32), so every run of the test is the same group. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(handle);
      reject(signal.reason as Error);
    };
    const handle = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The run's scheduler: `asyncScheduler`, keeping the readings of its clock. `mark()` returns the
 * earliest reading since the previous mark (else the last one before it): the engine decided what it
 * did since then on one of those readings (it may read the clock again after deciding, and a busy
 * machine may pause it in between).
 */
function recordingClock(): { scheduler: SchedulerLike; mark: () => number | undefined } {
  let last: number | undefined;
  let earliest: number | undefined;
  const scheduler: SchedulerLike = {
    now: () => {
      last = asyncScheduler.now();
      earliest ??= last;
      return last;
    },
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      return asyncScheduler.schedule(work, delay, state);
    },
  };
  const mark = (): number | undefined => {
    const reading = earliest ?? last;
    earliest = undefined;
    return reading;
  };
  return { scheduler, mark };
}

/**
 * A timer for `CONTROL_DELAY` ms after `at`, and the loop's next turn after it fired: however late a
 * busy machine runs timers, the engine's deadline timer was due before this one, so by that turn the
 * engine has acted on its deadline.
 */
function controlTimer(at: number): { readonly firedAt: number | undefined; readonly turned: boolean; cancel(): void } {
  let firedAt: number | undefined;
  let turned = false;
  let turn: NodeJS.Immediate | undefined;
  const handle = setTimeout(() => {
    firedAt = Date.now();
    turn = setImmediate(() => (turned = true));
  }, at + CONTROL_DELAY - Date.now());
  return {
    get firedAt() {
      return firedAt;
    },
    get turned() {
      return turned;
    },
    cancel: () => {
      clearTimeout(handle);
      if (turn !== undefined) clearImmediate(turn);
    },
  };
}

interface Meter {
  inFlight: number;
  peak: number;
}

interface Stress {
  readonly group: (policy: FailurePolicy, deadline: number | Date | undefined, scheduler?: SchedulerLike) => PlacedPar;
  readonly kinds: Kind[];
  readonly backendOf: string[];
  readonly placements: Placement[];
  readonly limits: Record<string, number>;
  /** Bodies running per backend (from start to outcome, teardown or abort), and backend calls in flight. */
  readonly bodies: Record<string, Meter>;
  readonly calls: Record<string, Meter>;
  /** Attempts whose body neither ended nor saw its signal abort. */
  readonly unsettledBodies: Set<ProcessContext>;
}

function buildStress(): Stress {
  const limits: Record<string, number> = { async: 64, observable: 32, local: 4 };
  const bodies: Record<string, Meter> = { async: { inFlight: 0, peak: 0 }, observable: { inFlight: 0, peak: 0 }, local: { inFlight: 0, peak: 0 } };
  const calls: Record<string, Meter> = { async: { inFlight: 0, peak: 0 }, observable: { inFlight: 0, peak: 0 }, local: { inFlight: 0, peak: 0 } };
  const enter = (meter: Meter): (() => void) => {
    meter.inFlight += 1;
    meter.peak = Math.max(meter.peak, meter.inFlight);
    let open = true;
    return () => {
      if (open) meter.inFlight -= 1;
      open = false;
    };
  };
  const unsettledBodies = new Set<ProcessContext>();

  const asyncBackend: Backend = {
    name: 'async',
    concurrencyLimit: limits.async,
    async execute(process, ctx) {
      const leave = enter(calls.async as Meter);
      ctx.signal.addEventListener('abort', leave, { once: true });
      try {
        return await process.execute(ctx);
      } finally {
        leave();
      }
    },
  };
  const observableBackend: Backend = {
    name: 'observable',
    concurrencyLimit: limits.observable,
    execute: (process, ctx) =>
      new Observable<ProcessResult>((subscriber) => {
        const leave = enter(calls.observable as Meter);
        const inner: Subscription = process.execute$(ctx).subscribe(subscriber);
        return () => {
          inner.unsubscribe();
          leave();
        };
      }),
  };
  const registry = new BackendRegistry()
    .register('async', asyncBackend)
    .register('observable', observableBackend)
    .register('local', new LocalBackend({ concurrencyLimit: limits.local }));
  const on: Record<string, Placement[]> = {
    async: [new Placement({ endpoint: 'async' }), new Placement({ endpoint: 'async:1', model: 'a' })],
    observable: [new Placement({ endpoint: 'observable' }), new Placement({ model: 'x', endpoint: 'observable:2' })],
    local: [new Placement({ endpoint: 'local' }), new Placement({ endpoint: 'local:3' })],
  };

  const next = random(20_261_129);
  const kinds: Kind[] = [];
  const backendOf: string[] = [];
  const placements: Placement[] = [];
  let neverEnding = 0;
  for (let index = 0; index < N; index += 1) {
    const roll = next();
    let kind: Kind =
      roll < 0.6 ? 'ok' : roll < 0.72 ? 'ok-async' : roll < 0.77 ? 'ok-observable' : roll < 0.82 ? 'throw' : roll < 0.87 ? 'reject' : roll < 0.95 ? 'flaky' : roll < 0.99 ? 'invalid' : 'never';
    // Processes that never end all go to the promise backend, fewer than its cap, so that it keeps working.
    if (kind === 'never') kind = neverEnding >= 40 ? 'ok' : neverEnding % 4 === 0 ? 'ignore' : 'never';
    if (kind === 'never' || kind === 'ignore') neverEnding += 1;
    // Processes on timers go to the larger caps; the LocalBackend (cap 4) gets the synchronous and microtask ones.
    const backend =
      kind === 'never' || kind === 'ignore' ? 'async' : kind === 'ok-observable' ? 'observable' : kind === 'ok-async' ? (index % 2 === 0 ? 'async' : 'observable') : (['async', 'observable', 'local'][index % 3] as string);
    kinds.push(kind);
    backendOf.push(backend);
    placements.push((on[backend] as Placement[])[index % 2] as Placement);
  }

  const process = (index: number) =>
    Process(`p${index}`, (ctx) => {
      const leave = enter(bodies[ctx.backend ?? ''] as Meter);
      unsettledBodies.add(ctx);
      const end = (): void => {
        unsettledBodies.delete(ctx);
        leave();
      };
      ctx.signal.addEventListener('abort', end, { once: true });
      switch (kinds[index]) {
        case 'ok':
          end();
          return ProcessResult.ok(index);
        case 'ok-async':
          ctx.emit('token');
          return sleep(index % 3, ctx.signal).then(() => {
            end();
            ctx.emit('token');
            return ProcessResult.ok(index);
          });
        case 'ok-observable':
          return new Observable<ProcessResult>((subscriber) => {
            const inner = timer(1)
              .pipe(map(() => ProcessResult.ok(index)))
              .subscribe({ next: (result) => (end(), subscriber.next(result)), complete: () => subscriber.complete() });
            return () => (inner.unsubscribe(), end());
          });
        case 'throw':
          end();
          throw new Error(`thrown p${index}`);
        case 'reject':
          return Promise.resolve().then(() => {
            end();
            throw new Error(`rejected p${index}`);
          });
        case 'flaky':
          end();
          if (ctx.attempt === 1) throw new Error(`flaky p${index}`);
          return ProcessResult.ok(index);
        case 'invalid':
          end();
          return 42 as never;
        case 'never':
          return sleep(1e9, ctx.signal).then(() => ProcessResult.ok(index));
        default: // ignore: never settles, does not listen to its signal (only the meter does)
          return new Promise<ProcessResult>(() => undefined);
      }
    });
  const processes = Array.from({ length: N }, (_, index) => process(index));
  const pairs = processes.map((proc, index) => [proc, placements[index] as Placement] as const);
  return {
    group: (policy, deadline, scheduler) => PLACED_PAR(...pairs, { registry, onFailure: policy, ...(deadline === undefined ? {} : { deadline }), ...(scheduler === undefined ? {} : { scheduler }) }),
    kinds,
    backendOf,
    placements,
    limits,
    bodies,
    calls,
    unsettledBodies,
  };
}

const PHASE = { new: 0, queued: 1, running: 2, backoff: 3, settled: 4 } as const;

interface Streamed {
  result: PARResult;
  doneAt: number;
  /** The result came before the loop turned after the deadline's control timer (true without a deadline). */
  doneByDeadline: boolean;
  controlFiredAt: number | undefined;
  starts: Uint8Array;
  firstHalt: number | undefined;
  problems: string[];
}

/**
 * Subscribes to `events$`, checking the per-index grammar (and HALT when `halt`) as events stream.
 * With a `deadline` (the group's, as a Date), also that nothing starts at or after it by the engine's
 * clock (`mark`, called at every event), and when the result comes compared with a control timer.
 */
function stream(group: PlacedPar, halt: boolean, deadline?: { at: Date; mark: () => number | undefined }): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const phase = new Uint8Array(N);
    const starts = new Uint8Array(N);
    const problems: string[] = [];
    const problem = (text: string): void => void (problems.length < 20 && problems.push(text));
    let firstHalt: number | undefined;
    let result: PARResult | undefined;
    let doneAt = 0;
    let doneByDeadline = true;
    const deadlineAt = deadline?.at.getTime();
    const control = deadlineAt === undefined ? undefined : controlTimer(deadlineAt);
    group.events$.subscribe({
      next: (event: ParEvent) => {
        const reading = deadline?.mark();
        if (result !== undefined) problem(`${event.type} after done`);
        if (event.type === 'done') {
          result = event.result;
          doneAt = Date.now();
          doneByDeadline = control === undefined || !control.turned;
          control?.cancel();
          return;
        }
        const index = event.index;
        const current = phase[index] as number;
        switch (event.type) {
          case 'queued':
            if (current !== PHASE.new) problem(`p${index}: queued in phase ${current}`);
            phase[index] = PHASE.queued;
            break;
          case 'started':
            if (current === PHASE.running || current === PHASE.settled) problem(`p${index}: started in phase ${current}`);
            if (event.attempt !== (starts[index] as number) + 1) problem(`p${index}: started attempt ${event.attempt} after ${starts[index]}`);
            if (firstHalt !== undefined) problem(`p${index}: started after p${firstHalt} halted the group`);
            if (deadlineAt !== undefined) {
              // The engine starts an attempt only if its clock, read when it decides, is before the deadline.
              if (reading === undefined || reading >= deadlineAt) problem(`p${index}: attempt ${event.attempt} started when the engine's clock read ${reading ?? 'nothing'}, ${reading === undefined ? '' : `${reading - deadlineAt} ms `}after the deadline`);
            }
            starts[index] = event.attempt;
            phase[index] = PHASE.running;
            break;
          case 'partial':
            if (current !== PHASE.running) problem(`p${index}: partial in phase ${current}`);
            break;
          case 'retrying':
            if (current !== PHASE.running) problem(`p${index}: retrying in phase ${current}`);
            phase[index] = PHASE.backoff;
            break;
          case 'settled': {
            if (current === PHASE.settled) problem(`p${index}: settled twice`);
            const error = event.result.isFail ? event.result.failure.error : undefined;
            if (current !== PHASE.running && !(error instanceof CancelledError || error instanceof DeadlineExceededError)) problem(`p${index}: settled ${error?.name ?? 'ok'} without running`);
            if (halt && firstHalt !== undefined && !(error instanceof CancelledError && error.haltedBy === `p${firstHalt}`)) problem(`p${index}: ended ${error?.name ?? 'ok'} after p${firstHalt} halted the group`);
            if (halt && firstHalt === undefined && error !== undefined) firstHalt = index;
            phase[index] = PHASE.settled;
            break;
          }
        }
      },
      error: reject,
      complete: () => {
        if (result === undefined) return reject(new Error('events$ completed without done'));
        for (let index = 0; index < N; index += 1) if (phase[index] !== PHASE.settled) problem(`p${index} never settled`);
        resolve({ result, doneAt, doneByDeadline, controlFiredAt: control?.firedAt, starts, firstHalt, problems });
      },
    });
  });
}

function controlText(streamed: Streamed, deadline: Date): string {
  const firedAt = streamed.controlFiredAt;
  return firedAt === undefined ? 'before the control timer fired' : `the control timer fired ${firedAt - deadline.getTime()} ms after the deadline`;
}

withoutStackTraces();

describe(`stress: ${N.toLocaleString('en')} processes over 3 capped backends, in real time`, () => {
  const stress = buildStress();

  test('under retry with a deadline: every invariant holds', async () => {
    const maxAttempts = 2;
    const started = Date.now();
    // An absolute deadline: the test knows the engine's deadline to the millisecond.
    const deadline = new Date(started + DEADLINE_SECONDS * 1000);
    const clock = recordingClock();
    const policy = FailurePolicy.retry({ maxAttempts, backoff: 'constant', baseDelay: 0.001 });
    const streamed = await stream(stress.group(policy, deadline, clock.scheduler), false, { at: deadline, mark: clock.mark });
    const { result, problems, starts } = streamed;

    // 1. One result per pair, in declaration order; 7. the grammar held while streaming.
    expect(problems).toEqual([]);
    expect(result.results).toHaveLength(N);
    // 6. At the deadline or earlier: before the loop turned after a control timer for the deadline
    // instant, however late a busy machine ran both (stopping 100,000 processes happens in that turn).
    if (!streamed.doneByDeadline) {
      throw new Error(`the result came ${streamed.doneAt - deadline.getTime()} ms after the deadline, after the event loop turned past a control timer for it (${controlText(streamed, deadline)})`);
    }
    const mismatches: string[] = [];
    const mismatch = (text: string): void => void (mismatches.length < 20 && mismatches.push(text));
    const counts: Record<string, number> = {};
    result.entries.forEach((entry, index) => {
      if (entry.name !== `p${index}`) mismatch(`entry ${index} is ${entry.name}`);
      if (entry.placement !== stress.placements[index]) mismatch(`entry ${index} has another placement`);
      // 8. Retry never exceeds maxAttempts; the counts agree with the events.
      if (entry.attempts > maxAttempts || entry.attempts !== starts[index]) mismatch(`p${index}: ${entry.attempts} attempts, ${starts[index]} started`);
      const outcome = entry.result;
      const key = outcome.isOk ? 'ok' : outcome.failure.error.name;
      counts[key] = (counts[key] ?? 0) + 1;
      if (outcome.isOk) return;
      // 2. Every failure carries its pair's placement and backend.
      const failure = outcome.failure;
      if (failure.placement !== stress.placements[index] || failure.backend !== stress.backendOf[index]) mismatch(`p${index}: failure placed on ${failure.backend ?? '?'}`);
      if (failure.attempts !== starts[index]) mismatch(`p${index}: failure.attempts ${failure.attempts}, ${starts[index]} started`);
      const kind = stress.kinds[index];
      if ((kind === 'never' || kind === 'ignore') && !(failure.error instanceof DeadlineExceededError)) mismatch(`p${index} (${kind}) ended ${failure.error.name}`);
      if (kind === 'flaky' && entry.attempts === maxAttempts) mismatch(`p${index} (flaky) failed on its second attempt`);
    });
    expect(mismatches).toEqual([]);
    // 3. No backend ever exceeded its cap.
    for (const name of Object.keys(stress.limits)) {
      expect(stress.bodies[name]?.peak ?? 0).toBeLessThanOrEqual(stress.limits[name] as number);
      expect(stress.calls[name]?.peak ?? 0).toBeLessThanOrEqual(stress.limits[name] as number);
    }
    // 5. Every process the deadline cancelled saw its signal abort: nothing is left running.
    expect(stress.unsettledBodies.size).toBe(0);
    for (const name of Object.keys(stress.limits)) expect(stress.calls[name]?.inFlight).toBe(0);
    expect(counts.DeadlineExceededError).toBeGreaterThanOrEqual(40);
    console.log(`stress (retry, deadline ${DEADLINE_SECONDS} s): ${N} processes in ${Date.now() - started} ms, result ${streamed.doneAt - deadline.getTime()} ms after the deadline (${controlText(streamed, deadline)}): ${JSON.stringify(counts)}`);
  }, 120_000);

  test('under HALT: nothing starts after the first failure and every unsettled process ends cancelled', async () => {
    const started = Date.now();
    const streamed = await stream(stress.group(FailurePolicy.HALT, 60), true);
    expect(streamed.problems).toEqual([]);
    expect(streamed.result.results).toHaveLength(N);
    expect(streamed.firstHalt).toBeDefined();
    const cancelled = streamed.result.failures.filter((failure) => failure.error instanceof CancelledError).length;
    expect(cancelled).toBeGreaterThan(N / 2);
    for (const name of Object.keys(stress.limits)) {
      expect(stress.bodies[name]?.peak ?? 0).toBeLessThanOrEqual(stress.limits[name] as number);
      expect(stress.calls[name]?.inFlight).toBe(0);
    }
    expect(stress.unsettledBodies.size).toBe(0);
    console.log(`stress (HALT): ${N} processes in ${Date.now() - started} ms, ${cancelled} cancelled`);
  }, 120_000);
});
