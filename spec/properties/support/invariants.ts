import { BackendUnavailableError, CancelledError, DeadlineExceededError, InvalidResultError, type ParEvent, type ProcessContext, type ProcessResult, RetryPolicy } from '../../../lib';
import { type AttemptRecord, type CaseTrace, type EventRecord, type RunTrace, fakeCallEnded, toPolicy } from './harness';
import { type Behaviour, neverEnds } from './model';
import { mostInAnyWindow } from '../../support/helpers';

// The invariants of the Reliability issue, checked on the trace of one case. Each throws an `Error`
// naming the run, the index and what was wrong; fast-check shrinks the case and prints it.

export type Invariant = 'outcomes' | 'results' | 'failures' | 'caps' | 'rates' | 'halt' | 'signals' | 'deadline' | 'events' | 'retry';

export const ALL_INVARIANTS: readonly Invariant[] = ['outcomes', 'results', 'failures', 'caps', 'rates', 'halt', 'signals', 'deadline', 'events', 'retry'];

class InvariantError extends Error {
  override name = 'InvariantError';
}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new InvariantError(message());
}

/** Float tolerance for virtual-time comparisons of instants computed in two ways. */
const EPSILON = 1e-6;

/**
 * In real time, how early (ms) a timer may fire by `Date.now()`: Node's timers count whole
 * milliseconds on another clock. How *late* things may come is never a number of milliseconds here
 * (a busy machine makes any such bound flaky): it is measured against a control timer in the same run.
 */
const REAL_GRANULARITY = 2;

