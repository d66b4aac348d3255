import fc from 'fast-check';
import { map, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  BackendRegistry,
  CancelledError,
  type ChainOptions,
  FailurePolicy,
  type HealthAnswer,
  PLACED_PAR,
  type PARResult,
  PlacementTimeoutError,
  type ParEvent,
  Placement,
  Process,
  ProcessResult,
} from '../../../lib';
import { FakeBackend, type FakeBehaviour } from '../../../lib/testing';

// Random groups whose pairs have fallback chains and hedges, run in virtual time on FakeBackends,
// and the invariants of chains checked on what happened (see chains.property.spec.ts).

/** What one placement of a pair does on each call. Delays are milliseconds. */
export type ChainBehaviour =
  | { readonly kind: 'ok'; readonly delay: number; readonly partials: number }
  /** A retryable error (the chain moves on once the policy is spent). */
  | { readonly kind: 'error'; readonly delay: number; readonly partials: number }
  /** An error marked `retryable: false` (the chain stops there). */
  | { readonly kind: 'permanent'; readonly delay: number }
  /** Never finishes until cancelled. */
  | { readonly kind: 'hang' };

export interface ChainBackendModel {
  readonly limit: number;
  readonly health: 'up' | 'down' | 'late-up' | 'late-down';
}

export interface ChainPairModel {
  /** Backend indices (mod the number of backends), first choice first: 1 to 3 placements. */
  readonly chain: readonly number[];
  /** What the call on each placement of the chain does (by position; the last one repeats). */
  readonly behaviours: readonly ChainBehaviour[];
  readonly hedgeMs: number | undefined;
  /** The chain's `timeout` per placement (ms), if any. */
  readonly timeoutMs: number | undefined;
  readonly onStreamBreak: 'restart' | 'fail';
  readonly optional: boolean;
}

export interface ChainCaseModel {
  readonly backends: readonly ChainBackendModel[];
  readonly pairs: readonly ChainPairModel[];
  readonly policy: { readonly kind: 'halt' } | { readonly kind: 'collect' } | { readonly kind: 'retry'; readonly maxAttempts: number };
  readonly deadlineMs: number | undefined;
  readonly healthCheckIntervalMs: number | undefined;
}

const delayArb = fc.integer({ min: 0, max: 12 });
const partialsArb = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) });

const behaviourArb: fc.Arbitrary<ChainBehaviour> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ok' as const), delay: delayArb, partials: partialsArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('error' as const), delay: delayArb, partials: partialsArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('permanent' as const), delay: delayArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hang' as const) }) },
);

