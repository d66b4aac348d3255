import { Observable, type SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import type { Backend, HealthAnswer } from '../backends/ExecutionBackend';
import { type RateLimit, rateLimitSchema } from '../backends/rateLimit';
import { UsageError } from '../errors';
import type { Placement } from '../placement/Placement';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';
import { parseArgument } from '../validation/parse';

/**
 * What a `FakeBackend` does with one call. Every field is optional; `{}` runs the process itself
 * through `process.execute$(ctx)`.
 *
 * Timing: the outcome comes `delay` seconds after the call starts (at once when 0); the `partials`
 * are published with `ctx.emit` spread evenly over that delay (with `delay: 0.003` and two partials:
 * at 1 ms and 2 ms, the outcome at 3 ms).
 *
 * Outcome, the first that applies: `throwSync` (execute throws at the call), `hang` (never
 * finishes), `error` (the Observable errors with it), `emptyCompletion` (completes without a
 * result), `result` (a success with that value; a `ProcessResult` is used as is), else the process
 * runs.
 */
export interface FakeBehaviour {
  /** The success value, or a `ProcessResult` (e.g. `ProcessResult.fail(...)`) to answer as is. */
  readonly result?: unknown;
  /** The backend's Observable errors with this (the pair fails with it). */
  readonly error?: unknown;
  /** Seconds from the call to its outcome (default 0: synchronous). */
  readonly delay?: number;
  /** Values published with `ctx.emit`, spread evenly over `delay`. */
  readonly partials?: readonly unknown[];
  /** Never finish (until cancelled): for deadline and cancellation tests. */
  readonly hang?: boolean;
  /** Complete without emitting a result (a misbehaving backend). */
  readonly emptyCompletion?: boolean;
  /** `execute` throws synchronously: this error, or a generic one when it is `true`. */
  readonly throwSync?: unknown;
}

/** What a script sees of a call when it chooses a behaviour. */
export interface FakeCallInfo {
  /** The call's position on this backend, from 0. */
  readonly index: number;
  /** The position among this backend's calls of the same process name, from 0. */
  readonly nameIndex: number;
  readonly name: string;
  readonly placement: Placement;
  readonly attempt: number;
  readonly ctx: ProcessContext;
}

/**
 * How a `FakeBackend` chooses each call's behaviour: by process name (an array gives the behaviour of
 * that name's first, second... call; calls past its end use the default), or a function of the call.
 */
export type FakeScript = Readonly<Record<string, FakeBehaviour | readonly FakeBehaviour[]>> | ((call: FakeCallInfo) => FakeBehaviour | undefined);

/** What became of a call: `running`, `finished` (with any outcome), `cancelled`, or `threw` at the call. */
export type FakeCallStatus = 'running' | 'finished' | 'cancelled' | 'threw';

/** The record of one call to `execute`. */
export interface FakeCall extends FakeCallInfo {
  /** The behaviour the call follows. */
  readonly behaviour: FakeBehaviour;
  /** When the call was made, on the backend's scheduler (ms). */
  readonly startedAt: number;
  /** When it finished or was cancelled (ms), while `undefined` it runs (or threw). */
  readonly endedAt: number | undefined;
  readonly status: FakeCallStatus;
  /** Why it was cancelled: the signal's reason (a `CancelledError`, a `DeadlineExceededError`), if it aborted. */
  readonly cancelReason: unknown;
}

/** Options of a `FakeBackend`. */
export interface FakeBackendOptions {
  /** Its name in events and failures (default `fake`). */
  readonly name?: string;
  /** The most calls in flight at once (default `Infinity`). */
  readonly concurrencyLimit?: number;
  /** How fast calls may start, across every run (default: no limit). See `RateLimit`. */
  readonly rateLimit?: RateLimit;
  /** Whether a failure with `retryAfter` pauses new calls for every run (default `false`). */
  readonly pauseOnRateLimit?: boolean;
  /** Whose clock delays run on (default `asyncScheduler`, virtual inside `TestScheduler.run`). */
  readonly scheduler?: SchedulerLike;
  /**
   * The health check's answer (default `true`), or a function that answers; an Observable answer stays
   * in virtual time, a promise does not.
   */
  readonly healthy?: boolean | (() => HealthAnswer);
  /** The behaviour of each call, by process name or by a function of the call. */
  readonly script?: FakeScript;
  /** Behaviours by call order on this backend: the n-th call's, when given, comes before the script. */
  readonly byCall?: readonly (FakeBehaviour | undefined)[];
  /** The behaviour of calls nothing else scripts (default `{}`: run the process). */
  readonly defaultBehaviour?: FakeBehaviour;
}

interface CallRecord extends FakeCall {
  endedAt: number | undefined;
  status: FakeCallStatus;
  cancelReason: unknown;
}

function checkSeconds(value: unknown, argument: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) throw new UsageError(argument, 'a finite number of seconds >= 0', value);
}

