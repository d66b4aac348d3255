import { Observable, type SchedulerAction, type SchedulerLike, type Subscriber, Subscription, asyncScheduler, finalize, map, take, tap, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  type Backend,
  BackendRegistry,
  FailurePolicy,
  type HealthAnswer,
  LocalBackend,
  PLACED_PAR,
  type PARResult,
  type PlacedPar,
  type ParEvent,
  Placement,
  type Process,
  type RateLimit,
  Process as makeProcess,
  type ProcessContext,
  ProcessResult,
} from '../../../lib';
import { FakeBackend, type FakeBehaviour, type FakeCall } from '../../../lib/testing';
import { type BackendModel, type Behaviour, type CaseModel, type Health, type PairModel, type PolicyModel, type RunModel, backendIndex } from './model';

// Runs one `CaseModel` in virtual time and records everything the invariants need: every event with
// its time and a global sequence number, every attempt (backend call or body start) with its context,
// the concurrency each backend saw, and what was still alive when each run finished.

/** One attempt of one process: a backend call, or the body run by a local backend. */
export interface AttemptRecord {
  readonly run: number;
  readonly index: number;
  readonly attempt: number;
  readonly ctx: ProcessContext;
  readonly seq: number;
  readonly at: number;
  /** The earliest reading of the engine's clock since the previous attempt recorded (see `EventRecord.clock`). */
  readonly clock: number;
  /** The body (or the backend, for a backend-level outcome) delivered an outcome. */
  ended: boolean;
  /** The body has started running (for probe and fake backends, after their latency). */
  bodyStarted: boolean;
}

export interface EventRecord {
  readonly seq: number;
  /** When the consumer saw the event: the virtual clock, or `Date.now()` in real time. */
  readonly at: number;
  /**
   * In real time, the earliest reading of the run's clock (its scheduler's `now()`) the engine took
   * since the previous event recorded (`EngineClock.mark`): the engine decided on one of
   * those readings, so one made before a deadline is what let it act. It can be well before `at` (a
   * busy machine may pause the process between the two). In virtual time it is `at`.
   */
  readonly clock: number;
  readonly event: ParEvent;
}

/**
 * In real time, a control timer set for just after the latest instant the run's deadline can be:
 * when it fires, the engine's own deadline timer was due too, however late the busy event loop runs
 * both. `turnSeq` is the sequence number of the loop's next turn after it fired.
 */
export interface DeadlineControl {
  /** The latest instant the engine's deadline can be (the clock read after subscribing, plus the deadline). */
  readonly latest: number;
  readonly dueAt: number;
  firedAt: number | undefined;
  turnSeq: number | undefined;
}

/** What was left of a run when it finished (done, or its consumer left). */
export interface FinishSnapshot {
  readonly seq: number;
  readonly at: number;
  /** Engine timers (scheduled on the run's scheduler) not yet run or cancelled. */
  readonly liveTimers: number;
  /**
   * Observables of this run (process bodies, probe backends) still subscribed, not counting those
   * still inside their own subscribe call (a consumer that leaves on a partial published there).
   */
  readonly liveSubscriptions: number;
}

export interface RunTrace {
  readonly index: number;
  readonly model: RunModel;
  readonly subscribedAt: number;
  /**
   * The run's deadline, when the case has one: the clock read just before subscribing plus the
   * deadline (no later than the engine's own, which it computes when subscribed).
   */
  readonly deadlineAt: number | undefined;
  /** The deadline the engine gave the run's processes (`ctx.deadline`), once one started. */
  engineDeadlineAt: number | undefined;
  /** Real time only: the control timer for the deadline. */
  control: DeadlineControl | undefined;
  readonly events: EventRecord[];
  result: PARResult | undefined;
  resultAt: number | undefined;
  resultSeq: number | undefined;
  completed: boolean;
  errored: { error: unknown } | undefined;
  /** Where the consumer left, if it did before the run was done. */
  unsubscribed: { seq: number; at: number; duringSubscribe: boolean } | undefined;
  finish: FinishSnapshot | undefined;
  /** What the run set going after it finished: engine timers scheduled, Observables subscribed. */
  readonly late: { timers: number; subscriptions: number };
  /** Observables of this run still subscribed at the end of the case. */
  liveAtEnd: number;
}

export interface BackendTrace {
  readonly model: BackendModel | undefined;
  readonly name: string;
  readonly limit: number;
  readonly healthy: boolean;
  /** Most bodies running at once on it (every kind). */
  bodyPeak: number;
  bodyInFlight: number;
  /** Most subscriptions to its Observable at once (probe). */
  probePeak: number;
  probeInFlight: number;
  readonly fake: FakeBackend | undefined;
}

