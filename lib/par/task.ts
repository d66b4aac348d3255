import type { SchedulerLike, Subject } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { LocalBackend } from '../backends/LocalBackend';
import { BackendUnavailableError, DeadlineExceededError, type DeadlinePhase, toError } from '../errors';
import type { BackendRegistry } from '../placement/BackendRegistry';
import type { Placement } from '../placement/Placement';
import { Failure, type FailureFields } from '../process/Failure';
import { type Process, ProcessBase } from '../process/Process';
import { ProcessResult } from '../process/ProcessResult';
import type { TokenUsage } from '../process/usage';
import type { FailurePolicy } from '../policy/FailurePolicy';
import type { FallbackEvent, PartialEvent, PausedEvent, QueuedEvent, RestartedEvent, RetryingEvent, StartedEvent } from './events';
import type { ChainState } from './chainedTask';
import type { HealthCache } from './healthCache';
import type { RunTelemetry } from '../telemetry/RunTelemetry';
import type { RunContext } from './RunContext';

/** What a run is: its policy, clock, registry and deadline, shared by every process it places. */
export interface RunSettings {
  readonly policy: FailurePolicy;
  readonly registry: BackendRegistry;
  readonly scheduler: SchedulerLike;
  /** The scheduler's clock, as one function every context of the run shares. */
  readonly now: () => number;
  readonly parent: string | undefined;
  /** The group's deadline, if any: one `Date` that every context of the run shares. */
  readonly deadline: Date | undefined;
  /** The same on the scheduler's clock (ms). */
  readonly deadlineAt: number | undefined;
  /** Whether anyone listens to events: a quiet run builds only the `settled` ones. */
  readonly verbose: boolean;
  /**
   * Told when an attempt finds the run's deadline already past on the clock (its timer lags: a
   * starved event loop): the run stops then, without waiting for the late timer.
   */
  readonly deadlinePassed: Subject<void>;
  /** Health answers reused per backend for a while (the `healthCheckInterval` option); without it every attempt asks. */
  readonly health?: HealthCache;
  /** The run's `AbortSignal`s (the options', the call's): the first to abort cancels every unsettled process. */
  readonly signals?: readonly AbortSignal[];
  /** Spans and metrics of the run (lib/telemetry), when OpenTelemetry records any; absent, nothing is traced. */
  readonly telemetry?: RunTelemetry;
}

/**
 * One placed process of a run: what it is, where it runs, and what its attempts have added up to so
 * far. Its state (waiting, running, backing off) lives in the operators that run it; this record
 * keeps the facts its entry and its failure report.
 */
export interface PlacedTask<T> {
  readonly index: number;
  /** The pair's key in a keyed group, `undefined` in a positional one (and in mapPlaced). */
  readonly key: string | undefined;
  readonly process: Process<T>;
  readonly placement: Placement;
  /** The backend, or the error of looking it up (a strict registry that matches nothing). */
  readonly backend: Backend | Error;
  /**
   * The process itself when its backend is the plain LocalBackend and it keeps the base `execute$`:
   * then the body runs directly, which gives exactly what `execute$` gives without its Observable.
   */
  readonly inline: ProcessBase<T> | undefined;
  /** When this process's deadline passes (ms on the scheduler's clock), if it has one. */
  readonly deadlineAt: number | undefined;
  /** The group's deadline when it is this process's, so that every context shares one `Date`. */
  readonly deadline: Date | undefined;
  readonly settings: RunSettings;
  attempts: number;
  startedAt: number | undefined;
  usage: TokenUsage | undefined;
  /** An attempt holds a slot on the backend now (else the process waits: for a slot, a health check, a retry). */
  running: boolean;
  /** Why the run cut this process (HALT, the deadline, unsubscription): its signal's abort reason. */
  cutReason: Error | undefined;
  /** The last attempt's context, for the failure's process id and checkpoint. */
  context: RunContext | undefined;
  /** Set on a pair with several placements: it runs as a fallback chain (fallbackChain.ts). */
  readonly chain?: ChainState<T>;
}