/** How early (ms) an instant may be recorded compared with one due at the same time. */
function granularity(trace: CaseTrace): number {
  return trace.realTime ? REAL_GRANULARITY : EPSILON;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function describeResult(result: ProcessResult | undefined): string {
  if (result === undefined) return 'no result';
  return result.isOk ? `ok(${String(result.value)})` : `fail(${describeError(result.failure.error)})`;
}

function isStopError(error: Error): boolean {
  return error instanceof CancelledError || error instanceof DeadlineExceededError || error instanceof BackendUnavailableError;
}

/** The attempts (backend calls, or bodies run by local backends) of one run, by index. */
function attemptsOf(trace: CaseTrace, run: RunTrace): Map<number, AttemptRecord[]> {
  const byIndex = new Map<number, AttemptRecord[]>();
  for (const attempt of trace.attempts) {
    if (attempt.run !== run.index) continue;
    const list = byIndex.get(attempt.index) ?? [];
    list.push(attempt);
    byIndex.set(attempt.index, list);
  }
  return byIndex;
}

function startedEvents(run: RunTrace, index: number): EventRecord[] {
  return run.events.filter((record) => record.event.type === 'started' && record.event.index === index);
}

/** How many attempts ran: `started` events when the run's events were watched, else the recorded calls. */
function startsOf(trace: CaseTrace, run: RunTrace, index: number, attempts: Map<number, AttemptRecord[]>): number {
  return run.model.front === 'events' ? startedEvents(run, index).length : (attempts.get(index) ?? []).length;
}

/** Whether an attempt delivered its outcome (or threw at the call) rather than being cancelled. */
function ended(trace: CaseTrace, attempt: AttemptRecord): boolean {
  if (attempt.ended) return true;
  const fake = trace.expectedBackend[attempt.index]?.fake;
  const call = fake?.calls.find((candidate) => candidate.ctx === attempt.ctx);
  return call !== undefined && fakeCallEnded(call);
}

/** The failure message an attempt of `behaviour` ends with, or `invalid` / `ok`, or undefined when it never ends on its own. */
function expectedOutcome(behaviour: Behaviour, index: number, attempt: number): string | undefined {
  switch (behaviour.kind) {
    case 'ok':
      return 'ok';
    case 'fail':
      return `failed p${index}`;
    case 'throw':
      return `thrown p${index}`;
    case 'error':
      return `errored p${index}`;
    case 'empty':
    case 'invalid':
      return 'invalid';
    case 'flaky':
      return attempt <= behaviour.failures ? `flaky p${index}` : 'ok';
    case 'backend':
      switch (behaviour.what) {
        case 'throw':
          return `backend threw p${index}`;
        case 'error':
          return `backend errored p${index}`;
        case 'empty':
        case 'invalid':
          return 'invalid';
        case 'hang':
          return undefined;
      }
      return undefined;
    case 'never':
    case 'ignore':
    case 'honour':
      return undefined;
  }
}

/** Checks the chosen invariants on a case's trace. */
export function checkInvariants(trace: CaseTrace, invariants: readonly Invariant[] = ALL_INVARIANTS): void {
  for (const run of trace.runs) {
    const attempts = attemptsOf(trace, run);
    for (const invariant of invariants) {
      try {
        switch (invariant) {
          case 'outcomes':
            checkOutcomes(trace, run, attempts);
            break;
          case 'results':
            checkResults(trace, run);
            break;
          case 'failures':
            checkFailures(trace, run);
            break;
          case 'caps':
          case 'rates':
            break;
          case 'halt':
            checkHalt(trace, run, attempts);
            break;
          case 'signals':
            checkSignals(trace, run, attempts);
            break;
          case 'deadline':
            checkDeadline(trace, run, attempts);
            break;
          case 'events':
            checkEvents(trace, run);
            break;
          case 'retry':
            checkRetry(trace, run, attempts);
            break;
        }
      } catch (error) {
        if (error instanceof InvariantError) error.message = `[${invariant}] run r${run.index}: ${error.message}`;
        throw error;
      }
    }
  }
  if (invariants.includes('caps')) checkCaps(trace);
  if (invariants.includes('rates')) checkRates(trace);
  if (invariants.includes('signals')) checkLeftovers(trace);
}

/** 0. What each pair's result says matches what its process and backend did. */
function checkOutcomes(trace: CaseTrace, run: RunTrace, attempts: Map<number, AttemptRecord[]>): void {
  const result = run.result;
  if (result === undefined) return;
  const policy = trace.model.policy;
  result.results.forEach((outcome, index) => {
    const behaviour = trace.behaviours[index] as Behaviour;
    const backend = trace.expectedBackend[index];
    const starts = startsOf(trace, run, index, attempts);
    const what = (): string => `p${index} (${JSON.stringify(behaviour)} on ${backend?.name}) ended ${describeResult(outcome)} after ${starts} attempt(s)`;
    if (backend !== undefined && !backend.healthy) {
      check(outcome.isFail && isStopError(outcome.failure.error), () => `${what()}: its backend is unhealthy, so it must fail unavailable, cancelled or late`);
      check(starts === 0, () => `${what()}: a process on an unhealthy backend must never start`);
      return;
    }
    if (outcome.isOk) {
      check(expectedOutcome(behaviour, index, starts) === 'ok', () => `${what()}: it cannot succeed`);
      check(outcome.value === `v${index}`, () => `${what()}: wrong value`);
      return;
    }
    const error = outcome.failure.error;
    if (error instanceof BackendUnavailableError) throw new InvariantError(`${what()}: its backend is healthy`);
    if (error instanceof CancelledError) {
      check(policy.kind === 'halt', () => `${what()}: only HALT cancels within a run that completes`);
      return;
    }
    if (error instanceof DeadlineExceededError) {
      check(run.deadlineAt !== undefined, () => `${what()}: there is no deadline`);
      return;
    }
    const expected = expectedOutcome(behaviour, index, starts);
    check(expected !== undefined && expected !== 'ok', () => `${what()}: expected ${expected ?? 'no outcome of its own'}`);
    if (expected === 'invalid') check(error instanceof InvalidResultError, () => `${what()}: expected an InvalidResultError`);
    else check(error.message === expected, () => `${what()}: expected the error "${expected}"`);
  });
}

/** 1. One result per pair, in declaration order; the run ends properly. */
function checkResults(trace: CaseTrace, run: RunTrace): void {
  const pairs = trace.model.pairs.length;
  check(run.errored === undefined, () => `the run's Observable errored: ${describeError(run.errored?.error)}`);
  if (run.finish === undefined) {
    // Only a run with no deadline and a process that never ends may stay open.
    check(run.deadlineAt === undefined, () => 'a run with a deadline never finished');
    check(
      trace.behaviours.some((behaviour, index) => neverEnds(behaviour) && trace.expectedBackend[index]?.healthy === true),
      () => 'the run never finished although every process ends on its own',
    );
    return;
  }
  if (run.result === undefined) {
    check(run.unsubscribed !== undefined, () => 'the run finished without a result and without being unsubscribed');
    return;
  }
  const result = run.result;
  check(run.completed, () => 'the run emitted its result but did not complete');
  check(result.results.length === pairs, () => `results.length is ${result.results.length}, expected ${pairs}`);
  result.entries.forEach((entry, index) => {
    check(entry.name === trace.names[index], () => `entry ${index} is "${entry.name}", expected "${trace.names[index]}" (declaration order)`);
    check(entry.placement === trace.placements[index], () => `entry ${index} has another pair's placement`);
  });
  if (run.model.front === 'events') {
    const last = run.events[run.events.length - 1];
    check(last?.event.type === 'done', () => `the last event is ${last?.event.type ?? 'missing'}, expected done`);
    result.results.forEach((outcome, index) => {
      const settled = run.events.filter((record) => record.event.type === 'settled' && record.event.index === index);
      check(settled.length === 1, () => `p${index} settled ${settled.length} times`);
      check((settled[0]?.event as { result: ProcessResult }).result === outcome, () => `p${index}'s settled event and result differ`);
    });
  }
}

/** 2. Every failure carries its pair's placement and backend name. */
function checkFailures(trace: CaseTrace, run: RunTrace): void {
  run.result?.results.forEach((outcome, index) => {
    if (outcome.isOk) return;
    const failure = outcome.failure;
    check(failure.placement === trace.placements[index], () => `p${index}'s failure carries placement ${failure.placement?.summary ?? 'none'}, expected ${trace.placements[index]?.summary}`);
    check(failure.backend === trace.expectedBackend[index]?.name, () => `p${index}'s failure names backend ${failure.backend ?? 'none'}, expected ${trace.expectedBackend[index]?.name}`);
    check(failure.processName === trace.names[index], () => `p${index}'s failure names process ${failure.processName}`);
  });
  for (const { event } of run.events) {
    if (event.type === 'done') continue;
    check(event.placement === trace.placements[event.index], () => `a ${event.type} event of p${event.index} carries another placement`);
    check(event.name === trace.names[event.index], () => `a ${event.type} event of p${event.index} is named ${event.name}`);
    if (event.type === 'started' || event.type === 'queued') {
      check(event.backend === trace.expectedBackend[event.index]?.name, () => `a ${event.type} event of p${event.index} names backend ${event.backend}`);
    }
  }
}

/**
 * 3b. No backend with a rate limit starts more than `limit` attempts in any window of `perMs`, across
 * every run. Virtual time only: in real time an attempt is recorded a moment after the engine
 * admitted it, and a busy machine can stretch that moment past a window's edge.
 */
function checkRates(trace: CaseTrace): void {
  if (trace.realTime) return;
  for (const backend of trace.backends) {
    const rate = backend.model?.rate;
    if (rate === undefined) continue;
    const starts = trace.attempts.filter((attempt) => trace.expectedBackend[attempt.index] === backend).map((attempt) => attempt.at);
    starts.sort((a, b) => a - b);
    const most = mostInAnyWindow(starts, rate.perMs);
    check(most <= rate.limit, () => `[rates] ${backend.name}: ${most} attempts started within ${rate.perMs} ms (starts at ${starts.join(', ')} ms), limit ${rate.limit}`);
  }
}

/** 3. No backend ever exceeds its cap; every slot is free again once every run finished. */
function checkCaps(trace: CaseTrace): void {
  for (const backend of trace.backends) {
    const limit = backend.limit;
    check(backend.bodyPeak <= limit, () => `[caps] ${backend.name}: ${backend.bodyPeak} bodies ran at once, cap ${limit}`);
    check(backend.probePeak <= limit, () => `[caps] ${backend.name}: ${backend.probePeak} calls in flight at once, cap ${limit}`);
    const fakePeak = backend.fake?.peakConcurrency ?? 0;
    check(fakePeak <= limit, () => `[caps] ${backend.name}: the FakeBackend saw ${fakePeak} calls at once, cap ${limit}`);
  }
  for (const probe of trace.slotProbes) {
    // A fresh process may wait a moment for a slot that a cancelled promise still held (SPEC 4), but it starts.
    check(probe.started === probe.limit, () => `[caps] ${probe.backend}: after every run finished, only ${probe.started} of ${probe.limit} fresh processes could start (${probe.queued} queued): a slot was not freed`);
  }
}

/** 4. Under HALT nothing starts after the first non-optional failure, and every unsettled process ends cancelled. */
function checkHalt(trace: CaseTrace, run: RunTrace, attempts: Map<number, AttemptRecord[]>): void {
  if (trace.model.policy.kind !== 'halt') return;
  const optional = (index: number): boolean => trace.model.pairs[index]?.optional === true;
  if (run.model.front === 'events') {
    const first = run.events.find((record) => record.event.type === 'settled' && record.event.result.isFail && !optional(record.event.index));
    if (first === undefined) {
      for (const { event } of run.events) {
        if (event.type === 'settled' && event.result.isFail) check(!(event.result.failure.error instanceof CancelledError), () => `p${event.index} was cancelled although nothing halted the group`);
      }
      return;
    }
    const firstEvent = first.event as Extract<ParEvent, { type: 'settled' }>;
    const culprit = firstEvent.result.failure.error;
    const later = run.events.filter((record) => record.seq > first.seq);
    if (culprit instanceof DeadlineExceededError) {
      // The deadline stops the group: the others miss it too; a deadline miss is not a halt.
      for (const { event } of later) {
        if (event.type !== 'settled') continue;
        const error = event.result.isFail ? event.result.failure.error : undefined;
        check(error instanceof DeadlineExceededError, () => `at the deadline p${first.event.type === 'settled' ? firstEvent.index : '?'} missed it, then p${event.index} ended ${describeResult(event.result)} instead of a DeadlineExceededError`);
      }
      return;
    }
    for (const { event } of later) {
      check(event.type !== 'started', () => `p${event.type === 'done' ? '?' : event.index} started after p${firstEvent.index} failed under HALT`);
      if (event.type !== 'settled') continue;
      const error = event.result.isFail ? event.result.failure.error : undefined;
      check(
        error instanceof CancelledError && error.reason === 'halt' && error.haltedBy === trace.names[firstEvent.index],
        () => `after p${firstEvent.index} failed (${describeError(culprit)}) under HALT, p${event.index} ended ${describeResult(event.result)}, expected a CancelledError halted by p${firstEvent.index}`,
      );
    }
    for (const list of attempts.values()) {
      for (const attempt of list) {
        check(attempt.seq < first.seq, () => `p${attempt.index} attempt ${attempt.attempt} was called on its backend after p${firstEvent.index} failed under HALT`);
      }
    }
    return;
  }
  // Without events: every halt cancellation names a non-optional process that really failed.
  const result = run.result;
  if (result === undefined) return;
  for (const outcome of result.results) {
    if (outcome.isOk || !(outcome.failure.error instanceof CancelledError)) continue;
    const haltedBy = outcome.failure.error.haltedBy;
    const culprit = result.results.find((other, index) => trace.names[index] === haltedBy && other.isFail && !optional(index));
    check(culprit !== undefined && !(culprit.failure.error instanceof CancelledError), () => `a CancelledError names ${haltedBy ?? 'nobody'}, which is not a failed non-optional process`);
    check(!(culprit.failure.error instanceof DeadlineExceededError), () => `a process was cancelled by HALT because ${haltedBy ?? '?'} missed the deadline`);
  }
}

/** 5. Every process that was cancelled saw its signal abort; nothing of a finished run is left running. */
function checkSignals(trace: CaseTrace, run: RunTrace, attempts: Map<number, AttemptRecord[]>): void {
  const finish = run.finish;
  if (finish === undefined) return;
  for (const list of attempts.values()) {
    for (const attempt of list) {
      const ctx: ProcessContext = attempt.ctx;
      check(ended(trace, attempt) || ctx.signal.aborted, () => `p${attempt.index} attempt ${attempt.attempt} was left running without its signal aborting`);
    }
  }
  if (run.result !== undefined) {
    run.result.results.forEach((outcome, index) => {
      if (outcome.isOk) return;
      const error = outcome.failure.error;
      if (!(error instanceof CancelledError || error instanceof DeadlineExceededError)) return;
      const list = attempts.get(index) ?? [];
      const last = list[list.length - 1];
      if (last === undefined || ended(trace, last)) return;
      check(last.ctx.signal.aborted, () => `p${index} was cancelled (${describeError(error)}) while running, but its signal did not abort`);
      check(last.ctx.signal.reason === error, () => `p${index}'s signal aborted with ${describeError(last.ctx.signal.reason)}, not with its failure's error ${describeError(error)}`);
    });
  }
  if (run.unsubscribed !== undefined && run.result === undefined) {
    // The consumer left: nothing starts after that (once the synchronous subscription returned).
    const unsubscribed = run.unsubscribed;
    for (const list of attempts.values()) {
      for (const attempt of list) {
        if (unsubscribed.duringSubscribe) continue;
        check(attempt.seq < unsubscribed.seq, () => `p${attempt.index} attempt ${attempt.attempt} started after the consumer unsubscribed (at ${unsubscribed.at} ms)`);
      }
    }
  }
  check(run.late.timers === 0, () => `the run scheduled ${run.late.timers} engine timer(s) after it finished at ${finish.at} ms`);
  check(run.late.subscriptions === 0, () => `the run subscribed ${run.late.subscriptions} process or backend Observable(s) after it finished at ${finish.at} ms`);
  check(finish.liveTimers === 0, () => `${finish.liveTimers} engine timer(s) were still scheduled when the run finished at ${finish.at} ms`);
  check(finish.liveSubscriptions === 0, () => `${finish.liveSubscriptions} process or backend Observable(s) were still subscribed when the run finished at ${finish.at} ms`);
  check(run.liveAtEnd === 0, () => `${run.liveAtEnd} process or backend Observable(s) of the run (finished at ${finish.at} ms) were still subscribed at the end`);
}

/** After every run finished: nothing runs, no health check is subscribed. */
function checkLeftovers(trace: CaseTrace): void {
  if (!trace.allFinished) return;
  check(trace.liveHealthChecks === 0, () => `[signals] ${trace.liveHealthChecks} health check(s) still subscribed after every run finished`);
  for (const backend of trace.backends) {
    check(backend.bodyInFlight === 0, () => `[signals] ${backend.name}: ${backend.bodyInFlight} bodies still running (not torn down, not aborted) after every run finished`);
    check(backend.probeInFlight === 0, () => `[signals] ${backend.name}: ${backend.probeInFlight} backend calls still subscribed after every run finished`);
    check((backend.fake?.inFlight ?? 0) === 0, () => `[signals] ${backend.name}: the FakeBackend has ${backend.fake?.inFlight} calls in flight after every run finished`);
  }
}

/**
 * 6. With a deadline the result comes at the deadline or earlier; deadline misses happen at the
 * deadline; nothing starts at or after it. In virtual time these are exact instants. In real time
 * "at the deadline" means: before the event loop turned after a control timer set for just after the
 * deadline (`DeadlineControl`), since however late a loaded machine runs timers, the engine's deadline
 * timer was due before that one; and "before it" is read on the clock the engine read.
 */
function checkDeadline(trace: CaseTrace, run: RunTrace, attempts: Map<number, AttemptRecord[]>): void {
  const deadlineAt = run.deadlineAt;
  if (deadlineAt === undefined) return;
  check(run.finish !== undefined, () => `the run has a deadline at ${deadlineAt} ms but never finished`);
  const control = run.control;
  /** Whether what happened at `seq` / `at` came by the deadline. */
  const byDeadline = (seq: number | undefined, at: number | undefined): boolean => {
    if (!trace.realTime) return at !== undefined && at <= deadlineAt + EPSILON;
    return seq !== undefined && (control?.turnSeq === undefined || seq < control.turnSeq);
  };
  const controlText = (): string => (control === undefined ? '' : ` (the control timer due at ${control.dueAt} ms fired at ${control.firedAt ?? '?'} ms, and the event loop turned after it)`);
  if (run.result !== undefined) {
    check(byDeadline(run.resultSeq, run.resultAt), () => `the result came at ${run.resultAt} ms, after the deadline at ${deadlineAt} ms${controlText()}`);
  } else {
    check(byDeadline(run.unsubscribed?.seq, run.unsubscribed?.at), () => `no result by the deadline at ${deadlineAt} ms${controlText()}`);
  }
  // Virtual time: strictly before the deadline. Real time: the engine's clock, when it decided to
  // start, before the deadline it gave its processes (a Date: whole milliseconds).
  const engineDeadline = run.engineDeadlineAt ?? control?.latest ?? deadlineAt;
  const startedInTime = (at: number, clock: number): boolean => (trace.realTime ? clock <= engineDeadline : at < deadlineAt);
  const startText = (at: number, clock: number): string =>
    trace.realTime ? `the engine's clock read ${clock} ms (${at} ms when seen), its deadline is at ${engineDeadline} ms` : `at ${at} ms, not before the deadline at ${deadlineAt} ms`;
  for (const { seq, at, clock, event } of run.events) {
    if (event.type === 'settled' && event.result.isFail && event.result.failure.error instanceof DeadlineExceededError) {
      check(at >= deadlineAt - granularity(trace) && byDeadline(seq, at), () => `p${event.index} missed the deadline at ${at} ms; the deadline is at ${deadlineAt} ms${controlText()}`);
    }
    if (event.type === 'started') check(startedInTime(at, clock), () => `p${event.index} attempt ${event.attempt} started after its deadline: ${startText(at, clock)}`);
  }
  for (const list of attempts.values()) {
    for (const attempt of list) check(startedInTime(attempt.at, attempt.clock), () => `p${attempt.index} attempt ${attempt.attempt} was called on its backend after its deadline: ${startText(attempt.at, attempt.clock)}`);
  }
}

/** 7. Per index: `queued? started partial* (retrying started partial*)* settled`, and `done` last. */
function checkEvents(trace: CaseTrace, run: RunTrace): void {
  if (run.model.front !== 'events') return;
  type State = { phase: 'new' | 'queued' | 'running' | 'backoff' | 'settled'; attempt: number; retryAt: number; retryDelay: number };
  const states = new Map<number, State>();
  const policy = toPolicy(trace.model.policy);
  let done = false;
  for (const { at, clock, event } of run.events) {
    check(!done, () => `a ${event.type} event came after done`);
    if (event.type === 'done') {
      done = true;
      for (let index = 0; index < trace.model.pairs.length; index += 1) check(states.get(index)?.phase === 'settled', () => `done came before p${index} settled`);
      continue;
    }
    const state = states.get(event.index) ?? { phase: 'new', attempt: 0, retryAt: 0, retryDelay: 0 };
    states.set(event.index, state);
    const where = (): string => `p${event.index}: ${event.type} in phase ${state.phase} (attempt ${state.attempt})`;
    switch (event.type) {
      case 'queued':
        check(state.phase === 'new', where);
        state.phase = 'queued';
        break;
      case 'started':
        check(state.phase === 'new' || state.phase === 'queued' || state.phase === 'backoff', where);
        check(event.attempt === state.attempt + 1, () => `${where()}: started attempt ${event.attempt}`);
        if (state.phase === 'backoff') check(at >= state.retryAt + state.retryDelay * 1000 - granularity(trace), () => `${where()}: started at ${at} ms, before its backoff of ${state.retryDelay} s from ${state.retryAt} ms ended`);
        state.phase = 'running';
        state.attempt = event.attempt;
        break;
      case 'partial':
        check(state.phase === 'running', where);
        break;
      case 'retrying':
        check(state.phase === 'running', where);
        check(policy instanceof RetryPolicy, () => `${where()}: retrying without a retry policy`);
        check(event.attempt === state.attempt + 1, () => `${where()}: retrying announces attempt ${event.attempt}`);
        check(event.delay === (policy).delayFor(state.attempt - 1), () => `${where()}: retrying after ${event.delay} s, expected ${(policy).delayFor(state.attempt - 1)} s`);
        state.phase = 'backoff';
        // The engine's clock when it set the backoff timer: the consumer may see the event later.
        state.retryAt = clock;
        state.retryDelay = event.delay;
        break;
      case 'settled': {
        check(state.phase !== 'settled', where);
        if (state.phase !== 'running') {
          // Settled without (re)starting: cancelled, late, or refused by its backend.
          check(event.result.isFail && isStopError(event.result.failure.error), () => `${where()}: settled ${describeResult(event.result)} without running`);
        }
        state.phase = 'settled';
        break;
      }
    }
  }
  if (run.result !== undefined) check(done, () => 'the result came without a done event');
}

/** 8. Retry never exceeds maxAttempts, starts nothing after the deadline, and retries whenever it may. */
function checkRetry(trace: CaseTrace, run: RunTrace, attempts: Map<number, AttemptRecord[]>): void {
  const policy = toPolicy(trace.model.policy);
  const maxAttempts = policy instanceof RetryPolicy ? policy.maxAttempts : 1;
  for (let index = 0; index < trace.model.pairs.length; index += 1) {
    const starts = startsOf(trace, run, index, attempts);
    const calls = (attempts.get(index) ?? []).length;
    check(starts <= maxAttempts, () => `p${index} ran ${starts} attempts, maxAttempts ${maxAttempts}`);
    check(calls <= maxAttempts, () => `p${index} was called ${calls} times on its backend, maxAttempts ${maxAttempts}`);
  }
  const result = run.result;
  if (result === undefined) return;
  result.entries.forEach((entry, index) => {
    const starts = startsOf(trace, run, index, attempts);
    check(entry.attempts === starts, () => `p${index}'s entry says ${entry.attempts} attempts, ${starts} ran`);
    const outcome = entry.result;
    if (outcome.isOk) return;
    const failure = outcome.failure;
    check(failure.attempts === starts, () => `p${index}'s failure says ${failure.attempts} attempts, ${starts} ran`);
    if (!(policy instanceof RetryPolicy) || isStopError(failure.error) || starts >= maxAttempts) return;
    // A retryable failure with attempts left: only the deadline may have stopped the retry.
    const deadlineAt = run.deadlineAt;
    const settledEvent = run.events.find((record) => record.event.type === 'settled' && record.event.index === index);
    // A Date keeps whole milliseconds only: without the event, allow for the rounding.
    const settledAt = settledEvent?.at ?? entry.settledAt.getTime();
    const tolerance = settledEvent === undefined || trace.realTime ? Math.max(1, granularity(trace)) : EPSILON;
    check(
      deadlineAt !== undefined && settledAt + policy.delayFor(starts - 1) * 1000 >= deadlineAt - tolerance,
      () => `p${index} failed (${describeError(failure.error)}) after ${starts} of ${maxAttempts} attempts at ${settledAt} ms and was not retried (deadline ${deadlineAt ?? 'none'})`,
    );
  });
}
