import fc from 'fast-check';
import { Observable, type SchedulerAction, type SchedulerLike, Subscription, map, merge, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BackendRegistry, LocalBackend, Placement, Process, type ProcessContext, ProcessResult, mapPlaced } from '../../lib';
import { type CaseCounts, checkProperty } from './support/config';
import { type PolicyModel, policyArb } from './support/model';
import { toPolicy } from './support/harness';
import { withoutStackTraces } from './support/stacks';

// mapPlaced, the streaming front of the engine, on random sources in virtual time: items arrive over
// time onto 1–3 capped backends, each with a per-item deadline (or none), under a random policy, in
// completion or source order, and the consumer may leave at any time.

const RUNS: CaseCounts = { quick: 300, full: 2_000 };

type ItemBehaviour = 'ok' | 'error' | 'flaky' | 'never' | 'ignore';

interface ItemModel {
  /** Milliseconds after the previous item. */
  readonly gap: number;
  readonly backend: number;
  readonly behaviour: ItemBehaviour;
  readonly delay: number;
  readonly optional: boolean;
}

interface MapCase {
  readonly limits: readonly number[];
  readonly items: readonly ItemModel[];
  readonly policy: PolicyModel;
  readonly deadlineMs: number | undefined;
  readonly ordered: boolean;
  readonly unsubscribeAt: number | undefined;
}

const mapCaseArb: fc.Arbitrary<MapCase> = fc.record({
  limits: fc.array(fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(Number.POSITIVE_INFINITY)), { minLength: 1, maxLength: 3 }),
  items: fc.array(
    fc.record({
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 6 })),
      backend: fc.integer({ min: 0, max: 2 }),
      behaviour: fc.oneof(
        { weight: 5, arbitrary: fc.constant<ItemBehaviour>('ok') },
        { weight: 2, arbitrary: fc.constant<ItemBehaviour>('error') },
        { weight: 2, arbitrary: fc.constant<ItemBehaviour>('flaky') },
        { weight: 1, arbitrary: fc.constantFrom<ItemBehaviour>('never', 'ignore') },
      ),
      delay: fc.integer({ min: 0, max: 12 }),
      optional: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
    { maxLength: 30, size: 'max' },
  ),
  policy: policyArb,
  deadlineMs: fc.option(fc.integer({ min: 1, max: 25 }), { freq: 2, nil: undefined }),
  ordered: fc.boolean(),
  unsubscribeAt: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 3, nil: undefined }),
});

class PropertyFailure extends Error {
  override name = 'PropertyFailure';
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new PropertyFailure(message());
}