/** Places `process` on the backend its placement picks; `ownDeadlineAt` applies when earlier than the group's. */
export function placeTask<T>(index: number, process: Process<T>, placement: Placement, settings: RunSettings, ownDeadlineAt?: number, key?: string): PlacedTask<T> {
  const groupAt = settings.deadlineAt;
  const deadlineAt = ownDeadlineAt === undefined ? groupAt : groupAt === undefined ? ownDeadlineAt : Math.min(ownDeadlineAt, groupAt);
  let backend: Backend | Error;
  try {
    backend = settings.registry.get(placement);
  } catch (error) {
    backend = toError(error);
  }
  return {
    index,
    key,
    process,
    placement,
    backend,
    inline: !(backend instanceof Error) && backend.execute === LocalBackend.prototype.execute && process instanceof ProcessBase && process.execute$ === ProcessBase.prototype.execute$ ? process : undefined,
    deadlineAt,
    deadline: deadlineAt === undefined ? undefined : deadlineAt === groupAt ? settings.deadline : new Date(deadlineAt),
    settings,
    attempts: 0,
    startedAt: undefined,
    usage: undefined,
    running: false,
    cutReason: undefined,
    context: undefined,
  };
}

/** The backend's name, or `undefined` when none was found. */
export function backendName(task: PlacedTask<unknown>): string | undefined {
  return task.backend instanceof Error ? undefined : task.backend.name;
}

/** What the engine knows of a task, for its failure; `failedAt` too when given. */
function knownFields(task: PlacedTask<unknown>, failedAt?: Date): FailureFields {
  // One literal, not a spread of one into another: a deadline or HALT builds a thousand at once.
  return {
    processName: task.process.name,
    key: task.key,
    processId: task.context?.lazyId,
    startedAt: task.startedAt === undefined ? undefined : new Date(task.startedAt),
    failedAt,
    placement: task.placement,
    backend: backendName(task),
    parentProcess: task.settings.parent,
    checkpoint: task.context?.lastCheckpoint,
    attempts: task.attempts,
  };
}

/** A failed result for `task` with everything the engine knows about it: one Failure, built once. */
export function failed<T>(task: PlacedTask<T>, error: Error): ProcessResult<T> {
  return ProcessResult.fail<T>(new Failure(error, knownFields(task, new Date(task.settings.scheduler.now()))));
}

/** A failed result timed on the run's clock, stamped later with the task's fields. */
export function failedNow<T>(task: PlacedTask<T>, error: unknown): ProcessResult<T> {
  return ProcessResult.fail<T>(error, { failedAt: new Date(task.settings.scheduler.now()) });
}

/** Fills a failure's fields from the task: the pair's placement and the attempt count always, the rest where missing. */
export function stamped<T>(task: PlacedTask<T>, result: ProcessResult<T>): ProcessResult<T> {
  const failure = result.failureOrUndefined;
  if (failure === undefined) return result;
  return ProcessResult.fail<T>(failure.fillMissing(knownFields(task, failure.failedAt), { placement: task.placement, attempts: task.attempts, key: task.key }));
}

/** The backend cannot take the task. */
export function unavailable(task: PlacedTask<unknown>, detail: string, cause?: unknown): BackendUnavailableError {
  return new BackendUnavailableError(backendName(task) ?? 'unknown', task.placement, detail, cause === undefined ? undefined : { cause });
}

const groupDeadlineErrors = new WeakMap<Date, Partial<Record<DeadlinePhase, DeadlineExceededError>>>();

/**
 * The deadline error of `task`, by where it stood. The group's deadline fails many processes at once:
 * one error per phase serves them all (an error's stack capture is the dearest part of a deadline),
 * and each failure names its process.
 */
export function deadlineError(task: PlacedTask<unknown>): DeadlineExceededError {
  const phase: DeadlinePhase = task.running ? 'running' : 'waiting';
  const shared = task.deadline;
  if (shared === undefined || task.deadlineAt !== task.settings.deadlineAt) {
    return new DeadlineExceededError(task.deadline ?? new Date(task.settings.scheduler.now()), phase, task.process.name);
  }
  let errors = groupDeadlineErrors.get(shared);
  if (errors === undefined) groupDeadlineErrors.set(shared, (errors = {}));
  return (errors[phase] ??= new DeadlineExceededError(shared, phase));
}

/** @internal A process settled: the engine's own form of the `settled` event, carrying its task. */
export interface Settlement<T> {
  readonly type: 'settled';
  readonly task: PlacedTask<T>;
  readonly result: ProcessResult<T>;
  /** Set when a stop of the whole run (HALT, the group's deadline) settled it: such a failure halts nothing. */
  readonly byStop?: true;
}

/** @internal What flows through the engine: the public per-process events, settlements in the engine's form. */
export type EngineEvent<T> = QueuedEvent | StartedEvent | PartialEvent | PausedEvent | RetryingEvent | FallbackEvent | RestartedEvent | Settlement<T>;