export interface CaseTrace {
  readonly model: CaseModel;
  readonly names: readonly string[];
  readonly placements: readonly Placement[];
  /** The backend each pair should land on. */
  readonly expectedBackend: readonly BackendTrace[];
  /** What each pair actually does (backend-level behaviours a backend kind cannot do become process-level). */
  readonly behaviours: readonly Behaviour[];
  readonly backends: readonly BackendTrace[];
  readonly runs: RunTrace[];
  readonly attempts: AttemptRecord[];
  /** Health-check Observables still subscribed after the last flush. */
  liveHealthChecks: number;
  /** Per capped, healthy backend, after every run finished: how many of `limit` fresh processes started at once. */
  slotProbes: { backend: string; limit: number; started: number; queued: number }[];
  /** Every run finished (done or unsubscribed). */
  allFinished: boolean;
  /** Ran in real time: instants are `Date.now()` and timers lag. */
  readonly realTime: boolean;
}

/**
 * The readings of a run's clock by its engine, seen through two windows: one marked at each event
 * recorded, one at each attempt recorded (a backend call or a body start, which comes after the
 * attempt's `started` event and after any clock reading the engine takes once it decided to start).
 */
interface EngineClock {
  /** The earliest reading in the window since its last mark (else the last reading before it), and a new mark. */
  mark(window: 'event' | 'attempt'): number | undefined;
}

/**
 * A scheduler that counts the actions scheduled through it that have neither run nor been cancelled,
 * calls `onSchedule` for each new one, and keeps the readings of its clock.
 */
function countingScheduler(raw: SchedulerLike, onSchedule: () => void): { scheduler: SchedulerLike; live: Set<Subscription>; clock: EngineClock } {
  const live = new Set<Subscription>();
  let last: number | undefined;
  const earliest: { event: number | undefined; attempt: number | undefined } = { event: undefined, attempt: undefined };
  const clock: EngineClock = {
    mark: (window) => {
      const reading = earliest[window] ?? last;
      earliest[window] = undefined;
      return reading;
    },
  };
  const read = (): number => {
    last = raw.now();
    earliest.event ??= last;
    earliest.attempt ??= last;
    return last;
  };
  const scheduler: SchedulerLike = {
    now: read,
    schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
      onSchedule();
      const action: Subscription = raw.schedule<S>(
        function (this: SchedulerAction<S>, inner?: S) {
          live.delete(action);
          work.call(this, inner);
        },
        delay,
        state,
      );
      live.add(action);
      action.add(() => live.delete(action));
      return action;
    },
  };
  return { scheduler, live, clock };
}

class NamedLocalBackend extends LocalBackend {
  override readonly name: string;
  readonly #health: () => HealthAnswer;

  override readonly rateLimit: RateLimit | undefined;

  constructor(name: string, concurrency: number, health: () => HealthAnswer, rateLimit: RateLimit | undefined) {
    super({ concurrency });
    this.name = name;
    this.#health = health;
    this.rateLimit = rateLimit;
  }

  override healthCheck(): HealthAnswer {
    return this.#health();
  }
}

/** The behaviour a pair really follows on a backend of `kind`. */
export function effectiveBehaviour(behaviour: Behaviour, kind: BackendModel['kind'] | 'default'): Behaviour {
  if (behaviour.kind !== 'backend') return behaviour;
  if (kind === 'local' || kind === 'default') {
    switch (behaviour.what) {
      case 'throw':
        return { kind: 'throw' };
      case 'error':
        return { kind: 'error', delay: behaviour.delay };
      case 'empty':
        return { kind: 'empty', delay: behaviour.delay };
      case 'hang':
        return { kind: 'never' };
      case 'invalid':
        return { kind: 'invalid', delay: behaviour.delay, sync: false };
    }
  }
  if (kind === 'fake' && behaviour.what === 'invalid') return { kind: 'invalid', delay: behaviour.delay, sync: true };
  return behaviour;
}

export function toPolicy(model: PolicyModel): FailurePolicy {
  switch (model.kind) {
    case 'halt':
      return FailurePolicy.HALT;
    case 'collect':
      return FailurePolicy.COLLECT;
    case 'retry':
      return FailurePolicy.retry({ maxAttempts: model.maxAttempts, backoff: model.backoff, baseDelay: model.baseDelayMs / 1000 });
  }
}

const HEALTH_DELAY = 3;

/** A backend model's `rateLimit`: its starts per window of milliseconds, in seconds. */
function rateLimitOf(model: BackendModel): RateLimit | undefined {
  return model.rate === undefined ? undefined : { requests: { limit: model.rate.limit, per: model.rate.perMs / 1000 } };
}

/**
 * How long after the latest possible deadline instant the control timer is set (ms): more than the
 * rounding between `Date.now()` and Node's timer clock (under 2 ms), so that the engine's deadline
 * timer is always due before it. A margin in timer order, not an allowance for a slow machine.
 */
const CONTROL_DELAY = 5;

/** `PLACED_PAR` over a list built at run time (its typed overloads want literal tuples). */
function placedPar(...args: unknown[]): PlacedPar {
  return Reflect.apply(PLACED_PAR, undefined, args) as PlacedPar;
}

