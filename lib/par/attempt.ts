import { Observable, type Subscriber, type Unsubscribable, from, isObservable } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { CancelledError, InvalidResultError } from '../errors';
import { type InlineSink, isSubscribable, runInline } from '../process/Process';
import { ProcessResult } from '../process/ProcessResult';
import { addUsage } from '../process/usage';
import { isPromiseLike } from '../validation/isPromiseLike';
import { RunContext } from './RunContext';
import type { Lease } from './slots';
import { type EngineEvent, type PlacedTask, failed, failedNow, stamped } from './task';

/**
 * One attempt of a placed process on its backend, holding `lease`: emits `started`, a `partial` per
 * `ctx.emit`, and last the settlement, built from what `backend.execute` gave — a `ProcessResult`,
 * a promise of one, or an Observable whose last emission is one. It never errors: a throw, a
 * rejection, an error, an empty completion or anything else returned is the settlement's failure.
 *
 * ```
 * execute:  ----a---(r|)
 * attempt$: s---p---(R|)     s: started, p: partial (ctx.emit), R: settled with r, stamped
 * ```
 *
 * Unsubscribed before it settles (HALT, the deadline, the consumer leaving), it aborts `ctx.signal`
 * with the task's cut reason and unsubscribes the backend. The settlement is emitted only once the
 * backend's Observable has been torn down, so its finalizers run before the slot goes on. An
 * attempt subscribed when the deadline has already passed (its timer lags) never starts: it returns
 * its slot at once, tells the run (`settings.deadlinePassed`), and the deadline settles it.
 *
 * @example
 * ```ts
 * withSlot(slots, (lease) => attempt$(task, backend, lease));
 * ```
 */
export function attempt$<T>(task: PlacedTask<T>, backend: Backend, lease: Lease): Observable<EngineEvent<T>> {
  return new Observable<EngineEvent<T>>((subscriber) => new Attempt(task, backend, lease, subscriber).start());
}

/**
 * One subscription of `attempt$`: its state, its `settle`, and its teardown in one object (an attempt
 * is made for every process of a run: one object, not a closure per step).
 */
class Attempt<T> implements Unsubscribable, InlineSink<T> {
  #ended = false;
  #holding = false;
  #running: Unsubscribable | undefined;
  #ctx: RunContext | undefined;

  constructor(
    private readonly task: PlacedTask<T>,
    private readonly backend: Backend,
    private readonly lease: Lease,
    private readonly subscriber: Subscriber<EngineEvent<T>>,
  ) {}

  /** Runs the attempt; returns what tears it down, if it is still running. */
  start(): Unsubscribable | undefined {
    const { task, backend, lease, subscriber } = this;
    const { settings, process, placement, index } = task;
    const now = settings.scheduler.now();
    if (task.deadlineAt !== undefined && now >= task.deadlineAt) {
      lease.end();
      if (task.deadlineAt === settings.deadlineAt) settings.deadlinePassed.next();
      return undefined;
    }
    const attempt = (task.attempts += 1);
    task.startedAt ??= now;
    task.running = true;
    const ctx = new RunContext(task, backend.name, attempt, lease, settings.verbose ? this.#partials(attempt) : undefined);
    this.#ctx = ctx;
    task.context = ctx;
    if (settings.verbose) subscriber.next({ type: 'started', index, name: process.name, placement, backend: backend.name, attempt });
    // A consumer may have left in reaction to that event: then nothing runs.
    if (subscriber.closed) return undefined;

    if (task.inline === undefined) this.#running = execute(task, backend, ctx, lease, this);
    else {
      const inline = task.inline[runInline](ctx, this);
      // A pending promise keeps the slot until it settles (`settle` is called then, cancelled or not).
      if (isPromiseLike(inline)) {
        lease.hold();
        this.#holding = true;
      } else this.#running = inline;
    }
    return this;
  }

  /** `ctx.emit` as a `partial` event (a method of its own: a closure here would cost every attempt its context). */
  #partials(attempt: number): (value: unknown) => void {
    const { task, subscriber } = this;
    const { index, process, placement } = task;
    return (value) => subscriber.next({ type: 'partial', index, name: process.name, placement, value, attempt });
  }

