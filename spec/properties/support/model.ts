import fc from 'fast-check';

// Plain-data descriptions of a random group, so that fast-check can shrink and print a failing case.
// `harness.ts` turns a description into real backends, processes and runs in virtual time.

/** What a backend's health check answers. */
export type Health = 'up' | 'down' | 'throws' | 'late-up' | 'late-down' | 'not-boolean';

/**
 * `probe`: a plain-object backend returning an Observable (it can misbehave itself); `fake`: the
 * `FakeBackend` of `stbass/testing`; `local`: a `LocalBackend` (the engine's inline path).
 */
export type BackendKind = 'probe' | 'fake' | 'local';

export interface BackendModel {
  readonly kind: BackendKind;
  /** `concurrencyLimit`, `Infinity` for none. */
  readonly limit: number;
  readonly health: Health;
  /** Milliseconds the backend waits before running the process (probe and fake). */
  readonly latency: number;
  /** Its `rateLimit.requests`, with `per` in milliseconds, if it has one. */
  readonly rate?: RateModel | undefined;
}

/** At most `limit` starts in any window of `perMs` milliseconds. */
export interface RateModel {
  readonly limit: number;
  readonly perMs: number;
}

/** What one process (or its backend) does on each attempt. Delays are milliseconds. */
export type Behaviour =
  /** Succeeds with `v<index>` after `delay`. */
  | { readonly kind: 'ok'; readonly delay: number }
  /** Returns `ProcessResult.fail(...)` after `delay`. */
  | { readonly kind: 'fail'; readonly delay: number }
  /** Throws synchronously from the body. */
  | { readonly kind: 'throw' }
  /** Its Observable errors after `delay` (a rejection, in virtual time). */
  | { readonly kind: 'error'; readonly delay: number }
  /** Its Observable completes without a result after `delay`. */
  | { readonly kind: 'empty'; readonly delay: number }
  /** Returns 42 instead of a `ProcessResult`: synchronously, or as the Observable's last value. */
  | { readonly kind: 'invalid'; readonly delay: number; readonly sync: boolean }
  /** Fails its first `failures` attempts (Observable error), then succeeds. */
  | { readonly kind: 'flaky'; readonly failures: number; readonly delay: number }
  /** Never finishes; an Observable that stops when unsubscribed. */
  | { readonly kind: 'never' }
  /**
   * Never finishes and ignores its signal and unsubscription: a promise that never settles, or an
   * Observable with no teardown, optionally with `rogue` timers that keep calling `ctx.emit` after
   * it was cancelled.
   */
  | { readonly kind: 'ignore'; readonly style: 'promise' | 'observable'; readonly rogue: boolean }
  /** Waits until its signal aborts, then reacts synchronously: errors with the reason, or succeeds. */
  | { readonly kind: 'honour'; readonly reaction: 'error' | 'ok' }
  /**
   * The backend misbehaves (probe and fake; on a local backend the process does the same):
   * throws from execute, errors, completes empty, hangs, or answers something that is not a result.
   */
  | { readonly kind: 'backend'; readonly what: 'throw' | 'error' | 'empty' | 'hang' | 'invalid'; readonly delay: number };

export interface PairModel {
  /**
   * Which backend: `backend % (backends.length + 1)` indexes the case's backends, where
   * `backends.length` means the registry's default backend (see `backendIndex`).
   */
  readonly backend: number;
  readonly behaviour: Behaviour;
  /** Partial results published with `ctx.emit` before the outcome. */
  readonly partials: number;
  /** Publishes a partial synchronously while being subscribed. */
  readonly emitOnSubscribe: boolean;
  readonly optional: boolean;
  /** Reads `ctx.signal` when it starts (else only after the run, exercising the lazy signal). */
  readonly readsSignal: boolean;
}

export type PolicyModel =
  | { readonly kind: 'halt' }
  | { readonly kind: 'collect' }
  | { readonly kind: 'retry'; readonly maxAttempts: number; readonly backoff: 'exponential' | 'linear' | 'constant'; readonly baseDelayMs: number };

export interface DeadlineModel {
  /** Milliseconds from the run's subscription. */
  readonly ms: number;
  /** Pass it as an absolute `Date` instead of seconds. */
  readonly asDate: boolean;
}

/** When the consumer leaves: never, at a time, or synchronously on its n-th event (1-based). */
export type UnsubscribeModel = { readonly kind: 'never' } | { readonly kind: 'at'; readonly ms: number } | { readonly kind: 'onEvent'; readonly n: number };

export interface RunModel {
  /** When the run is subscribed (ms). */
  readonly at: number;
  /** `events`: subscribe to `events$`; `result`: to `result$`; `run`: call `run()` (real time only: a promise). */
  readonly front: 'events' | 'result' | 'run';
  readonly unsubscribe: UnsubscribeModel;
}

export interface CaseModel {
  readonly backends: readonly BackendModel[];
  /** The cap of the registry's default backend (a `LocalBackend`). */
  readonly defaultLimit: number;
  readonly pairs: readonly PairModel[];
  readonly policy: PolicyModel;
  readonly deadline: DeadlineModel | undefined;
  /** One run, or two concurrent runs of the same pairs sharing the backends. */
  readonly runs: readonly RunModel[];
}