function checkBehaviour(behaviour: unknown, argument: string): void {
  if (typeof behaviour !== 'object' || behaviour === null || Array.isArray(behaviour)) throw new UsageError(argument, 'a behaviour { result?, error?, delay?, partials?, hang?, emptyCompletion?, throwSync? }', behaviour);
  const { delay, partials } = behaviour as FakeBehaviour;
  checkSeconds(delay, `${argument}.delay`);
  if (partials !== undefined && !Array.isArray(partials)) throw new UsageError(`${argument}.partials`, 'an array of values', partials);
}

function checkOptions(options: FakeBackendOptions): void {
  if (typeof options !== 'object' || options === null) throw new UsageError('FakeBackend options', 'an object', options);
  const { name, concurrencyLimit, scheduler, healthy, script, byCall, defaultBehaviour } = options;
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new UsageError('FakeBackend options.name', 'a non-empty string', name);
  if (concurrencyLimit !== undefined && !(concurrencyLimit === Number.POSITIVE_INFINITY || (Number.isInteger(concurrencyLimit) && concurrencyLimit >= 1))) {
    throw new UsageError('FakeBackend options.concurrencyLimit', 'a whole number >= 1 or Infinity', concurrencyLimit);
  }
  if (scheduler !== undefined && (typeof scheduler?.now !== 'function' || typeof scheduler?.schedule !== 'function')) {
    throw new UsageError('FakeBackend options.scheduler', 'an RxJS SchedulerLike (with now() and schedule())', scheduler);
  }
  if (healthy !== undefined && typeof healthy !== 'boolean' && typeof healthy !== 'function') throw new UsageError('FakeBackend options.healthy', 'a boolean or a function', healthy);
  if (script !== undefined && typeof script !== 'function') {
    if (typeof script !== 'object' || script === null || Array.isArray(script)) throw new UsageError('FakeBackend options.script', 'an object of behaviours by process name, or a function', script);
    for (const [key, entry] of Object.entries(script)) {
      if (Array.isArray(entry)) entry.forEach((behaviour: unknown, index) => checkBehaviour(behaviour, `FakeBackend options.script.${key}[${index}]`));
      else checkBehaviour(entry, `FakeBackend options.script.${key}`);
    }
  }
  if (byCall !== undefined) {
    if (!Array.isArray(byCall)) throw new UsageError('FakeBackend options.byCall', 'an array of behaviours', byCall);
    byCall.forEach((behaviour: unknown, index) => behaviour === undefined || checkBehaviour(behaviour, `FakeBackend options.byCall[${index}]`));
  }
  if (defaultBehaviour !== undefined) checkBehaviour(defaultBehaviour, 'FakeBackend options.defaultBehaviour');
  if (options.rateLimit !== undefined) parseArgument(rateLimitSchema, options.rateLimit, 'FakeBackend options.rateLimit');
  if (options.pauseOnRateLimit !== undefined && typeof options.pauseOnRateLimit !== 'boolean') throw new UsageError('FakeBackend options.pauseOnRateLimit', 'a boolean', options.pauseOnRateLimit);
}