  /** The backend's outcome: the settlement, unless the attempt was cut first (`runInline` hands its result here too). */
  settle(outcome: unknown): void {
    const { task, lease, subscriber } = this;
    const { settings } = task;
    if (this.#holding) {
      this.#holding = false;
      lease.unhold();
    }
    if (this.#ended) return;
    if (task.deadlineAt === settings.deadlineAt && task.deadlineAt !== undefined && settings.now() >= task.deadlineAt) {
      // The run's deadline passed before this outcome came (its timer lags on a busy loop): the
      // deadline settles the process, as it would have had its timer been on time.
      settings.deadlinePassed.next();
      if (this.#ended) return;
    }
    this.#stop();
    const result = outcome instanceof ProcessResult ? stamped(task, outcome as ProcessResult<T>) : failed(task, new InvalidResultError(outcome, `backend "${this.backend.name}"`));
    subscriber.next({ type: 'settled', task, result });
    subscriber.complete();
  }

  /** Cut or settled: a result handed to `settle` now is not read (see `InlineSink`). */
  get closed(): boolean {
    return this.#ended;
  }

  /** Cut before it settled (HALT, the deadline, the consumer leaving): the signal aborts, the backend is unsubscribed. */
  unsubscribe(): void {
    if (!this.#ended) {
      this.#stop();
      this.#ctx?.abort(this.task.cutReason ?? new CancelledError('unsubscribed'));
    }
    this.#running?.unsubscribe();
  }

  #stop(): void {
    this.#ended = true;
    this.task.running = false;
    this.task.usage = addUsage(this.task.usage, this.#ctx?.usage);
    this.#ctx?.ended();
  }
}

/** Calls the backend and hands what it gives to `settle`; returns the subscription to cancel, if any. */
function execute<T>(task: PlacedTask<T>, backend: Backend, ctx: RunContext, lease: Lease, attempt: Attempt<T>): Unsubscribable | undefined {
  const settle = (outcome: unknown): void => attempt.settle(outcome);
  let output: unknown;
  // What the backend gave is read inside too: a `then` or `Symbol.observable` of its own that throws
  // (or a revoked Proxy) is its failure, not the run's error.
  try {
    output = backend.execute(task.process, ctx);
    if (output instanceof ProcessResult) {
      settle(output);
      return undefined;
    }
    if (isPromiseLike(output) && !isObservable(output)) {
      // A promise cannot be cancelled: the slot is the backend's until it settles. (Not adopted with
      // Promise.resolve: a thenable that settles at once, as in virtual time, must stay synchronous.)
      lease.holdUntil(output);
      output.then(settle, (error: unknown) => settle(failedNow(task, error)));
      return undefined;
    }
    if (!isSubscribable(output)) {
      settle(failedNow(task, new InvalidResultError(output, `backend "${backend.name}" execute()`)));
      return undefined;
    }
  } catch (error) {
    settle(failedNow(task, error));
    return undefined;
  }
  return lastOf(from(output), task, backend, settle);
}

/** Subscribes to the backend's Observable and hands its last value to `end` once it is torn down. */
function lastOf<T>(output: Observable<unknown>, task: PlacedTask<T>, backend: Backend, end: (outcome: unknown) => void): Unsubscribable {
  let outcome: unknown;
  let emitted = false;
  let settled = false;
  const subscription = output.subscribe({
    next(value) {
      outcome = value;
      emitted = true;
    },
    error(error: unknown) {
      outcome = failedNow(task, error);
      settled = true;
    },
    complete() {
      settled = true;
      if (!emitted) outcome = failedNow(task, new InvalidResultError(undefined, `backend "${backend.name}" completed without a result; it`));
    },
  });
  subscription.add(() => {
    if (settled) end(outcome);
  });
  return subscription;
}