/** Runs `model` in virtual time (Observable-based processes and backends) and returns its trace. */
export function runCase(model: CaseModel): CaseTrace {
  const testScheduler = new TestScheduler(() => undefined);
  let trace: CaseTrace | undefined;
  testScheduler.run(() => {
    const setup = setUpCase(model, testScheduler, false);
    testScheduler.flush();
    const slotProbes: CaseTrace['slotProbes'] = [];
    if (setup.allFinished()) {
      for (const backend of setup.probeableBackends()) {
        const probe = setup.probeSlots(backend);
        testScheduler.flush();
        slotProbes.push(probe.stop());
      }
      testScheduler.flush();
    }
    trace = setup.trace(slotProbes);
  });
  return trace as CaseTrace;
}

/**
 * Runs `model` in real time: processes and backends are promise-based (true rejections, `async
 * execute`, promised health checks), timers are real. A run with a deadline is waited for until the
 * loop turned after its control timer (`DeadlineControl`), however busy the machine; one without is
 * waited for `patience` ms. Runs still open then are unsubscribed to clean up, and count as never
 * finished.
 */
export async function runCaseInRealTime(model: CaseModel, patience = 500): Promise<CaseTrace> {
  const setup = setUpCase(model, asyncScheduler, true);
  const started = Date.now();
  while (!setup.allFinished() && !setup.overdue(Date.now() - started >= patience)) await sleep(2);
  const finished = setup.allFinished();
  setup.closeOpenRuns();
  const slotProbes: CaseTrace['slotProbes'] = [];
  if (finished) {
    const probes = setup.probeableBackends().map((backend) => setup.probeSlots(backend));
    // A slot may still be held by a cancelled promise that has yet to settle (SPEC 4): wait for the
    // fresh processes to start, as long as a busy machine needs, then read what they could do.
    const patienceEnds = Date.now() + PROBE_PATIENCE_MS;
    await sleep(2 * HEALTH_DELAY + 5);
    while (Date.now() < patienceEnds && !probes.every((probe) => probe.allStarted())) await sleep(2);
    for (const probe of probes) slotProbes.push(probe.stop());
  }
  // Let what the cancelled processes left behind (rogue timers) play out inside this case.
  await sleep(10);
  return setup.trace(slotProbes);
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface SlotProbe {
  /** Whether every fresh process has started. */
  allStarted(): boolean;
  stop(): CaseTrace['slotProbes'][number];
}

/** How long, in real time, the slot probes may wait for a slot a cancelled promise still holds. */
const PROBE_PATIENCE_MS = 500;

interface CaseSetup {
  allFinished(): boolean;
  /** Every run still open is past its deadline's control turn, or (without a deadline) past `patienceSpent`. */
  overdue(patienceSpent: boolean): boolean;
  closeOpenRuns(): void;
  probeableBackends(): BackendTrace[];
  probeSlots(backend: BackendTrace): SlotProbe;
  trace(slotProbes: CaseTrace['slotProbes']): CaseTrace;
}

function setUpCase(model: CaseModel, raw: SchedulerLike, real: boolean): CaseSetup {
  let seq = 0;
  const nextSeq = (): number => (seq += 1);
  const now = (): number => raw.now();
  const runs: RunTrace[] = [];
  const attempts: AttemptRecord[] = [];
  const attemptByCtx = new Map<ProcessContext, AttemptRecord>();
  const liveByRun = new Map<number, number>();
  /** Subscriptions of each run still inside their own subscribe call (they cannot be torn down before it returns). */
  const subscribingByRun = new Map<number, number>();
  const subscribing = (run: number, delta: number): void => void subscribingByRun.set(run, (subscribingByRun.get(run) ?? 0) + delta);
  const liveHealth = { count: 0 };
  const adjustLive = (run: number, delta: number): void => {
    liveByRun.set(run, (liveByRun.get(run) ?? 0) + delta);
    const trace = runs.find((candidate) => candidate.index === run);
    if (delta > 0 && trace?.finish !== undefined) trace.late.subscriptions += 1;
  };
  const runOf = (ctx: ProcessContext): number => Number((ctx.parent ?? 'r-1').slice(1));

  const healthAnswer = (health: Health): (() => HealthAnswer) => {
    switch (health) {
      case 'up':
        return () => true;
      case 'down':
        return () => false;
      case 'throws':
        return () => {
          throw new Error('health check exploded');
        };
      case 'not-boolean':
        return () => 'yes' as unknown as boolean;
      case 'late-up':
      case 'late-down':
        if (real) return () => sleep(HEALTH_DELAY).then(() => health === 'late-up');
        return () =>
          new Observable<boolean>((subscriber) => {
            liveHealth.count += 1;
            const inner = timer(HEALTH_DELAY, raw)
              .pipe(map(() => health === 'late-up'))
              .subscribe(subscriber);
            return () => {
              liveHealth.count -= 1;
              inner.unsubscribe();
            };
          });
    }
  };

  // ---- backends -------------------------------------------------------------------------------
  const backendTraces: BackendTrace[] = [];
  const registry = new BackendRegistry({
    default: new NamedLocalBackend('default', model.defaultLimit, () => true, undefined),
  });
  const defaultTrace: BackendTrace = {
    model: undefined,
    name: 'default',
    limit: model.defaultLimit,
    healthy: true,
    bodyPeak: 0,
    bodyInFlight: 0,
    probePeak: 0,
    probeInFlight: 0,
    fake: undefined,
  };

  const pairFor = (name: string): number | undefined => {
    const match = /^p(\d+)$/.exec(name);
    return match === null ? undefined : Number(match[1]);
  };

  /** Each run's clock, as its engine read it. */
  const clocks = new Map<number, EngineClock>();
  const clockOf = (run: number, at: number, window: 'event' | 'attempt'): number => (real ? (clocks.get(run)?.mark(window) ?? at) : at);

  const recordAttempt = (ctx: ProcessContext, index: number): AttemptRecord => {
    let record = attemptByCtx.get(ctx);
    if (record === undefined) {
      const run = runOf(ctx);
      const at = now();
      record = { run, index, attempt: ctx.attempt, ctx, seq: nextSeq(), at, clock: clockOf(run, at, 'attempt'), ended: false, bodyStarted: false };
      const trace = runs.find((candidate) => candidate.index === run);
      if (trace !== undefined && ctx.deadline !== undefined) trace.engineDeadlineAt ??= ctx.deadline.getTime();
      attemptByCtx.set(ctx, record);
      attempts.push(record);
    }
    return record;
  };

  const behaviours: Behaviour[] = [];

  model.backends.forEach((backendModel, k) => {
    const name = `b${k}`;
    const healthy = backendModel.health === 'up' || backendModel.health === 'late-up';
    const backendTrace: BackendTrace = {
      model: backendModel,
      name,
      limit: backendModel.limit,
      healthy,
      bodyPeak: 0,
      bodyInFlight: 0,
      probePeak: 0,
      probeInFlight: 0,
      fake: undefined,
    };
    const health = healthAnswer(backendModel.health);
    const rateLimit = rateLimitOf(backendModel);
    let backend: Backend;
    if (backendModel.kind === 'local') backend = new NamedLocalBackend(name, backendModel.limit, health, rateLimit);
    else if (backendModel.kind === 'fake') {
      const fake = new FakeBackend({
        name,
        concurrencyLimit: backendModel.limit,
        rateLimit,
        scheduler: raw,
        healthy: health,
        defaultBehaviour: { delay: backendModel.latency / 1000 },
        script: (call) => {
          const index = pairFor(call.name);
          if (index !== undefined) recordAttempt(call.ctx, index);
          const behaviour = index === undefined ? undefined : behaviours[index];
          return behaviour === undefined ? undefined : fakeBehaviour(behaviour, index as number, backendModel.latency);
        },
      });
      (backendTrace as { fake: FakeBackend }).fake = fake;
      backend = fake;
    } else {
      backend = {
        name,
        concurrencyLimit: backendModel.limit,
        rateLimit,
        healthCheck: health,
        execute: (process: Process, ctx: ProcessContext) => {
          const index = pairFor(process.name);
          const record = index === undefined ? undefined : recordAttempt(ctx, index);
          const behaviour = index === undefined ? undefined : behaviours[index];
          if (behaviour?.kind === 'backend' && behaviour.what === 'throw') {
            (record as AttemptRecord).ended = true;
            throw new Error(`backend threw p${index}`);
          }
          if (behaviour?.kind === 'backend' && behaviour.what === 'invalid') {
            (record as AttemptRecord).ended = true;
            return 42 as never;
          }
          if (real) {
            // An `async execute`: it counts as in flight until it settles or its signal aborts.
            backendTrace.probeInFlight += 1;
            backendTrace.probePeak = Math.max(backendTrace.probePeak, backendTrace.probeInFlight);
            let counted = true;
            const uncount = (): void => {
              if (!counted) return;
              counted = false;
              backendTrace.probeInFlight -= 1;
            };
            ctx.signal.addEventListener('abort', uncount, { once: true });
            const call = async (): Promise<ProcessResult> => {
              await sleep(backendModel.latency);
              if (behaviour?.kind === 'backend') {
                // A promise never settles by itself; cancelled, it rejects (a fetch does). One that
                // ignored its signal too would keep its slot for ever, as SPEC 4 says a slot is held
                // until the backend's work has really ended.
                if (behaviour.what === 'hang') {
                  return new Promise<ProcessResult>((_, reject) => {
                    if (ctx.signal.aborted) reject(ctx.signal.reason as Error);
                    else ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
                  });
                }
                await sleep(behaviour.delay);
                if (record !== undefined) record.ended = true;
                if (behaviour.what === 'error') throw new Error(`backend errored p${index}`);
                return undefined as never; // empty
              }
              return process.execute(ctx);
            };
            return call().finally(uncount);
          }
          return new Observable<ProcessResult>((subscriber) => {
            const run = runOf(ctx);
            subscribing(run, 1);
            try {
              return probeCall(subscriber, run);
            } finally {
              subscribing(run, -1);
            }
          });
          function probeCall(subscriber: Subscriber<ProcessResult>, run: number): Subscription {
            adjustLive(run, 1);
            backendTrace.probeInFlight += 1;
            backendTrace.probePeak = Math.max(backendTrace.probePeak, backendTrace.probeInFlight);
            const work = new Subscription(() => {
              adjustLive(run, -1);
              backendTrace.probeInFlight -= 1;
            });
            const outcome = (): void => {
              if (behaviour?.kind === 'backend') {
                if (behaviour.what === 'hang') return;
                if (record !== undefined) record.ended = true;
                if (behaviour.what === 'error') subscriber.error(new Error(`backend errored p${index}`));
                else subscriber.complete(); // empty
                return;
              }
              work.add(process.execute$(ctx).subscribe(subscriber));
            };
            const delay = backendModel.latency + (behaviour?.kind === 'backend' ? behaviour.delay : 0);
            if (delay <= 0) outcome();
            else work.add(raw.schedule(outcome, delay));
            return work;
          }
        },
      };
    }
    registry.register(name, backend);
    backendTraces.push(backendTrace);
  });
  backendTraces.push(defaultTrace);

  // ---- processes ------------------------------------------------------------------------------
  const names = model.pairs.map((_, index) => `p${index}`);
  const placements = model.pairs.map((pair, index) => {
    const backend = backendIndex(model, pair);
    if (backend === model.backends.length) return new Placement({ model: `m${index}` });
    // Half reach their backend by endpoint, half by the endpoint's scheme.
    return new Placement(index % 2 === 0 ? { endpoint: `b${backend}`, model: `m${index}` } : { endpoint: `b${backend}:${8000 + index}` });
  });
  const expectedBackend = model.pairs.map((pair) => backendTraces[backendIndex(model, pair)] as BackendTrace);
  model.pairs.forEach((pair) => {
    const backend = backendIndex(model, pair);
    const kind = backend === model.backends.length ? 'default' : (model.backends[backend] as BackendModel).kind;
    behaviours.push(effectiveBehaviour(pair.behaviour, kind));
  });

  const processes = model.pairs.map((pair, index) => {
    const behaviour = behaviours[index] as Behaviour;
    const body = (ctx: ProcessContext): ProcessResult | Observable<ProcessResult> | PromiseLike<ProcessResult> =>
      runBody(ctx, index, pair, behaviour, expectedBackend[index] as BackendTrace);
    const process = makeProcess(names[index] as string, body);
    return pair.optional ? process.optional() : process;
  });

  function runBody(ctx: ProcessContext, index: number, pair: PairModel, behaviour: Behaviour, backend: BackendTrace): ProcessResult | Observable<ProcessResult> | PromiseLike<ProcessResult> {
    const record = recordAttempt(ctx, index);
    record.bodyStarted = true;
    const run = runOf(ctx);
    // Concurrency as the body sees it: from its start to its outcome, teardown or abort.
    let counted = true;
    backend.bodyInFlight += 1;
    backend.bodyPeak = Math.max(backend.bodyPeak, backend.bodyInFlight);
    const uncount = (): void => {
      if (!counted) return;
      counted = false;
      backend.bodyInFlight -= 1;
    };
    const end = (): void => {
      record.ended = true;
      uncount();
    };
    // A promise that ignores its signal runs on: it is counted until it really ends (SPEC 4: its slot is held as long).
    const ignoresForGood = behaviour.kind === 'ignore' && !real && behaviour.style === 'promise';
    const watchesSignal = !ignoresForGood && (real || pair.readsSignal || behaviour.kind === 'ignore');
    if (watchesSignal) {
      if (ctx.signal.aborted) uncount();
      else ctx.signal.addEventListener('abort', uncount, { once: true });
    }
    const rogue = (): void => {
      // Timers that are no part of any subscription: they keep emitting after the process was cancelled.
      for (const at of [2, 4, 6]) raw.schedule(() => ctx.emit('rogue'), at);
    };

    // Synchronous behaviours.
    switch (behaviour.kind) {
      case 'throw':
        if (pair.emitOnSubscribe) ctx.emit('sync');
        end();
        throw new Error(`thrown p${index}`);
      case 'invalid':
        if (behaviour.sync) {
          if (pair.emitOnSubscribe) ctx.emit('sync');
          end();
          return 42 as never;
        }
        break;
      case 'ignore':
        if (behaviour.style === 'promise') {
          if (pair.emitOnSubscribe) ctx.emit('sync');
          if (behaviour.rogue) rogue();
          return settlesAfterAbort(ctx.signal, raw, IGNORED_RUNS_FOR, () => {
            end();
            return ProcessResult.ok(`v${index}`);
          });
        }
        break;
      default:
        break;
    }
    if (real) return realBody(ctx, index, pair, behaviour, end, rogue);

    return new Observable<ProcessResult>((subscriber) => {
      subscribing(run, 1);
      try {
        return subscribeBody(subscriber);
      } finally {
        subscribing(run, -1);
      }
    });

    function subscribeBody(subscriber: Subscriber<ProcessResult>): Subscription {
      adjustLive(run, 1);
      const work = new Subscription(() => {
        adjustLive(run, -1);
        uncount();
      });
      if (behaviour.kind === 'ignore') {
        // No teardown of its own: only the harness notices the unsubscription.
        if (pair.emitOnSubscribe) ctx.emit('sync');
        if (behaviour.rogue) rogue();
        return work;
      }
      if (behaviour.kind === 'honour') {
        const onAbort = (): void => {
          end();
          if (behaviour.reaction === 'error') subscriber.error(ctx.signal.reason);
          else {
            subscriber.next(ProcessResult.ok(`v${index}`));
            subscriber.complete();
          }
        };
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        work.add(() => ctx.signal.removeEventListener('abort', onAbort));
        if (pair.emitOnSubscribe) ctx.emit('sync');
        return work;
      }
      if (pair.emitOnSubscribe) ctx.emit('sync');
      const delay = 'delay' in behaviour ? behaviour.delay : 0;
      const at = (ms: number, action: () => void): void => {
        if (ms <= 0) action();
        else work.add(raw.schedule(action, ms));
      };
      if (behaviour.kind !== 'never') {
        for (let partial = 0; partial < pair.partials; partial += 1) at((delay * (partial + 1)) / (pair.partials + 1), () => ctx.emit(`partial-${partial}`));
      } else {
        for (let partial = 0; partial < pair.partials; partial += 1) at(partial + 1, () => ctx.emit(`partial-${partial}`));
      }
      if (behaviour.kind === 'never') return work;
      at(delay, () => {
        end();
        switch (behaviour.kind) {
          case 'ok':
            subscriber.next(ProcessResult.ok(`v${index}`));
            subscriber.complete();
            break;
          case 'fail':
            subscriber.next(ProcessResult.fail(new Error(`failed p${index}`)));
            subscriber.complete();
            break;
          case 'error':
            subscriber.error(new Error(`errored p${index}`));
            break;
          case 'empty':
            subscriber.complete();
            break;
          case 'invalid':
            subscriber.next(42 as never);
            subscriber.complete();
            break;
          case 'flaky':
            if (ctx.attempt <= behaviour.failures) subscriber.error(new Error(`flaky p${index}`));
            else {
              subscriber.next(ProcessResult.ok(`v${index}`));
              subscriber.complete();
            }
            break;
          case 'backend':
            // Not reachable: backend-level behaviours are played by the backend.
            subscriber.error(new Error(`unexpected backend behaviour for p${index}`));
            break;
        }
      });
      return work;
    }
  }

  /** A promise-based body: true rejections and real timers; it notices cancellation only through its signal. */
  async function realBody(ctx: ProcessContext, index: number, pair: PairModel, behaviour: Behaviour, end: () => void, rogue: () => void): Promise<ProcessResult> {
    if (pair.emitOnSubscribe) ctx.emit('sync');
    const delay = 'delay' in behaviour ? behaviour.delay : 0;
    for (let partial = 0; partial < pair.partials; partial += 1) raw.schedule(() => ctx.emit(`partial-${partial}`), (delay * (partial + 1)) / (pair.partials + 1));
    switch (behaviour.kind) {
      case 'ignore':
        if (behaviour.rogue) rogue();
        return new Promise<ProcessResult>((resolve) => {
          const runOn = (): unknown =>
            setTimeout(() => {
              end();
              resolve(ProcessResult.ok(`v${index}`));
            }, IGNORED_RUNS_FOR_REAL);
          if (ctx.signal.aborted) runOn();
          else ctx.signal.addEventListener('abort', runOn, { once: true });
        });
      case 'never':
      case 'honour':
        return new Promise<ProcessResult>((resolve, reject) => {
          const react = (): void => {
            end();
            if (behaviour.kind === 'honour' && behaviour.reaction === 'ok') resolve(ProcessResult.ok(`v${index}`));
            else reject(ctx.signal.reason as Error);
          };
          if (ctx.signal.aborted) react();
          else ctx.signal.addEventListener('abort', react, { once: true });
        });
      default:
        break;
    }
    await sleep(delay);
    end();
    switch (behaviour.kind) {
      case 'ok':
        return ProcessResult.ok(`v${index}`);
      case 'fail':
        return ProcessResult.fail(new Error(`failed p${index}`));
      case 'error':
        throw new Error(`errored p${index}`);
      case 'empty':
        return undefined as never;
      case 'invalid':
        return 42 as never;
      case 'flaky':
        if (ctx.attempt <= behaviour.failures) throw new Error(`flaky p${index}`);
        return ProcessResult.ok(`v${index}`);
      default:
        throw new Error(`unexpected behaviour for p${index}: ${behaviour.kind}`);
    }
  }

  // ---- runs -----------------------------------------------------------------------------------
  const policy = toPolicy(model.policy);
  const items = model.pairs.map((_, index) => [processes[index], placements[index]] as const);

  const startRun = (runModel: RunModel, runIndex: number): Subscription => {
    const subscribedAt = now();
    const late = { timers: 0, subscriptions: 0 };
    let finished = false;
    const counting = countingScheduler(raw, () => {
      if (finished) late.timers += 1;
    });
    clocks.set(runIndex, counting.clock);
    const deadline = model.deadline;
    const deadlineOption = deadline === undefined ? undefined : deadline.asDate ? new Date(subscribedAt + deadline.ms) : deadline.ms / 1000;
    const deadlineAt = deadline === undefined ? undefined : deadline.asDate ? subscribedAt + deadline.ms : subscribedAt + (deadline.ms / 1000) * 1000;
    const group = placedPar(...items, {
      registry,
      scheduler: counting.scheduler,
      onFailure: policy,
      parent: `r${runIndex}`,
      ...(deadlineOption === undefined ? {} : { deadline: deadlineOption }),
    });
    const runTrace: RunTrace = {
      index: runIndex,
      model: runModel,
      subscribedAt,
      deadlineAt,
      engineDeadlineAt: undefined,
      control: undefined,
      events: [],
      result: undefined,
      resultAt: undefined,
      resultSeq: undefined,
      completed: false,
      errored: undefined,
      unsubscribed: undefined,
      finish: undefined,
      late,
      liveAtEnd: 0,
    };
    runs.push(runTrace);
    let subscribing = true;
    const snapshot = (): void => {
      finished = true;
      runTrace.finish = {
        seq: nextSeq(),
        at: now(),
        liveTimers: counting.live.size,
        liveSubscriptions: (liveByRun.get(runIndex) ?? 0) - (subscribingByRun.get(runIndex) ?? 0),
      };
    };
    const observer = {
      complete: () => void (runTrace.completed = true),
      error: (error: unknown) => void (runTrace.errored = { error }),
    };
    let subscription: Subscription;
    if (runModel.front === 'run') {
      // The promise API: it cannot be unsubscribed.
      subscription = new Subscription();
      group.run().then(
        (result) => {
          runTrace.result = result;
          runTrace.resultAt = now();
          runTrace.resultSeq = nextSeq();
          runTrace.completed = true;
          snapshot();
        },
        (error: unknown) => {
          runTrace.errored = { error };
          snapshot();
        },
      );
      return subscription;
    }
    if (runModel.front === 'result') {
      subscription = group.result$
        .pipe(
          tap((result) => {
            runTrace.result = result;
            runTrace.resultAt = now();
            runTrace.resultSeq = nextSeq();
          }),
          finalize(snapshot),
        )
        .subscribe(observer);
    } else {
      let count = 0;
      const stopAfter = runModel.unsubscribe.kind === 'onEvent' ? runModel.unsubscribe.n : Number.POSITIVE_INFINITY;
      subscription = group.events$
        .pipe(
          tap((event) => {
            const at = now();
            const record: EventRecord = { seq: nextSeq(), at, clock: clockOf(runIndex, at, 'event'), event };
            runTrace.events.push(record);
            count += 1;
            if (event.type === 'done') {
              runTrace.result = event.result;
              runTrace.resultAt = record.at;
              runTrace.resultSeq = record.seq;
            } else if (count >= stopAfter) runTrace.unsubscribed = { seq: record.seq, at: record.at, duringSubscribe: subscribing };
          }),
          take(stopAfter),
          finalize(snapshot),
        )
        .subscribe(observer);
    }
    subscribing = false;
    if (real && deadline !== undefined) {
      // The engine computed its deadline while subscribing, so no later than this.
      const latest = deadline.asDate ? subscribedAt + deadline.ms : now() + deadline.ms;
      const control: DeadlineControl = { latest, dueAt: latest + CONTROL_DELAY, firedAt: undefined, turnSeq: undefined };
      runTrace.control = control;
      const handle = setTimeout(() => {
        control.firedAt = now();
        const turn = setImmediate(() => void (control.turnSeq = nextSeq()));
        controls.set(runIndex, () => clearImmediate(turn));
      }, control.dueAt - now());
      controls.set(runIndex, () => clearTimeout(handle));
    }
    if (runModel.unsubscribe.kind === 'at') {
      raw.schedule(() => {
        if (subscription.closed) return;
        runTrace.unsubscribed = { seq: nextSeq(), at: now(), duringSubscribe: false };
        subscription.unsubscribe();
      }, runModel.unsubscribe.ms);
    }
    return subscription;
  };

  const subscriptions: Subscription[] = [];
  /** Real time: how to cancel each run's pending control timer (or its turn). */
  const controls = new Map<number, () => void>();
  model.runs.forEach((runModel, runIndex) => {
    if (runModel.at <= 0) subscriptions.push(startRun(runModel, runIndex));
    else raw.schedule(() => void subscriptions.push(startRun(runModel, runIndex)), runModel.at);
  });

  const allFinished = (): boolean => runs.length === model.runs.length && runs.every((run) => run.finish !== undefined);
  return {
    allFinished,
    overdue: (patienceSpent) =>
      runs.length === model.runs.length &&
      runs.every((run) => run.finish !== undefined || (run.control === undefined ? patienceSpent : run.control.turnSeq !== undefined)),
    closeOpenRuns: () => {
      // Clean up, but the runs still count as never finished.
      const open = runs.filter((run) => run.finish === undefined);
      for (const subscription of subscriptions) subscription.unsubscribe();
      for (const run of open) run.finish = undefined;
    },
    probeableBackends: () => backendTraces.filter((backend) => Number.isFinite(backend.limit) && backend.healthy),
    probeSlots: (backend) => {
      // Every slot a finished run held must be free again: `limit` fresh processes that never end all start at once.
      const on = backend.name === 'default' ? new Placement({ model: 'slot-probe' }) : new Placement({ endpoint: backend.name });
      const never = (): Observable<ProcessResult> => new Observable<ProcessResult>(() => undefined);
      const probes = Array.from({ length: backend.limit }, (_, j) => [makeProcess(`slot-probe-${j}`, never), on] as const);
      let started = 0;
      let queued = 0;
      const group = placedPar(...probes, { registry, scheduler: raw, onFailure: FailurePolicy.COLLECT });
      const subscription = group.events$.subscribe((event) => {
        if (event.type === 'started') started += 1;
        if (event.type === 'queued') queued += 1;
      });
      return {
        allStarted: () => started === backend.limit,
        stop: () => {
          subscription.unsubscribe();
          return { backend: backend.name, limit: backend.limit, started, queued };
        },
      };
    },
    trace: (slotProbes) => {
      for (const cancel of controls.values()) cancel();
      for (const run of runs) run.liveAtEnd = liveByRun.get(run.index) ?? 0;
      return traceOf(slotProbes);
    },
  };

  function traceOf(slotProbes: CaseTrace['slotProbes']): CaseTrace {
    return {
      model,
      names,
      placements,
      expectedBackend,
      behaviours,
      backends: backendTraces,
      // Runs are pushed when they start; keep them in model order.
      runs: [...runs].sort((a, b) => a.index - b.index),
      attempts,
      liveHealthChecks: liveHealth.count,
      slotProbes,
      allFinished: allFinished(),
      realTime: real,
    };
  }
}

function fakeBehaviour(behaviour: Behaviour, index: number, latency: number): FakeBehaviour {
  const seconds = (ms: number): number => ms / 1000;
  if (behaviour.kind !== 'backend') return { delay: seconds(latency) };
  switch (behaviour.what) {
    case 'throw':
      return { throwSync: new Error(`backend threw p${index}`) };
    case 'error':
      return { error: new Error(`backend errored p${index}`), delay: seconds(latency + behaviour.delay) };
    case 'empty':
      return { emptyCompletion: true, delay: seconds(latency + behaviour.delay) };
    case 'hang':
      return { hang: true };
    case 'invalid':
      return { delay: seconds(latency) }; // not reachable: made process-level by effectiveBehaviour
  }
}

/** Whether a FakeBackend call delivered its outcome (or threw at the call). */
export function fakeCallEnded(call: FakeCall): boolean {
  return call.status === 'finished' || call.status === 'threw';
}

/** How long (virtual ms) a promise-based body that ignores its signal runs on after it; in real time, real ms. */
const IGNORED_RUNS_FOR = 20;
const IGNORED_RUNS_FOR_REAL = 3;

/**
 * A promise from another library (a thenable) that never settles by itself and, once `signal`
 * aborts, goes on for `ms` on `scheduler` before it settles with what `settle` returns: a body whose
 * work outlives its cancellation, in virtual time.
 */
function settlesAfterAbort(signal: AbortSignal, scheduler: SchedulerLike, ms: number, settle: () => ProcessResult): PromiseLike<ProcessResult> {
  const waiting: ((result: ProcessResult) => unknown)[] = [];
  let result: ProcessResult | undefined;
  const runOn = (): unknown =>
    scheduler.schedule(() => {
      const settled = settle();
      result = settled;
      for (const resolve of waiting) resolve(settled);
    }, ms);
  if (signal.aborted) runOn();
  else signal.addEventListener('abort', runOn, { once: true });
  const then = (resolve?: ((result: ProcessResult) => unknown) | null): PromiseLike<never> => {
    if (resolve) {
      if (result === undefined) waiting.push(resolve);
      else resolve(result);
    }
    return new Promise<never>(() => undefined);
  };
  return { then } as PromiseLike<ProcessResult>;
}