/**
 * A scriptable backend for tests. Each call follows a `FakeBehaviour` (answer, fail, stream partials,
 * wait, hang, misbehave) chosen by process name or call order, or runs the process itself; every
 * timer is on its scheduler, so under `TestScheduler.run` a whole orchestration runs in virtual
 * time. It records what it was given (`calls`, `placements`, `contexts`), how much ran at once
 * (`inFlight`, `peakConcurrency`) and what was cancelled (`cancelled`).
 *
 * @example
 * ```ts
 * import { FakeBackend } from 'stbass/testing';
 *
 * const api = new FakeBackend({
 *   name: 'api',
 *   concurrencyLimit: 2,
 *   script: {
 *     classifier: { error: new Error('429'), delay: 0.005 },
 *     writer: { result: 'draft', delay: 0.01, partials: ['dr', 'aft'] },
 *     flaky: [{ error: new Error('once') }, { result: 'second time' }],
 *   },
 *   defaultBehaviour: { delay: 0.002 }, // the others run themselves after 2 ms
 * });
 * const registry = new BackendRegistry().register('api', api);
 * await PLACED_PAR([classifier, on], [writer, on], { registry }).run();
 * api.peakConcurrency; // 2
 * api.cancelled;       // ['writer']: HALT cancelled it when the classifier failed
 * ```
 */
export class FakeBackend implements Backend {
  readonly name: string;
  readonly concurrencyLimit: number;
  readonly rateLimit: RateLimit | undefined;
  readonly pauseOnRateLimit: boolean;
  /** Every call to `execute`, in order. */
  readonly calls: FakeCall[] = [];
  readonly #calls: CallRecord[] = this.calls;
  readonly #scheduler: SchedulerLike;
  readonly #healthy: boolean | (() => HealthAnswer);
  readonly #script: FakeScript | undefined;
  readonly #byCall: readonly (FakeBehaviour | undefined)[];
  readonly #defaultBehaviour: FakeBehaviour;
  readonly #callsByName = new Map<string, number>();
  #inFlight = 0;
  #peak = 0;
  #healthChecks = 0;

  constructor(options: FakeBackendOptions = {}) {
    checkOptions(options);
    this.name = options.name ?? 'fake';
    this.concurrencyLimit = options.concurrencyLimit ?? Number.POSITIVE_INFINITY;
    this.rateLimit = options.rateLimit;
    this.pauseOnRateLimit = options.pauseOnRateLimit ?? false;
    this.#scheduler = options.scheduler ?? asyncScheduler;
    this.#healthy = options.healthy ?? true;
    this.#script = options.script;
    this.#byCall = options.byCall ?? [];
    this.#defaultBehaviour = options.defaultBehaviour ?? {};
  }

  /** The placement of each call, in call order. */
  get placements(): Placement[] {
    return this.calls.map((call) => call.placement);
  }

  /** The context of each call, in call order. */
  get contexts(): ProcessContext[] {
    return this.calls.map((call) => call.ctx);
  }

