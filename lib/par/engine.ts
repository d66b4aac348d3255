import { type ObservableInput, type SchedulerLike, type Subscription, type Unsubscribable, from, isObservable, take } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { BackendUnavailableError, CancelledError, DeadlineExceededError, type DeadlinePhase, InvalidResultError, type CancelReason, toError } from '../errors';
import type { BackendRegistry } from '../placement/BackendRegistry';
import type { Placement } from '../placement/Placement';
import { Failure, type FailureFields } from '../process/Failure';
import { LocalBackend } from '../backends/LocalBackend';
import { type Process, type ProcessBase, runInline } from '../process/Process';
import { ProcessContext, type ProcessContextFields } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';
import { type FailurePolicy, RetryPolicy } from '../policy/FailurePolicy';
import { type TokenUsage, addUsage } from '../process/usage';
import type { ParEvent } from './events';
import { PARResult, type PAREntry, SettledEntry } from './PARResult';
import { scheduleAfter } from './scheduleAfter';
import { type BackendSlots, type SlotWaiter, slotsFor } from './slots';

/** How a run is configured once its options are validated. */
export interface RunSettings {
  readonly policy: FailurePolicy;
  readonly registry: BackendRegistry;
  readonly scheduler: SchedulerLike;
  readonly parent: string | undefined;
  /** The group's deadline on the scheduler's clock (ms), if any. */
  readonly deadlineAt: number | undefined;
  /**
   * Keep every task for the final `PARResult` (a group), or forget each once it settles (a stream
   * such as `mapPlaced`, which may run forever).
   */
  readonly retainSettled: boolean;
}

/** Where a run reports to. `event` is left out when nobody listens, so no event is built. */
export interface RunSink<T> {
  readonly event?: (event: ParEvent<T>) => void;
  /** A task settled (with `halting` true for the failure that halts the group). */
  readonly settled?: (task: PlacedTask<T>, halting: boolean) => void;
  /** HALT has cancelled every unsettled task because of `failure`. */
  readonly halted?: (failure: Failure) => void;
  /** Every task has settled and no more will be added. */
  readonly done: () => void;
}

type TaskStatus = 'pending' | 'checking' | 'waiting' | 'running' | 'backoff' | 'closing' | 'settled';

/** One placed process inside a run: its state from placement to settlement. */
export interface PlacedTask<T> {
  readonly index: number;
  readonly process: Process<T>;
  readonly placement: Placement;
  backend: Backend | undefined;
  status: TaskStatus;
  attempt: number;
  /** The backend is the plain LocalBackend and the process can run inline (see `ProcessBase[runInline]`). */
  inline: boolean;
  /** When this task's deadline passes (ms on the scheduler's clock), if it has one. */
  readonly deadlineAt: number | undefined;
  /** The task's own deadline timer, when it has a deadline of its own (mapPlaced). */
  deadlineTimer: Subscription | undefined;
  slots: BackendSlots | undefined;
  holdsSlot: boolean;
  waiter: SlotWaiter | undefined;
  /** The running attempt, health check or backoff timer. */
  pending: Unsubscribable | undefined;
  ctx: RunContext | undefined;
  result: ProcessResult<T> | undefined;
  startedAt: number | undefined;
  settledAt: number | undefined;
  /** Tokens recorded by the attempts that have ended. */
  usage: TokenUsage | undefined;
}

/** The context the engine gives a process: its AbortController is made only if the signal is read. */
class RunContext extends ProcessContext {
  #controller: AbortController | undefined;
  #abortReason: Error | undefined;

  override get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }
}