/** A random group of 1–12 pairs, each with a chain of 1–3 placements over 1–3 capped backends, often hedged. */
export const chainCaseArb: fc.Arbitrary<ChainCaseModel> = fc.record({
  backends: fc.array(
    fc.record({
      limit: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) }),
      health: fc.oneof({ weight: 6, arbitrary: fc.constant('up' as const) }, { weight: 1, arbitrary: fc.constantFrom('down' as const, 'late-up' as const, 'late-down' as const) }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  pairs: fc.array(
    fc.record({
      chain: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
      behaviours: fc.array(behaviourArb, { minLength: 1, maxLength: 3 }),
      hedgeMs: fc.option(fc.integer({ min: 1, max: 10 }), { freq: 2, nil: undefined }),
      timeoutMs: fc.option(fc.integer({ min: 1, max: 15 }), { freq: 3, nil: undefined }),
      onStreamBreak: fc.constantFrom('restart' as const, 'fail' as const),
      optional: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  policy: fc.oneof(
    fc.constant({ kind: 'halt' as const }),
    fc.constant({ kind: 'collect' as const }),
    fc.record({ kind: fc.constant('retry' as const), maxAttempts: fc.integer({ min: 1, max: 3 }) }),
  ),
  deadlineMs: fc.option(fc.integer({ min: 1, max: 40 }), { freq: 3, nil: undefined }),
  healthCheckIntervalMs: fc.option(fc.integer({ min: 1, max: 20 }), { freq: 2, nil: undefined }),
});

/** One instant of a backend: how many of its calls ran then (after each change). */
export interface ChainTrace {
  readonly model: ChainCaseModel;
  readonly fakes: readonly FakeBackend[];
  readonly events: { readonly at: number; readonly event: ParEvent }[];
  readonly result: PARResult | undefined;
  readonly completed: boolean;
  readonly errored: boolean;
  /** The most calls each backend ran at once, seen at every change. */
  readonly peaks: readonly number[];
}

/** A placement of the case: its backend, and its position in the pair's chain (in `config`, to tell the calls apart). */
function placementOf(backend: number, position: number): Placement {
  return new Placement({ endpoint: `b${backend}`, config: { position } });
}

function fakeBehaviour(behaviour: ChainBehaviour, backend: number, index: number): FakeBehaviour {
  switch (behaviour.kind) {
    case 'ok':
      return { result: `b${backend}:p${index}`, delay: behaviour.delay / 1000, partials: Array.from({ length: behaviour.partials }, (_, n) => `b${backend}:${n}`) };
    case 'error':
      return { error: new Error(`b${backend} failed`), delay: behaviour.delay / 1000, partials: Array.from({ length: behaviour.partials }, (_, n) => `b${backend}:${n}`) };
    case 'permanent':
      return { error: Object.assign(new Error(`b${backend} refused`), { retryable: false }), delay: behaviour.delay / 1000 };
    case 'hang':
      return { hang: true };
  }
}

/** Runs a case in virtual time and records its events, result and each backend's calls and peak concurrency. */
export function runChainCase(model: ChainCaseModel): ChainTrace {
  const scheduler = new TestScheduler(() => undefined);
  const events: { at: number; event: ParEvent }[] = [];
  let result: PARResult | undefined;
  let completed = false;
  let errored = false;
  const fakes: FakeBackend[] = [];
  const peaks = model.backends.map(() => 0);
  // A call that hangs is only ended by a win elsewhere or a stop: give such a case a deadline.
  const hangs = model.pairs.some((pair) => pair.behaviours.some((behaviour) => behaviour.kind === 'hang'));
  const deadlineMs = model.deadlineMs ?? (hangs ? 50 : undefined);
  scheduler.run(() => {
    const registry = new BackendRegistry();
    model.backends.forEach((backend, b) => {
      const healthy = (): HealthAnswer => {
        if (backend.health === 'up' || backend.health === 'down') return backend.health === 'up';
        return timer(2).pipe(map(() => backend.health === 'late-up'));
      };
      const fake = new FakeBackend({
        name: `b${b}`,
        concurrencyLimit: backend.limit,
        healthy: backend.health === 'up' ? true : healthy,
        script: (call) => {
          const index = Number(call.name.slice(1));
          const pair = model.pairs[index];
          const position = Number(call.placement.config?.['position'] ?? 0);
          const behaviour = pair?.behaviours[Math.min(position, pair.behaviours.length - 1)];
          return behaviour === undefined ? undefined : fakeBehaviour(behaviour, b, index);
        },
      });
      fakes.push(fake);
      registry.register(`b${b}`, fake);
    });
    const processes = model.pairs.map((pair, index) => {
      const process = Process(`p${index}`, () => ProcessResult.ok('never: the fakes answer'));
      return pair.optional ? process.optional() : process;
    });
    const items = model.pairs.map((pair, index) => {
      const placements = pair.chain.map((backend, position) => placementOf(backend % model.backends.length, position));
      const options: ChainOptions = {
        onStreamBreak: pair.onStreamBreak,
        ...(pair.hedgeMs === undefined ? {} : { hedge: { after: pair.hedgeMs / 1000 } }),
        ...(pair.timeoutMs === undefined ? {} : { timeout: pair.timeoutMs / 1000 }),
      };
      return [processes[index] ?? processes[0], placements, options] as const;
    });
    const policy = model.policy.kind === 'halt' ? FailurePolicy.HALT : model.policy.kind === 'collect' ? FailurePolicy.COLLECT : FailurePolicy.retry({ maxAttempts: model.policy.maxAttempts, backoff: 'constant', baseDelay: 0.002 });
    const group = PLACED_PAR(...(items as never[]), {
      registry,
      scheduler,
      onFailure: policy,
      ...(deadlineMs === undefined ? {} : { deadline: deadlineMs / 1000 }),
      ...(model.healthCheckIntervalMs === undefined ? {} : { healthCheckInterval: model.healthCheckIntervalMs / 1000 }),
    });
    // Sample every backend's in-flight count after each event and on every frame the case can reach.
    const sample = (): void => fakes.forEach((fake, b) => (peaks[b] = Math.max(peaks[b] ?? 0, fake.inFlight)));
    for (let frame = 0; frame <= 200; frame += 1) scheduler.schedule(sample, frame);
    group.events$.subscribe({
      next: (event) => {
        sample();
        events.push({ at: scheduler.now(), event });
        if (event.type === 'done') result = event.result;
      },
      error: () => (errored = true),
      complete: () => (completed = true),
    });
  });
  return { model, fakes, events, result, completed, errored, peaks: peaks.map((peak, b) => Math.max(peak, fakes[b]?.peakConcurrency ?? 0)) };
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new Error(message());
}

/** Every pair settles once: one `settled` event per index, then `done`; the run completes without error. */
export function checkSettlesOnce(trace: ChainTrace): void {
  check(trace.completed && !trace.errored, () => 'the run did not complete cleanly');
  check(trace.result !== undefined && trace.result.results.length === trace.model.pairs.length, () => 'no result with one entry per pair');
  const settled = trace.model.pairs.map((_, index) => trace.events.filter(({ event }) => event.type === 'settled' && event.index === index).length);
  check(
    settled.every((count) => count === 1),
    () => `settled events per pair: ${settled.join(',')}`,
  );
  check(trace.events.at(-1)?.event.type === 'done', () => 'done is not last');
}

/** Never two successful results for one pair: at most one call of it ended with a success, and an ok pair holds that call's value. */
export function checkOneSuccess(trace: ChainTrace): void {
  trace.model.pairs.forEach((_, index) => {
    const succeeded = trace.fakes.flatMap((fake) => fake.calls.filter((call) => call.name === `p${index}` && call.status === 'finished' && 'result' in call.behaviour));
    check(succeeded.length <= 1, () => `pair ${index}: ${succeeded.length} calls succeeded`);
    const entry = trace.result?.entries[index];
    const oks = entry?.placements?.filter((tried) => tried.outcome === 'ok').length ?? (entry?.result.isOk === true ? 1 : 0);
    check(oks <= 1, () => `pair ${index}: ${oks} placements recorded ok`);
    if (entry?.result.isOk === true) {
      const [winner] = succeeded;
      check(winner !== undefined && entry.result.value === winner.behaviour.result, () => `pair ${index}: its value ${String(entry.result.value)} is not its winning call's`);
      check(entry.backend === trace.fakes.find((fake) => fake.calls.includes(winner))?.name, () => `pair ${index}: entry backend ${String(entry.backend)} is not the winner's`);
    }
  });
}

/**
 * The losers are cancelled: no call of a pair runs past the instant the pair settled, and one still
 * running then (a hedge that lost, a placement a stop cut) saw its signal abort; the loser of a hedge
 * with a `CancelledError` "superseded".
 */
export function checkLosersCancelled(trace: ChainTrace): void {
  trace.model.pairs.forEach((_, index) => {
    const settledAt = trace.events.find(({ event }) => event.type === 'settled' && event.index === index)?.at;
    const entry = trace.result?.entries[index];
    for (const fake of trace.fakes) {
      for (const call of fake.calls.filter((each) => each.name === `p${index}`)) {
        check(call.status !== 'running', () => `pair ${index}: a call on ${fake.name} is still running after the run`);
        check(settledAt !== undefined && (call.endedAt ?? 0) <= settledAt, () => `pair ${index}: a call on ${fake.name} ended at ${String(call.endedAt)}, after the pair settled at ${String(settledAt)}`);
        if (call.status === 'cancelled' && entry?.result.isOk === true) {
          // A pair that succeeded cancelled only the losers of a hedge (and placements past the chain's timeout).
          const superseded = call.cancelReason instanceof CancelledError && call.cancelReason.reason === 'superseded';
          check(superseded || call.cancelReason instanceof PlacementTimeoutError, () => `pair ${index}: a loser on ${fake.name} was cancelled with ${String(call.cancelReason)}`);
        }
      }
    }
  });
}

/** Caps hold at every instant: no backend ran more calls at once than its `concurrencyLimit`. */
export function checkCaps(trace: ChainTrace): void {
  trace.model.backends.forEach((backend, b) => {
    const peak = trace.peaks[b] ?? 0;
    check(peak <= backend.limit, () => `backend b${b}: ${peak} calls at once, cap ${backend.limit}`);
  });
}

/** The chain goes in order: each `fallback` moves to the next placement of the pair's chain, which is tried after the one before it. */
export function checkChainOrder(trace: ChainTrace): void {
  trace.model.pairs.forEach((pair, index) => {
    const moves = trace.events.flatMap(({ event }) => (event.type === 'fallback' && event.index === index ? [event] : []));
    check(moves.length <= pair.chain.length - 1, () => `pair ${index}: ${moves.length} fallbacks for ${pair.chain.length} placements`);
    moves.forEach((move, n) => {
      check(move.to.config?.['position'] === n + 1, () => `pair ${index}: fallback ${n} goes to position ${JSON.stringify(move.to.config?.['position'] ?? null)}`);
      check(move.reason !== 'hedge' || pair.hedgeMs !== undefined, () => `pair ${index}: a hedge without a hedge option`);
    });
    const tried = trace.result?.entries[index]?.placements;
    if (pair.chain.length === 1) check(tried === undefined, () => `pair ${index}: a single placement recorded a chain`);
    else {
      // A pair a stop settled before it was placed tried nothing; otherwise each fallback tried one more.
      const expected = tried?.length === 0 && moves.length === 0 ? 0 : moves.length + 1;
      check(tried !== undefined && tried.length === expected, () => `pair ${index}: ${String(tried?.length)} placements recorded for ${moves.length} fallbacks`);
    }
  });
}