  /** The process name of each call, in call order. */
  get names(): string[] {
    return this.calls.map((call) => call.name);
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The most calls that ran at once. */
  get peakConcurrency(): number {
    return this.#peak;
  }

  /** The names of the calls cancelled before they finished (signal aborted or unsubscribed), in order. */
  get cancelled(): string[] {
    return this.calls.filter((call) => call.status === 'cancelled').map((call) => call.name);
  }

  /** How many times the health check was asked. */
  get healthChecks(): number {
    return this.#healthChecks;
  }

  /** Forgets the records (calls, peak, counts); the script starts over. Calls in flight keep running. */
  reset(): void {
    this.#calls.length = 0;
    this.#callsByName.clear();
    this.#peak = this.#inFlight;
    this.#healthChecks = 0;
  }

  healthCheck(): HealthAnswer {
    this.#healthChecks += 1;
    return typeof this.#healthy === 'function' ? this.#healthy() : this.#healthy;
  }

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    const name = process.name;
    const nameIndex = this.#callsByName.get(name) ?? 0;
    this.#callsByName.set(name, nameIndex + 1);
    const info: FakeCallInfo = { index: this.#calls.length, nameIndex, name, placement: ctx.placement, attempt: ctx.attempt, ctx };
    const behaviour = this.behaviourFor(info);
    const call: CallRecord = { ...info, behaviour, startedAt: this.#scheduler.now(), endedAt: undefined, status: 'running', cancelReason: undefined };
    this.#calls.push(call);
    if (behaviour.throwSync !== undefined && behaviour.throwSync !== false) {
      call.status = 'threw';
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the scripted value is thrown as is, Error or not
      throw behaviour.throwSync === true ? new Error(`FakeBackend "${this.name}" threw for "${name}" (throwSync)`) : behaviour.throwSync;
    }
    return new Observable<ProcessResult>((subscriber) => {
      const scheduler = this.#scheduler;
      this.#inFlight += 1;
      this.#peak = Math.max(this.#peak, this.#inFlight);
      const cancel = (reason: unknown): void => {
        if (call.status !== 'running') return;
        call.status = 'cancelled';
        call.cancelReason = reason;
        call.endedAt = scheduler.now();
      };
      const signal = ctx.signal;
      const onAbort = (): void => cancel(signal.reason);
      const work = new Subscription(() => {
        this.#inFlight -= 1;
        signal.removeEventListener('abort', onAbort);
        cancel(undefined); // torn down before it finished
      });
      if (signal.aborted) {
        onAbort();
        subscriber.error(signal.reason);
        return work;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (): void => {
        call.status = 'finished';
        call.endedAt = scheduler.now();
      };

      const outcome = (): void => {
        if (behaviour.hang === true) return;
        if (behaviour.error !== undefined) {
          finish();
          subscriber.error(behaviour.error);
        } else if (behaviour.emptyCompletion === true) {
          finish();
          subscriber.complete();
        } else if ('result' in behaviour) {
          finish();
          subscriber.next(behaviour.result instanceof ProcessResult ? behaviour.result : ProcessResult.ok(behaviour.result));
          subscriber.complete();
        } else {
          work.add(
            process.execute$(ctx).subscribe({
              next: (result) => subscriber.next(result),
              error: (error: unknown) => (finish(), subscriber.error(error)),
              complete: () => (finish(), subscriber.complete()),
            }),
          );
        }
      };

      const delayMs = (behaviour.delay ?? 0) * 1000;
      const partials = behaviour.partials ?? [];
      const at = (ms: number, action: () => void): void => {
        if (ms <= 0) action();
        else work.add(scheduler.schedule(action, ms));
      };
      partials.forEach((value, index) => at((delayMs * (index + 1)) / (partials.length + 1), () => ctx.emit(value)));
      at(delayMs, outcome);
      return work;
    });
  }

  private behaviourFor(call: FakeCallInfo): FakeBehaviour {
    const byCall = this.#byCall[call.index];
    if (byCall !== undefined) return byCall;
    const script = this.#script;
    if (typeof script === 'function') {
      const chosen = script(call);
      if (chosen !== undefined) checkBehaviour(chosen, `FakeBackend script(call ${call.index}, "${call.name}")`);
      return chosen ?? this.#defaultBehaviour;
    }
    const entry = script === undefined || !Object.hasOwn(script, call.name) ? undefined : script[call.name];
    if (entry === undefined) return this.#defaultBehaviour;
    if (Array.isArray(entry)) return (entry as readonly FakeBehaviour[])[call.nameIndex] ?? this.#defaultBehaviour;
    return entry as FakeBehaviour;
  }
}
