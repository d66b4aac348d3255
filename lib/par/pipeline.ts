// The engine, as the sentence that describes it: each placed process becomes an Observable produced
// by the backend chosen from the registry (its health checked first); it waits for and holds a slot
// of its backend's cap and is retried by the policy; the run merges them, cuts them at the deadline
// (one timer for the run) and on HALT, and reduces the events into a PARResult.
//
// Stock RxJS where it scales (defer, from, merge, concat, Subject, map, tap, reduce, and the health
// check's operators); hand-written where it does not or cannot say what we mean, each in its own file:
// - mergePlaced: mergeMap keeps its inners in the parent's finalizer array (quadratic at 100k), and a
//   takeUntil per process on one Subject is quadratic too; a stop walks a list of the live ones once.
// - withSlot: mergeMap(fn, cap) buffers waiters in a shifted array (O(n) past ~16k), cannot withdraw
//   one, and cannot be shared by every run of a backend; and a slot outlives a promise-based body.
// - timerAt: RxJS's timer fires at once for delays past 24.8 days.
// - retryBy: an attempt's failure is a value, not an error, and waits may be that long too.
// - attempt$, afterHealthCheck, haltOn, ownDeadline, abortStop$: the steps themselves.
// - rateGate (inside the slots) and pauseOnRateLimit: a backend's rate limit and its 429 pauses; a
//   backend without them skips both.
// - fallbackChain: a pair with several placements runs each through placed$ in turn (or hedged
//   side by side), moving on by its own rule; a pair with one placement never enters it.
// bench/operators.ts measures mergePlaced and withSlot beside mergeMap.
import { EMPTY, type Observable, Subject, concat, defer, from, map, merge, of, reduce, tap } from 'rxjs';
import { RetryPolicy } from '../policy/FailurePolicy';
import type { Failure } from '../process/Failure';
import { abortStop$ } from './abortStop';
import { afterHealthCheck, hasHealthCheck } from './afterHealthCheck';
import { attempt$ } from './attempt';
import { fallbackChain } from './fallbackChain';
import type { DoneEvent, QueuedEvent } from './events';
import { haltOn } from './haltOn';
import { type Stop, mergePlaced } from './mergePlaced';
import { ownDeadline } from './ownDeadline';
import { PARResult, type PAREntry, SettledEntry } from './PARResult';
import { retryBy } from './retryBy';
import { type EngineEvent, type PlacedTask, type RunSettings, type Settlement, backendName, deadlineError, failed, unavailable } from './task';
import { timerAt } from './timerAt';
import { type Lease, type QueueReason, slotsFor } from './slots';
import { pauseOnRateLimit } from './pauseOnRateLimit';
import { rateDemand } from './rateDemand';
import { withSlot } from './withSlot';

/** One placed process: health check, a slot of its backend, an attempt; again while the policy retries. */
export function placed$<T>(task: PlacedTask<T>): Observable<EngineEvent<T>> {
  // A pair with several placements runs each through this function in turn (fallbackChain.ts).
  if (task.chain !== undefined) return fallbackChain(task, task.chain, placed$);
  const { backend, settings } = task;
  if (backend instanceof Error) return of(settlement(task, backend));
  const queued = settings.verbose ? (reason: QueueReason): QueuedEvent | undefined => (task.attempts === 0 ? { type: 'queued', index: task.index, name: task.process.name, placement: task.placement, backend: backend.name, reason } : undefined) : undefined;
  const slots = slotsFor(backend);
  // A backend with a rate (a limit, or pauses on 429s) asks it before each start; the others skip it.
  const { gate } = slots;
  const demand = gate === undefined ? undefined : rateDemand(task, gate);
  if (demand instanceof Error) return of(settlement(task, demand));
  const work = (lease: Lease): Observable<EngineEvent<T>> => attempt$(task, backend, lease);
  // With telemetry each attempt runs under its span (lib/telemetry); without it, the plain withSlot.
  const { telemetry } = settings;
  const held$ = telemetry === undefined ? withSlot(slots, work, queued, demand) : telemetry.withSlot(task, backend, slots, work, queued, demand);
  const slotted$ = gate !== undefined && backend.pauseOnRateLimit === true ? held$.pipe(pauseOnRateLimit(task, backend, gate)) : held$;
  const checked = settings.health?.of(backend) ?? backend;
  const attempts$ = hasHealthCheck(checked) ? slotted$.pipe(afterHealthCheck<EngineEvent<T>>(checked, (why) => settlement(task, unavailable(task, why.detail, why.cause)))) : slotted$;
  const { policy } = settings;
  const retried$ = policy instanceof RetryPolicy ? attempts$.pipe(retryBy(task, policy)) : attempts$;
  return task.deadlineAt === settings.deadlineAt ? retried$ : retried$.pipe(ownDeadline(task));
}