function isPromiseLike(candidate: unknown): candidate is PromiseLike<unknown> {
  return typeof (candidate as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Whether a retry policy may run a failed process again: not after a cancellation or a deadline
 * miss, nor when the error says it is permanent (`error.retryable === false`, e.g. an HTTP 401).
 */
function isRetryable(error: Error): boolean {
  if (error instanceof CancelledError || error instanceof DeadlineExceededError) return false;
  return (error as { retryable?: unknown }).retryable !== false;
}

/** The wait an error asks for before a retry (`error.retryAfter`, seconds, e.g. from HTTP 429), or 0. */
function retryAfterOf(error: Error): number {
  const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
  return typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 0;
}

/**
 * The one engine behind `PLACED_PAR`, `PAR` and `mapPlaced`: places each process on its backend,
 * holds the backend's slots, runs attempts, applies the failure policy and the deadline, and
 * reports events. Every per-process step is O(1); HALT and the deadline walk the group once.
 */
export class PlacedRun<T> {
  /** Every task, in order, for a group's result; empty when settled tasks are not retained. */
  readonly #tasks: PlacedTask<T>[] = [];
  /** The unsettled tasks, when settled ones are not retained. */
  readonly #live = new Set<PlacedTask<T>>();
  #added = 0;
  readonly #now: () => number;
  /** The group's deadline as the one `Date` every context of the run shares. */
  readonly #groupDeadline: Date | undefined;
  readonly #groupDeadlineErrors: Partial<Record<DeadlinePhase, DeadlineExceededError>> = {};
  readonly #settings: RunSettings;
  readonly #sink: RunSink<T>;
  readonly #retry: RetryPolicy | undefined;
  readonly #slotsToDrain: BackendSlots[] = [];
  #settledCount = 0;
  #closed = false;
  #finished = false;
  /** Set once the group stops on its own account: no further halts, retries or starts. */
  #stopping: 'halt' | 'deadline' | 'unsubscribed' | undefined;
  #deadlineTimer: Subscription | undefined;
  /** The error every task cancelled by HALT gets, naming the failed process. */
  #haltError: CancelledError | undefined;
  /** True while HALT walks the group, so the run finishes only after `halted` was reported. */
  #halting = false;

  constructor(settings: RunSettings, sink: RunSink<T>) {
    this.#settings = settings;
    this.#sink = sink;
    this.#retry = settings.policy instanceof RetryPolicy ? settings.policy : undefined;
    const scheduler = settings.scheduler;
    this.#now = () => scheduler.now();
    this.#groupDeadline = settings.deadlineAt === undefined ? undefined : new Date(settings.deadlineAt);
  }

  /** Starts the deadline timer; call before adding tasks. */
  open(): void {
    const { deadlineAt, scheduler } = this.#settings;
    if (deadlineAt === undefined) return;
    const delay = deadlineAt - scheduler.now();
    if (delay <= 0) this.#stopping = 'deadline';
    else this.#deadlineTimer = scheduleAfter(scheduler, delay, () => this.deadlineExceeded());
  }

  /**
   * Places one process; it starts at once if its backend has a free slot. `deadline` (seconds) is
   * the task's own, counted from now; the group's deadline applies when it is earlier.
   */
  add(process: Process<T>, placement: Placement, deadline?: number): void {
    const ownDeadlineAt = deadline === undefined ? undefined : this.#settings.scheduler.now() + deadline * 1000;
    const groupDeadlineAt = this.#settings.deadlineAt;
    const task: PlacedTask<T> = {
      index: this.#added,
      process,
      placement,
      backend: undefined,
      status: 'pending',
      attempt: 0,
      inline: false,
      deadlineAt: ownDeadlineAt === undefined ? groupDeadlineAt : groupDeadlineAt === undefined ? ownDeadlineAt : Math.min(ownDeadlineAt, groupDeadlineAt),
      deadlineTimer: undefined,
      slots: undefined,
      holdsSlot: false,
      waiter: undefined,
      pending: undefined,
      ctx: undefined,
      result: undefined,
      startedAt: undefined,
      settledAt: undefined,
      usage: undefined,
    };
    this.#added += 1;
    if (this.#settings.retainSettled) this.#tasks.push(task);
    else this.#live.add(task);
    try {
      task.backend = this.#settings.registry.get(placement);
      task.slots = slotsFor(task.backend);
      task.inline = task.backend.execute === LocalBackend.prototype.execute && runInline in process;
    } catch (error) {
      this.settle(task, this.failed(task, toError(error)));
      return;
    }
    if (this.#stopping !== undefined) this.settle(task, this.failed(task, this.stopError(task)));
    else {
      if (ownDeadlineAt !== undefined && task.deadlineAt === ownDeadlineAt) {
        task.deadlineTimer = scheduleAfter(this.#settings.scheduler, ownDeadlineAt - this.#settings.scheduler.now(), () => this.taskDeadlineExceeded(task));
      }
      this.beginAttempt(task);
    }
    this.drainSlots();
  }

  /** No more tasks will be added: the run is done once every task has settled. */
  close(): void {
    this.#closed = true;
    this.finishIfComplete();
  }

  /** Cancels every unsettled task without reporting (the consumer left), and frees their slots. */
  dispose(reason: CancelReason = 'unsubscribed'): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopping ??= 'unsubscribed';
    this.#deadlineTimer?.unsubscribe();
    const error = new CancelledError(reason);
    for (const task of this.unsettled()) this.teardown(task, error);
    this.drainSlots();
  }

  private beginAttempt(task: PlacedTask<T>): void {
    const backend = task.backend as Backend;
    let answer: unknown;
    try {
      answer = backend.healthCheck === undefined ? true : backend.healthCheck();
    } catch (error) {
      this.settle(task, this.failed(task, this.unavailable(task, `its health check threw: ${toError(error).message}`, error)));
      return;
    }
    if (answer === true) return this.acquireSlot(task);
    if (isObservable(answer) || isPromiseLike(answer)) {
      task.status = 'checking';
      let answered = false;
      const check = from(answer as ObservableInput<unknown>)
        .pipe(take(1))
        .subscribe({
          next: (healthy) => {
            answered = true;
            task.pending = undefined;
            this.healthAnswered(task, healthy);
          },
          error: (error: unknown) => {
            answered = true;
            task.pending = undefined;
            this.settle(task, this.failed(task, this.unavailable(task, `its health check failed: ${toError(error).message}`, error)));
          },
          complete: () => {
            if (!answered) this.healthAnswered(task, undefined);
          },
        });
      if (task.status === 'checking') task.pending = check;
      this.drainSlots();
      return;
    }
    this.healthAnswered(task, answer);
  }

  private healthAnswered(task: PlacedTask<T>, healthy: unknown): void {
    if (task.status === 'settled' || task.status === 'closing') return;
    if (healthy === true) this.acquireSlot(task);
    else this.settle(task, this.failed(task, this.unavailable(task, healthy === false ? 'its health check answered false' : `its health check answered ${String(healthy)} instead of a boolean`)));
    this.drainSlots();
  }

  private acquireSlot(task: PlacedTask<T>): void {
    const slots = task.slots as BackendSlots;
    if (slots.tryAcquire()) return this.start(task);
    task.status = 'waiting';
    task.waiter = slots.enqueue(() => {
      task.waiter = undefined;
      this.start(task);
    });
    if (task.attempt === 0) this.#sink.event?.({ type: 'queued', index: task.index, name: task.process.name, placement: task.placement, backend: (task.backend as Backend).name });
  }

  private start(task: PlacedTask<T>): void {
    task.holdsSlot = true;
    const { scheduler, parent } = this.#settings;
    const deadlineAt = task.deadlineAt;
    const now = scheduler.now();
    if (this.#stopping !== undefined) {
      this.freeSlot(task);
      this.settle(task, this.failed(task, this.stopError(task)));
      return;
    }
    if (deadlineAt !== undefined && now >= deadlineAt) {
      // The deadline timer lags the clock (a busy event loop, or another run's timer for the same
      // instant came first): an attempt never starts past it, and the deadline is missed as a whole.
      this.freeSlot(task);
      if (deadlineAt === this.#settings.deadlineAt) this.deadlineExceeded();
      else this.taskDeadlineExceeded(task);
      return;
    }
    const backend = task.backend as Backend;
    const attempt = (task.attempt += 1);
    task.status = 'running';
    task.startedAt ??= now;
    const fields: ProcessContextFields = {
      processName: task.process.name,
      placement: task.placement,
      backend: backend.name,
      parent,
      deadline: deadlineAt === undefined ? undefined : deadlineAt === this.#settings.deadlineAt ? this.#groupDeadline : new Date(deadlineAt),
      attempt,
      input: task.process.boundInput,
      now: this.#now,
      onEmit: this.#sink.event === undefined ? undefined : (value) => this.partial(task, attempt, value),
    };
    const ctx = new RunContext(fields);
    task.ctx = ctx;
    this.#sink.event?.({ type: 'started', index: task.index, name: task.process.name, placement: task.placement, backend: backend.name, attempt });
    // A consumer may have unsubscribed (or a HALT come) in reaction to that event.
    if (!this.isCurrent(task, attempt)) return;

    if (task.inline) {
      // The LocalBackend's execute is process.execute$(ctx): run the body directly, without the Observable.
      const body = (task.process as unknown as ProcessBase<T>)[runInline](ctx, (result) => this.attemptEnded(task, attempt, result));
      // A body that ended synchronously is closed already, so ending it again costs nothing.
      if (body !== undefined) this.holdAttempt(task, attempt, body);
      return;
    }
    let output: ObservableInput<ProcessResult>;
    try {
      output = backend.execute(task.process, ctx);
    } catch (error) {
      this.attemptEnded(task, attempt, this.failedNow(error));
      return;
    }
    if (isPromiseLike(output) && !isObservable(output)) {
      output.then(
        (outcome) => this.attemptEnded(task, attempt, outcome),
        (error: unknown) => this.attemptEnded(task, attempt, this.failedNow(error)),
      );
      return;
    }
    // The attempt ends when its subscription has been torn down, not when it completes: a backend's
    // own finalizers (closing a stream, freeing a connection) run before its slot goes to a waiter.
    let outcome: unknown;
    let emitted = false;
    let subscription: Subscription;
    try {
      subscription = from(output).subscribe({
        next: (value) => {
          outcome = value;
          emitted = true;
        },
        error: (error: unknown) => (outcome = this.failedNow(error)),
        complete: () => {
          if (!emitted) outcome = this.failedNow(new InvalidResultError(undefined, `backend "${backend.name}" completed without a result; it`));
        },
      });
    } catch (error) {
      this.attemptEnded(task, attempt, this.failedNow(error instanceof TypeError ? new InvalidResultError(output, `backend "${backend.name}"`) : error));
      return;
    }
    this.holdAttempt(task, attempt, subscription);
    subscription.add(() => {
      if (outcome !== undefined || emitted) this.attemptEnded(task, attempt, outcome);
    });
  }

  private isCurrent(task: PlacedTask<T>, attempt: number): boolean {
    return task.status === 'running' && task.attempt === attempt;
  }

  /**
   * Keeps a running attempt's subscription for cancellation, or ends it at once when the attempt
   * was cancelled while it was being subscribed (a partial the consumer reacted to, say).
   */
  private holdAttempt(task: PlacedTask<T>, attempt: number, subscription: Unsubscribable): void {
    if (this.isCurrent(task, attempt)) task.pending = subscription;
    else subscription.unsubscribe();
  }

  private partial(task: PlacedTask<T>, attempt: number, value: unknown): void {
    if (task.status !== 'running' || task.attempt !== attempt) return;
    this.#sink.event?.({ type: 'partial', index: task.index, name: task.process.name, placement: task.placement, value });
  }

  private attemptEnded(task: PlacedTask<T>, attempt: number, outcome: unknown): void {
    if (task.status !== 'running' || task.attempt !== attempt) return; // cancelled, or a stale attempt
    task.pending = undefined;
    task.usage = addUsage(task.usage, task.ctx?.usage);
    this.freeSlot(task);
    const backendName = (task.backend as Backend).name;
    const result =
      outcome instanceof ProcessResult
        ? this.stamp(task, outcome as ProcessResult<T>)
        : this.failed(task, new InvalidResultError(outcome, `backend "${backendName}"`));
    const failure = result.failureOrUndefined;
    if (failure !== undefined && this.shouldRetry(task, failure)) this.scheduleRetry(task, failure);
    else this.settle(task, result);
    this.drainSlots();
  }

  private shouldRetry(task: PlacedTask<T>, failure: Failure): boolean {
    return this.#retry !== undefined && this.#stopping === undefined && task.attempt < this.#retry.maxAttempts && isRetryable(failure.error);
  }

  private scheduleRetry(task: PlacedTask<T>, failure: Failure): void {
    const retry = this.#retry as RetryPolicy;
    const scheduler = this.#settings.scheduler;
    const deadlineAt = task.deadlineAt;
    const delay = Math.max(retry.delayFor(task.attempt - 1), retryAfterOf(failure.error));
    if (deadlineAt !== undefined && scheduler.now() + delay * 1000 >= deadlineAt) {
      // The next attempt could not start before the deadline: the real failure is the better answer.
      this.settle(task, ProcessResult.fail<T>(failure));
      return;
    }
    task.status = 'backoff';
    // Scheduled before it is announced, so a consumer that unsubscribes on the event cancels it.
    task.pending = scheduleAfter(scheduler, delay * 1000, () => {
      task.pending = undefined;
      if (task.status !== 'backoff') return;
      task.status = 'pending';
      this.beginAttempt(task);
      this.drainSlots();
    });
    this.#sink.event?.({ type: 'retrying', index: task.index, name: task.process.name, placement: task.placement, attempt: task.attempt + 1, delay, failure });
  }

  private settle(task: PlacedTask<T>, result: ProcessResult<T>): void {
    task.status = 'settled';
    task.result = result;
    task.settledAt = this.#settings.scheduler.now();
    task.ctx = undefined;
    task.deadlineTimer?.unsubscribe();
    task.deadlineTimer = undefined;
    this.#settledCount += 1;
    if (!this.#settings.retainSettled) this.#live.delete(task);
    const failure = result.failureOrUndefined;
    const halting = failure !== undefined && this.#settings.policy.kind === 'halt' && !task.process.isOptional && this.#stopping === undefined;
    if (halting) this.#stopping = 'halt';
    this.#sink.event?.({ type: 'settled', index: task.index, name: task.process.name, placement: task.placement, result });
    this.#sink.settled?.(task, halting);
    if (halting) this.halt(failure);
    this.finishIfComplete();
  }

  private halt(failure: Failure): void {
    const error = new CancelledError('halt', { processName: failure.processName, error: failure.error });
    this.#haltError = error;
    this.#halting = true;
    this.stopAll(() => error);
    this.#halting = false;
    // Told before the run is done, so a stream can end with the failure rather than complete.
    this.#sink.halted?.(failure);
  }

  private taskDeadlineExceeded(task: PlacedTask<T>): void {
    task.deadlineTimer?.unsubscribe();
    task.deadlineTimer = undefined;
    if (task.status === 'settled' || task.status === 'closing' || this.#finished) return;
    const error = this.deadlineError(task);
    this.teardown(task, error);
    this.settle(task, this.failed(task, error));
    this.drainSlots();
  }

  private deadlineExceeded(): void {
    // Also called before the timer fires (a slot granted at the deadline instant): cancel it then.
    this.#deadlineTimer?.unsubscribe();
    this.#deadlineTimer = undefined;
    if (this.#finished) return;
    this.#stopping ??= 'deadline';
    this.stopAll((task) => this.deadlineError(task));
    this.drainSlots();
  }

  /** Settles every unsettled task with its cancellation error: the one walk over the group. */
  private stopAll(errorFor: (task: PlacedTask<T>) => Error): void {
    for (const task of this.unsettled()) {
      if (task.status === 'closing') continue;
      const error = errorFor(task);
      this.teardown(task, error);
      this.settle(task, this.failed(task, error));
    }
  }

  /** Stops whatever the task is doing, without settling it: abort, unsubscribe, free or leave the slot queue. */
  private teardown(task: PlacedTask<T>, reason: Error): void {
    // A running attempt's usage is counted here; an ended one's was counted when it ended.
    if (task.status === 'running') task.usage = addUsage(task.usage, task.ctx?.usage);
    task.status = 'closing';
    task.deadlineTimer?.unsubscribe();
    task.deadlineTimer = undefined;
    task.waiter?.cancel();
    task.waiter = undefined;
    task.ctx?.abort(reason);
    const pending = task.pending;
    task.pending = undefined;
    pending?.unsubscribe();
    this.freeSlot(task);
  }

  private freeSlot(task: PlacedTask<T>): void {
    if (!task.holdsSlot) return;
    task.holdsSlot = false;
    const slots = task.slots as BackendSlots;
    slots.release();
    this.#slotsToDrain.push(slots);
  }

  /** Serves the queues of the backends this run freed slots on, after its own bookkeeping is done. */
  private drainSlots(): void {
    const slotsToDrain = this.#slotsToDrain;
    while (slotsToDrain.length > 0) (slotsToDrain.pop() as BackendSlots).drain();
  }

  /** The unsettled tasks, in the order they were added (a snapshot: settling one does not disturb the walk). */
  private unsettled(): PlacedTask<T>[] {
    return this.#settings.retainSettled ? this.#tasks.filter((task) => task.status !== 'settled') : [...this.#live];
  }

  private finishIfComplete(): void {
    if (this.#finished || this.#halting || !this.#closed || this.#settledCount < this.#added) return;
    this.#finished = true;
    this.#deadlineTimer?.unsubscribe();
    this.#deadlineTimer = undefined;
    this.#sink.done();
  }

  /** The group's result: one entry per task in declaration order (only when settled tasks are retained). */
  result(): PARResult<T> {
    return new PARResult(this.#tasks.map((task) => this.entry(task)));
  }

  private entry(task: PlacedTask<T>): PAREntry<T> {
    return new SettledEntry(task.index, task.process.name, task.placement, task.backend?.name, task.result as ProcessResult<T>, task.attempt, task.usage, task.startedAt, task.settledAt ?? this.#settings.scheduler.now());
  }

  private stopError(task: PlacedTask<T>): Error {
    return this.#stopping === 'halt' ? (this.#haltError ?? new CancelledError('halt')) : this.#stopping === 'unsubscribed' ? new CancelledError('unsubscribed') : this.deadlineError(task);
  }

  private deadlineError(task: PlacedTask<T>): DeadlineExceededError {
    const phase = task.status === 'running' ? 'running' : 'waiting';
    const groupDeadline = this.#groupDeadline;
    if (groupDeadline === undefined || task.deadlineAt !== this.#settings.deadlineAt) {
      return new DeadlineExceededError(new Date(task.deadlineAt ?? this.#settings.scheduler.now()), phase, task.process.name);
    }
    // The group's deadline fails many processes at once: one error per phase serves them all (an
    // error's stack capture is the dearest part of a deadline), and each failure names its process.
    return (this.#groupDeadlineErrors[phase] ??= new DeadlineExceededError(groupDeadline, phase));
  }

  private unavailable(task: PlacedTask<T>, detail: string, cause?: unknown): BackendUnavailableError {
    return new BackendUnavailableError((task.backend as Backend).name, task.placement, detail, cause === undefined ? undefined : { cause });
  }

  /** A failed result timed on the run's clock, to be stamped when its attempt ends. */
  private failedNow(error: unknown): ProcessResult<T> {
    return ProcessResult.fail<T>(error, { failedAt: new Date(this.#settings.scheduler.now()) });
  }

  /** A failed result for `task`, with everything the engine knows about it: one Failure, built once. */
  private failed(task: PlacedTask<T>, error: Error): ProcessResult<T> {
    return ProcessResult.fail<T>(new Failure(error, { ...this.knownFields(task), failedAt: new Date(this.#settings.scheduler.now()), placement: task.placement, attempts: task.attempt }));
  }

  /** Fills a failure's fields from the task: the pair's placement always, the rest where missing. */
  private stamp(task: PlacedTask<T>, result: ProcessResult<T>): ProcessResult<T> {
    const failure = result.failureOrUndefined;
    if (failure === undefined) return result;
    // The pair's placement and the engine's attempt count are the truth; the rest fills what the backend left out.
    return ProcessResult.fail<T>(failure.fillMissing(this.knownFields(task), { placement: task.placement, attempts: task.attempt }));
  }

  /** What the engine knows of a task, for its failure. */
  private knownFields(task: PlacedTask<T>): FailureFields {
    return {
      processName: task.process.name,
      processId: task.ctx?.processId,
      startedAt: task.startedAt === undefined ? undefined : new Date(task.startedAt),
      backend: task.backend?.name,
      parentProcess: this.#settings.parent,
      checkpoint: task.ctx?.lastCheckpoint,
    };
  }
}
