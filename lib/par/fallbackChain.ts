import { Observable, Subscriber, type Subscription } from 'rxjs';
import { CancelledError, PlacementTimeoutError } from '../errors';
import type { Placement } from '../placement/Placement';
import { Failure } from '../process/Failure';
import { ProcessResult } from '../process/ProcessResult';
import { fallbackReason } from './chainSpec';
import type { FallbackReason, PartialEvent } from './events';
import type { PlacementAttempt } from './PARResult';
import { type EngineEvent, type PlacedTask, backendName, failed, placeTask } from './task';
import { deferDrains } from './slots';
import { timerAt } from './timerAt';
import type { ChainState } from './chainedTask';

/** How the chain passes a placement's events on, and what it keeps of each placement it runs. */
interface Running<T> {
  readonly task: PlacedTask<T>;
  readonly subscriber: Subscriber<EngineEvent<T>>;
  readonly hedge: boolean;
  /** Its partials, held back while another placement's are the ones shown. */
  held: PartialEvent[];
  /** The chain's `timeout` for it, while it runs. */
  timeout: Subscription | undefined;
}

/**
 * Runs a pair's fallback chain: its first placement through `placeOne` (health check, slot,
 * attempt, retries: the pipeline of a single placement), and on a final failure that the chain
 * counts as a reason to move on (`spec.movesOn`; a placement past the chain's `timeout` is cut and
 * fails with a `PlacementTimeoutError`) the next one, announced by a `fallback` event;
 * with a hedge, the next placement also starts when the current one has not settled `hedge.after`
 * after it started. The first success settles the pair and cancels every other placement still
 * running (its signal aborts with a `CancelledError` `superseded`; its slot returns when its work
 * has ended, as any cut attempt's). When nothing is left to try, the last failure settles the pair,
 * the earlier ones attached (`failure.previous`). A stop of the run (HALT, the deadline,
 * unsubscription) cuts every placement running, with the run's reason.
 *
 * Partials: the consumer sees one placement's at a time, the first to publish; another's are held
 * back. When the shown placement fails after publishing, `onStreamBreak: 'fail'` settles the pair
 * with that failure (its partials stand), and `'restart'` emits `restarted` (the partials so far are
 * void) and goes on; the next placement shown has its held partials replayed first.
 *
 * ```
 * placements [a, b], a fails:       hedged after 3 ms, b wins:
 * a:       -s-(X|)                  a:       -s-------!          (cancelled: superseded)
 * b:             s--(B|)            b:           s--(B|)
 * result:  -s-(fs)--(R|)            result:  -s--(hs)--(R|)      f: fallback "failed", h: fallback "hedge"
 * ```
 *
 * @example
 * ```ts
 * if (task.chain !== undefined) return fallbackChain(task, task.chain, placed$);
 * ```
 */