/**
 * The processes of a run, merged until HALT, the run's deadline or its signal stops them. With `halted`, a HALT
 * errors the stream (mapPlaced) instead of settling the rest.
 */
export function runPlaced<T>(tasks$: Observable<PlacedTask<T>>, settings: RunSettings, halted?: { error: (failure: Failure, task: PlacedTask<T>) => unknown }): Observable<EngineEvent<T>> {
  return defer(() => {
    const halts = new Subject<Stop>();
    const { deadlineAt, scheduler, policy } = settings;
    // One timer for the run, or sooner an attempt that found the deadline past on the clock; a
    // deadline already past stops the run before any of its processes starts.
    const deadline$ = deadlineAt === undefined ? EMPTY : merge(deadlineAt <= scheduler.now() ? of(undefined) : timerAt(scheduler, deadlineAt), settings.deadlinePassed).pipe(map((): Stop => deadlineError));
    // Only what can stop this run is listened to: without a deadline, HALT or a signal, nothing.
    const stops = [deadline$, policy.kind === 'halt' ? halts : EMPTY, abortStop$(settings.signals)].filter((stop) => stop !== EMPTY);
    return tasks$.pipe(
      mergePlaced(placed$, merge(...stops)),
      haltOn(policy, (stop) => halts.next(stop), halted),
    );
  });
}

/**
 * A group's run: its events, then `done` with the `PARResult` they reduce to (one entry per pair).
 * Each pair is placed (`place`) as the merge reaches it, so the first process starts without
 * waiting for the other pairs' backends to be looked up.
 */
export function group$<P, T>(pairs: readonly P[], place: (pair: P, index: number) => PlacedTask<T>, settings: RunSettings): Observable<EngineEvent<T> | DoneEvent<T>> {
  return defer(() => {
    const record = (entries: PAREntry<T>[], event: EngineEvent<T>): PAREntry<T>[] => {
      if (event.type === 'settled') entries[event.task.index] = entryOf(event, settings.scheduler.now());
      return entries;
    };
    const done = (entries: PAREntry<T>[]): DoneEvent<T> => ({ type: 'done', result: new PARResult(entries) });
    const entries = new Array<PAREntry<T>>(pairs.length);
    const events$ = runPlaced(from(pairs).pipe(map(place)), settings);
    // A quiet run's consumer reads only `done`: its events are reduced, not passed on.
    if (!settings.verbose && settings.telemetry === undefined) return events$.pipe(reduce(record, entries), map(done));
    return concat(
      events$.pipe(tap((event) => record(entries, event))),
      defer(() => of(done(entries))),
    );
  });
}

function entryOf<T>({ task, result }: Settlement<T>, settledAt: number): PAREntry<T> {
  return new SettledEntry(task.index, task.process.name, task.placement, backendName(task), result, task.attempts, task.usage, task.startedAt, settledAt, task.key, task.chain?.tried);
}

function settlement<T>(task: PlacedTask<T>, error: Error): Settlement<T> {
  return { type: 'settled', task, result: failed(task, error) };
}
