import { Observable, type SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import type { Backend, HealthAnswer } from '../backends/ExecutionBackend';
import { z } from 'zod';
import { type RateLimit, rateLimitSchema } from '../backends/rateLimit';
import { schedulerSchema } from '../par/options';
import { isPlainObject, parseArgument } from '../validation/parse';
import { concurrencySchema, nameSchema, secondsSchema } from '../validation/schemas';
import type { Placement } from '../placement/Placement';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import { ProcessResult } from '../process/ProcessResult';

const behaviourSchema = z.strictObject(
  {
    /** The success value, or a `ProcessResult` (e.g. `ProcessResult.fail(...)`) to answer as is. */
    result: z.unknown().optional(),
    /** The backend's Observable errors with this (the pair fails with it). */
    error: z.unknown().optional(),
    /** Seconds from the call to its outcome (default 0: synchronous). */
    delay: secondsSchema.optional(),
    /** Values published with `ctx.emit`, spread evenly over `delay`. */
    partials: z.array(z.unknown(), { error: 'an array of values' }).readonly().optional(),
    /** Never finish (until cancelled): for deadline and cancellation tests. */
    hang: z.boolean({ error: 'a boolean' }).optional(),
    /** Complete without emitting a result (a misbehaving backend). */
    emptyCompletion: z.boolean({ error: 'a boolean' }).optional(),
    /** `execute` throws synchronously: this error, or a generic one when it is `true`. */
    throwSync: z.unknown().optional(),
  },
  { error: 'a behaviour { result?, error?, delay?, partials?, hang?, emptyCompletion?, throwSync? }' },
);

/**
 * What a `FakeBackend` does with one call. Every field is optional; `{}` runs the process itself
 * through `process.execute$(ctx)`. An unknown key (`{ reslt: 1 }`) is a `UsageError` naming it.
 *
 * Timing: the outcome comes `delay` seconds after the call starts (at once when 0); the `partials`
 * are published with `ctx.emit` spread evenly over that delay (with `delay: 0.003` and two partials:
 * at 1 ms and 2 ms, the outcome at 3 ms).
 *
 * Outcome, the first that applies: `throwSync` (execute throws at the call), `hang` (never
 * finishes), `error` (the Observable errors with it), `emptyCompletion` (completes without a
 * result), `result` (a success with that value; a `ProcessResult` is used as is), else the process
 * runs.
 *
 * @example
 * ```ts
 * const behaviour: FakeBehaviour = { result: 'draft', delay: 0.01, partials: ['dr', 'aft'] };
 * ```
 */
export type FakeBehaviour = z.input<typeof behaviourSchema>;

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

const fakeOptionsSchema = z.strictObject(
  {
    /** Its name in events and failures (default `fake`). */
    name: nameSchema.optional(),
    /** The most calls in flight at once (default `Infinity`). */
    concurrencyLimit: concurrencySchema.optional(),
    /** How fast calls may start, across every run (default: no limit). See `RateLimit`. */
    rateLimit: rateLimitSchema.optional(),
    /** Whether a failure with `retryAfter` pauses new calls for every run (default `false`). */
    pauseOnRateLimit: z.boolean({ error: 'a boolean' }).optional(),
    /** Whose clock delays run on (default `asyncScheduler`, virtual inside `TestScheduler.run`). */
    scheduler: schedulerSchema.optional(),
    /**
     * The health check's answer (default `true`), or a function that answers; an Observable answer stays
     * in virtual time, a promise does not.
     */
    healthy: z.custom<boolean | (() => HealthAnswer)>((value) => typeof value === 'boolean' || typeof value === 'function', { error: 'a boolean or a function' }).optional(),
    /** The behaviour of each call, by process name or by a function of the call (each behaviour checked as `FakeBehaviour`). */
    script: z
      .custom<FakeScript>((value) => typeof value === 'function' || isPlainObject(value), { error: 'an object of behaviours by process name, or a function' })
      .optional(),
    /** Behaviours by call order on this backend: the n-th call's, when given, comes before the script. */
    byCall: z.array(behaviourSchema.optional(), { error: 'an array of behaviours' }).readonly().optional(),
    /** The behaviour of calls nothing else scripts (default `{}`: run the process). */
    defaultBehaviour: behaviourSchema.optional(),
  },
  { error: 'an options object { name?, concurrencyLimit?, rateLimit?, pauseOnRateLimit?, scheduler?, healthy?, script?, byCall?, defaultBehaviour? }' },
);

/**
 * Options of a `FakeBackend`; an unknown key (`{ nme: 'x' }`) is a `UsageError` naming it.
 *
 * @example
 * ```ts
 * const options: FakeBackendOptions = { name: 'api', concurrencyLimit: 2, script: { writer: { result: 'draft' } } };
 * ```
 */
export type FakeBackendOptions = z.input<typeof fakeOptionsSchema>;

interface CallRecord extends FakeCall {
  endedAt: number | undefined;
  status: FakeCallStatus;
  cancelReason: unknown;
}

/** Checks every behaviour of a script by name, each at its own path. */
function checkScript(script: FakeScript | undefined): void {
  if (script === undefined || typeof script === 'function') return;
  for (const [key, entry] of Object.entries(script)) {
    if (Array.isArray(entry)) entry.forEach((behaviour: unknown, index) => parseArgument(behaviourSchema, behaviour, `FakeBackend options.script.${key}[${index}]`));
    else parseArgument(behaviourSchema, entry, `FakeBackend options.script.${key}`);
  }
}

/** The labels of the scripted entries a run may use: `name` or `name[i]` for each script entry, `byCall[i]` for each call's. */
function scriptLabels(script: FakeScript | undefined, byCall: readonly (FakeBehaviour | undefined)[]): string[] {
  const labels: string[] = [];
  if (script !== undefined && typeof script !== 'function') {
    for (const [key, entry] of Object.entries(script)) {
      if (Array.isArray(entry)) entry.forEach((_behaviour, index) => labels.push(`${key}[${index}]`));
      else labels.push(key);
    }
  }
  byCall.forEach((behaviour, index) => behaviour === undefined || labels.push(`byCall[${index}]`));
  return labels;
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
 * api.unusedScripts(); // ['flaky[0]', 'flaky[1]']: no process named flaky ran
 * api.assertAllScriptsUsed(); // throws, naming them: the test would pass for the wrong reason
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
  /** The labels (`name`, `name[i]`, `byCall[i]`) of the scripted entries some call followed. */
  readonly #used = new Set<string>();
  #inFlight = 0;
  #peak = 0;
  #healthChecks = 0;

  constructor(options: FakeBackendOptions = {}) {
    parseArgument(fakeOptionsSchema, options, 'FakeBackend options');
    checkScript(options.script);
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

  /**
   * The scripted entries no call followed, in script order: `name` for a behaviour by process name
   * (a misspelt name, or a process that never reached this backend), `name[i]` for the i-th of a
   * list, `byCall[i]` for a behaviour by call order. A function script cannot be told apart, so it
   * has none.
   *
   * @example
   * ```ts
   * const api = new FakeBackend({ script: { clasifier: { error: new Error('429') } } });
   * await PLACED_PAR([classifier, on], { registry }).run();
   * api.unusedScripts(); // ['clasifier']
   * ```
   */
  unusedScripts(): string[] {
    return scriptLabels(this.#script, this.#byCall).filter((label) => !this.#used.has(label));
  }

  /**
   * Throws when a scripted entry was never followed (see `unusedScripts`), naming each and the
   * process names that did call: a test whose script went unused may pass for the wrong reason.
   *
   * @example
   * ```ts
   * afterEach(() => api.assertAllScriptsUsed());
   * ```
   */
  assertAllScriptsUsed(): void {
    const unused = this.unusedScripts();
    if (unused.length === 0) return;
    const called = [...this.#callsByName.keys()];
    throw new Error(`FakeBackend "${this.name}": scripted entries no call followed: ${unused.join(', ')} (the calls were of: ${called.length === 0 ? 'none' : called.join(', ')})`);
  }

  /** Forgets the records (calls, peak, counts, scripts used); the script starts over. Calls in flight keep running. */
  reset(): void {
    this.#calls.length = 0;
    this.#callsByName.clear();
    this.#used.clear();
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
              next(result) {
                subscriber.next(result);
              },
              error(error: unknown) {
                finish();
                subscriber.error(error);
              },
              complete() {
                finish();
                subscriber.complete();
              },
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
    if (byCall !== undefined) {
      this.#used.add(`byCall[${call.index}]`);
      return byCall;
    }
    const script = this.#script;
    if (typeof script === 'function') {
      const chosen = script(call);
      if (chosen !== undefined) parseArgument(behaviourSchema, chosen, `FakeBackend script(call ${call.index}, "${call.name}")`);
      return chosen ?? this.#defaultBehaviour;
    }
    const entry = script === undefined || !Object.hasOwn(script, call.name) ? undefined : script[call.name];
    if (entry === undefined) return this.#defaultBehaviour;
    if (Array.isArray(entry)) {
      const behaviour = (entry as readonly FakeBehaviour[])[call.nameIndex];
      if (behaviour === undefined) return this.#defaultBehaviour;
      this.#used.add(`${call.name}[${call.nameIndex}]`);
      return behaviour;
    }
    this.#used.add(call.name);
    return entry as FakeBehaviour;
  }
}