export interface CaseConstraints {
  readonly policy?: fc.Arbitrary<PolicyModel>;
  readonly deadline?: fc.Arbitrary<DeadlineModel | undefined>;
  readonly unsubscribe?: fc.Arbitrary<UnsubscribeModel>;
  readonly limit?: fc.Arbitrary<number>;
  /** The backends' rate limits (default `rateArb`: none for most). */
  readonly rate?: fc.Arbitrary<RateModel | undefined>;
  readonly maxPairs?: number;
  readonly minRuns?: number;
  readonly maxRuns?: number;
  readonly run?: fc.Arbitrary<RunModel>;
  readonly behaviour?: fc.Arbitrary<Behaviour>;
}

const delayArb = fc.integer({ min: 0, max: 20 });

export const limitArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constant(Number.POSITIVE_INFINITY) },
);

export const healthArb: fc.Arbitrary<Health> = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Health>('up') },
  { weight: 1, arbitrary: fc.constantFrom<Health>('down', 'throws', 'late-up', 'late-down', 'not-boolean') },
);

/** Most backends have no rate limit; one in three allows 1–4 starts per 1–30 ms. */
export const rateArb: fc.Arbitrary<RateModel | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.record({ limit: fc.integer({ min: 1, max: 4 }), perMs: fc.integer({ min: 1, max: 30 }) }) },
);

export function backendArb(limit: fc.Arbitrary<number> = limitArb, rate: fc.Arbitrary<RateModel | undefined> = rateArb): fc.Arbitrary<BackendModel> {
  return fc.record({
    kind: fc.constantFrom<BackendKind>('probe', 'fake', 'local'),
    limit,
    health: healthArb,
    latency: fc.integer({ min: 0, max: 5 }),
    rate,
  });
}

export const behaviourArb: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('ok' as const), delay: delayArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), delay: delayArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('throw' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('error' as const), delay: delayArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('empty' as const), delay: delayArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalid' as const), delay: delayArb, sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flaky' as const), failures: fc.integer({ min: 1, max: 3 }), delay: delayArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('never' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ignore' as const), style: fc.constantFrom('promise' as const, 'observable' as const), rogue: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('honour' as const), reaction: fc.constantFrom('error' as const, 'ok' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('backend' as const), what: fc.constantFrom('throw' as const, 'error' as const, 'empty' as const, 'hang' as const, 'invalid' as const), delay: delayArb }),
  },
);

export const policyArb: fc.Arbitrary<PolicyModel> = fc.oneof(
  fc.constant<PolicyModel>({ kind: 'halt' }),
  fc.constant<PolicyModel>({ kind: 'collect' }),
  retryPolicyArb(),
);

export function retryPolicyArb(): fc.Arbitrary<PolicyModel> {
  return fc.record({
    kind: fc.constant('retry' as const),
    maxAttempts: fc.integer({ min: 1, max: 4 }),
    backoff: fc.constantFrom('exponential' as const, 'linear' as const, 'constant' as const),
    baseDelayMs: fc.integer({ min: 0, max: 10 }),
  });
}

export const deadlineArb: fc.Arbitrary<DeadlineModel> = fc.record({ ms: fc.integer({ min: 1, max: 60 }), asDate: fc.boolean() });

export const maybeDeadlineArb: fc.Arbitrary<DeadlineModel | undefined> = fc.option(deadlineArb, { freq: 3, nil: undefined });

export const unsubscribeArb: fc.Arbitrary<UnsubscribeModel> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<UnsubscribeModel>({ kind: 'never' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('at' as const), ms: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('onEvent' as const), n: fc.integer({ min: 1, max: 60 }) }) },
);

/** A random group: 0–50 pairs over 1–4 backends (plus the default), with one or two runs. */
export function caseArb(constraints: CaseConstraints = {}): fc.Arbitrary<CaseModel> {
  const unsubscribe = constraints.unsubscribe ?? unsubscribeArb;
  const runArb: fc.Arbitrary<RunModel> = fc.record({
    at: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 10 }) }),
    front: fc.oneof({ weight: 4, arbitrary: fc.constant('events' as const) }, { weight: 1, arbitrary: fc.constant('result' as const) }),
    unsubscribe,
  });
  const limit = constraints.limit ?? limitArb;
  const behaviour = constraints.behaviour ?? behaviourArb;
  // No `chain`: every field shrinks on its own, so failing cases shrink small.
  return fc.record({
    backends: fc.array(backendArb(limit, constraints.rate ?? rateArb), { minLength: 1, maxLength: 4 }),
    defaultLimit: limit,
    pairs: fc.array(
      fc.record({
        backend: fc.integer({ min: 0, max: 4 }),
        behaviour,
        partials: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
        emitOnSubscribe: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        optional: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        readsSignal: fc.boolean(),
      }),
      { maxLength: constraints.maxPairs ?? 50, size: 'max' },
    ),
    policy: constraints.policy ?? policyArb,
    deadline: constraints.deadline ?? maybeDeadlineArb,
    runs: fc.array(constraints.run ?? runArb, { minLength: constraints.minRuns ?? 1, maxLength: constraints.maxRuns ?? 2 }),
  });
}

/** The index of a pair's backend in `model.backends`; `model.backends.length` for the default backend. */
export function backendIndex(model: CaseModel, pair: PairModel): number {
  return pair.backend % (model.backends.length + 1);
}

/** Whether a behaviour can keep a process from ever finishing on its own. */
export function neverEnds(behaviour: Behaviour): boolean {
  return behaviour.kind === 'never' || behaviour.kind === 'ignore' || behaviour.kind === 'honour' || (behaviour.kind === 'backend' && behaviour.what === 'hang');
}