export function fallbackChain<T>(task: PlacedTask<T>, chain: ChainState<T>, placeOne: (task: PlacedTask<T>) => Observable<EngineEvent<T>>): Observable<EngineEvent<T>> {
  return new Observable<EngineEvent<T>>((subscriber) => {
    const { spec } = chain;
    const { settings } = task;
    const { scheduler, verbose } = settings;
    const running = new Map<PlacedTask<T>, Running<T>>();
    const failures: Failure[] = [];
    let next = 0;
    let settled = false;
    let hedgeTimer: Subscription | undefined;
    let shown: Running<T> | undefined;

    const event = <E extends EngineEvent<T>>(built: () => E): void => {
      if (verbose) subscriber.next(built());
    };
    const record = (tried: PlacedTask<T>, hedge: boolean, outcome: PlacementAttempt['outcome'], failure: Failure | undefined): void => {
      chain.tried.push({
        placement: tried.placement,
        backend: backendName(tried),
        outcome,
        failure,
        attempts: tried.attempts,
        hedge,
        startedAt: tried.startedAt === undefined ? undefined : new Date(tried.startedAt),
        endedAt: new Date(scheduler.now()),
      });
    };
    const cut = (reason: (tried: PlacedTask<T>) => Error): void => {
      hedgeTimer?.unsubscribe();
      for (const each of [...running.values()]) {
        running.delete(each.task);
        each.timeout?.unsubscribe();
        const error = reason(each.task);
        each.task.cutReason ??= error;
        each.subscriber.unsubscribe();
        record(each.task, each.hedge, 'cancelled', new Failure(error, { processName: task.process.name, placement: each.task.placement, backend: backendName(each.task), failedAt: new Date(scheduler.now()) }));
      }
    };
    /** The partials so far are void; then `to`'s held ones are shown, else another running placement's, if any. */
    const restart = (from: Running<T>, to?: Running<T>): void => {
      event(() => ({ type: 'restarted', index: task.index, name: task.process.name, placement: from.task.placement }));
      shown = undefined;
      if (to !== undefined) return show(to);
      for (const other of running.values()) {
        if (other.held.length === 0) continue;
        show(other);
        return;
      }
    };
    const show = (run: Running<T>): void => {
      shown = run;
      const held = run.held;
      run.held = [];
      for (const partial of held) subscriber.next(partial);
    };
    const settle = (winner: PlacedTask<T>, result: ProcessResult<T>): void => {
      settled = true;
      chain.current = winner;
      // The slots the losers free go on after the settlement: the pair settles, then a waiter starts.
      deferDrains(() => {
        cut(() => new CancelledError('superseded'));
        subscriber.next({ type: 'settled', task, result });
      });
      subscriber.complete();
    };
    const failWith = (last: Running<T>, failure: Failure): void => {
      const previous = failures.slice(0, -1);
      settle(last.task, ProcessResult.fail<T>(failure.with({ attempts: task.attempts, previous })));
    };
    const movesOn = (failure: Failure): boolean => {
      try {
        return spec.movesOn(failure);
      } catch {
        return false; // a predicate that throws keeps the failure it was asked about
      }
    };
    const armHedge = (after: number | undefined): void => {
      hedgeTimer?.unsubscribe();
      hedgeTimer = undefined;
      if (after === undefined || next >= spec.placements.length) return;
      const from = chain.current;
      hedgeTimer = timerAt(scheduler, scheduler.now() + after).subscribe(() => {
        hedgeTimer = undefined;
        if (settled || next >= spec.placements.length) return;
        moveOn(from.placement, 'hedge', undefined);
      });
    };
    const moveOn = (from: Placement, reason: FallbackReason, failure: Failure | undefined): void => {
      const placement = spec.placements[next];
      if (placement === undefined) return;
      event(() => ({ type: 'fallback', index: task.index, name: task.process.name, placement: from, from, to: placement, reason, failure }));
      start(placement, reason === 'hedge');
    };
    const onSettled = (run: Running<T>, result: ProcessResult<T>): void => {
      if (settled || !running.has(run.task)) return;
      running.delete(run.task);
      run.timeout?.unsubscribe();
      const failure = result.failureOrUndefined;
      if (failure === undefined) {
        record(run.task, run.hedge, 'ok', undefined);
        if (shown !== undefined && shown !== run) restart(shown, run);
        return settle(run.task, result);
      }
      failures.push(failure);
      record(run.task, run.hedge, 'failed', failure);
      if (shown === run) {
        if (spec.onStreamBreak === 'fail') return failWith(run, failure);
        restart(run);
      }
      if (!movesOn(failure)) next = spec.placements.length; // nothing further starts; a hedge running may still win
      else if (next < spec.placements.length) return moveOn(run.task.placement, fallbackReason(failure), failure);
      if (running.size === 0) failWith(run, failure);
    };
    const start = (placement: Placement | undefined, hedge: boolean): void => {
      next += 1;
      const placed = placement === undefined ? chain.current : placeTask(task.index, task.process, placement, settings, task.deadlineAt, task.key);
      if (placement !== undefined) chain.tries.push(placed);
      chain.current = placed;
      const run: Running<T> = {
        task: placed,
        hedge,
        held: [],
        timeout: undefined,
        subscriber: new Subscriber<EngineEvent<T>>({
          next: (inner: EngineEvent<T>) => {
            if (inner.type === 'settled') return onSettled(run, inner.result);
            if (inner.type !== 'partial') return subscriber.next(inner);
            if (shown === undefined) shown = run;
            if (shown === run) subscriber.next(inner);
            else run.held.push(inner);
          },
          error(error: unknown) {
            subscriber.error(error);
          },
          complete() {}, // its settlement said all
        }),
      };
      running.set(placed, run);
      armHedge(spec.hedgeAfterMs);
      const { timeout } = spec;
      if (timeout !== undefined) run.timeout = timerAt(scheduler, scheduler.now() + timeout * 1000).subscribe(() => timedOut(run, timeout));
      placeOne(placed).subscribe(run.subscriber);
    };
    /** The placement took longer than the chain's `timeout`: cut it (its signal aborts with the timeout) and go on as after a failure. */
    const timedOut = (run: Running<T>, seconds: number): void => {
      const error = new PlacementTimeoutError(run.task.placement, seconds);
      run.task.cutReason ??= error;
      // The slot it frees goes on once the chain has moved on: never to a waiter ahead of the next placement.
      deferDrains(() => {
        run.subscriber.unsubscribe();
        onSettled(run, failed(run.task, error));
      });
    };

    start(undefined, false); // the primary, placed with the pair
    return () => {
      if (!settled) cut((tried) => task.cutReason ?? tried.cutReason ?? new CancelledError('unsubscribed'));
    };
  });
}