function runMapCase(model: MapCase): void {
  const scheduler = new TestScheduler(() => undefined);
  scheduler.run(() => {
    let seq = 0;
    const nextSeq = (): number => (seq += 1);
    const limits = model.limits;
    const live = limits.map(() => ({ now: 0, peak: 0 }));
    const registry = new BackendRegistry();
    limits.forEach((limit, k) => registry.register(`b${k}`, new LocalBackend({ concurrencyLimit: limit })));
    const arrival: number[] = [];
    let at = 0;
    for (const item of model.items) arrival.push((at += item.gap));
    const backendOf = (index: number): number => (model.items[index] as ItemModel).backend % limits.length;
    const placements = model.items.map((_, index) => new Placement({ endpoint: `b${backendOf(index)}` }));
    const attempts: { index: number; ctx: ProcessContext; seq: number; at: number; ended: boolean }[] = [];
    const engineTimers = new Set<Subscription>();
    let finished = false;
    let lateTimers = 0;
    const counting: SchedulerLike = {
      now: () => scheduler.now(),
      schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
        if (finished) lateTimers += 1;
        const action: Subscription = scheduler.schedule<S>(function (this: SchedulerAction<S>, inner?: S) {
          engineTimers.delete(action);
          work.call(this, inner);
        }, delay, state);
        engineTimers.add(action);
        action.add(() => engineTimers.delete(action));
        return action;
      },
    };

    const processes = model.items.map((item, index) => {
      const body = (ctx: ProcessContext): Observable<ProcessResult> | Promise<ProcessResult> => {
        const record = { index, ctx, seq: nextSeq(), at: scheduler.now(), ended: false };
        attempts.push(record);
        const meter = live[backendOf(index)] as { now: number; peak: number };
        meter.now += 1;
        meter.peak = Math.max(meter.peak, meter.now);
        let counted = true;
        const uncount = (): void => {
          if (counted) meter.now -= 1;
          counted = false;
        };
        if (item.behaviour === 'ignore') {
          ctx.signal.addEventListener('abort', uncount, { once: true });
          return new Promise<ProcessResult>(() => undefined);
        }
        return new Observable<ProcessResult>((subscriber) => {
          const work = new Subscription(uncount);
          if (item.behaviour === 'never') return work;
          work.add(
            timer(item.delay, scheduler).subscribe(() => {
              record.ended = true;
              uncount();
              if (item.behaviour === 'error' || (item.behaviour === 'flaky' && ctx.attempt === 1)) subscriber.error(new Error(`${item.behaviour} p${index}`));
              else {
                subscriber.next(ProcessResult.ok(`v${index}`));
                subscriber.complete();
              }
            }),
          );
          return work;
        });
      };
      const process = Process(`p${index}`, body);
      return item.optional ? process.optional() : process;
    });

    const emitted: { seq: number; at: number; result: ProcessResult }[] = [];
    let completed = false;
    let errored: { error: unknown; seq: number } | undefined;
    let unsubscribedSeq: number | undefined;
    const source = merge(...arrival.map((when, index) => timer(when, scheduler).pipe(map(() => index))));
    const subscription = source
      .pipe(
        mapPlaced((index: number) => [processes[index] as ReturnType<typeof Process>, placements[index] as Placement] as const, {
          registry,
          scheduler: counting,
          onFailure: toPolicy(model.policy),
          ordered: model.ordered,
          ...(model.deadlineMs === undefined ? {} : { deadline: model.deadlineMs / 1000 }),
        }),
      )
      .subscribe({
        next: (result) => void emitted.push({ seq: nextSeq(), at: scheduler.now(), result }),
        error: (error: unknown) => {
          errored = { error, seq: nextSeq() };
          finished = true;
        },
        complete: () => {
          completed = true;
          finished = true;
        },
      });
    let liveTimersAtFinish = 0;
    if (model.unsubscribeAt !== undefined) {
      scheduler.schedule(() => {
        if (subscription.closed) return;
        unsubscribedSeq = nextSeq();
        subscription.unsubscribe();
        finished = true;
        liveTimersAtFinish = engineTimers.size;
      }, model.unsubscribeAt);
    }
    scheduler.flush();
    if (finished && unsubscribedSeq === undefined) liveTimersAtFinish = engineTimers.size;

    const n = model.items.length;
    const indexOf = (result: ProcessResult): number => Number((result.isOk ? String(result.value) : result.failure.processName).slice(1));
    const maxAttempts = model.policy.kind === 'retry' ? model.policy.maxAttempts : 1;

    // Caps hold.
    live.forEach((meter, k) => check(meter.peak <= (limits[k] as number), () => `backend b${k}: ${meter.peak} ran at once, cap ${limits[k]}`));
    // Retry bounds; nothing starts after an item's deadline.
    for (let index = 0; index < n; index += 1) {
      const count = attempts.filter((attempt) => attempt.index === index).length;
      check(count <= maxAttempts, () => `p${index} ran ${count} attempts, maxAttempts ${maxAttempts}`);
    }
    if (model.deadlineMs !== undefined) {
      const deadlineMs = model.deadlineMs;
      for (const attempt of attempts) {
        const due = (arrival[attempt.index] as number) + (deadlineMs / 1000) * 1000;
        check(attempt.at < due, () => `p${attempt.index} started at ${attempt.at} ms, its deadline is at ${due} ms`);
      }
      for (const { at: when, result } of emitted) {
        const index = indexOf(result);
        const due = (arrival[index] as number) + (deadlineMs / 1000) * 1000;
        check(when <= due + 1e-6, () => `p${index}'s result came at ${when} ms, after its deadline at ${due} ms`);
      }
    }
    // Each item gives at most one result; in order when asked.
    const seen = emitted.map(({ result }) => indexOf(result));
    check(new Set(seen).size === seen.length, () => `an item gave two results: ${seen.join(',')}`);
    if (model.ordered) check(seen.every((index, position) => index === position), () => `ordered results came as ${seen.join(',')}`);
    if (completed) {
      check(errored === undefined, () => 'completed and errored');
      check(seen.length === n, () => `completed with ${seen.length} results for ${n} items`);
      check(model.policy.kind !== 'halt' || emitted.every(({ result }) => result.isOk || model.items[indexOf(result)]?.optional === true), () => 'a non-optional failure was emitted under HALT');
    }
    if (errored !== undefined) {
      const failure = errored;
      check(model.policy.kind === 'halt', () => `the stream errored under ${model.policy.kind}: ${String(failure.error)}`);
      check(failure.error instanceof Error, () => 'the stream errored with a non-Error');
      for (const { result } of emitted) check(result.isOk || model.items[indexOf(result)]?.optional === true, () => `p${indexOf(result)} failed, was emitted, and did not halt`);
      for (const attempt of attempts) check(attempt.seq < failure.seq, () => `p${attempt.index} started after the stream errored`);
    }
    if (!finished) {
      check(
        model.deadlineMs === undefined && model.items.some((item) => item.behaviour === 'never' || item.behaviour === 'ignore'),
        () => 'the stream never finished although every item ends or has a deadline',
      );
      return;
    }
    // Nothing of a finished stream is left: no body running, no timer, no signal left unaborted.
    if (unsubscribedSeq !== undefined) for (const attempt of attempts) check(attempt.seq < unsubscribedSeq, () => `p${attempt.index} started after the consumer left`);
    live.forEach((meter, k) => check(meter.now === 0, () => `backend b${k}: ${meter.now} bodies still running after the stream finished`));
    for (const attempt of attempts) check(attempt.ended || attempt.ctx.signal.aborted, () => `p${attempt.index} attempt ${attempt.ctx.attempt} left running without its signal aborting`);
    check(liveTimersAtFinish === 0 && lateTimers === 0, () => `${liveTimersAtFinish} engine timers live at the end, ${lateTimers} scheduled after it`);
  });
}

withoutStackTraces();

test('mapPlaced on random sources: one result per item (in order when asked), caps, per-item deadlines, HALT, retries, cleanup', () => {
  checkProperty('mapPlaced', fc.property(mapCaseArb, runMapCase), RUNS);
}, 180_000);
