import { type SchedulerLike, asyncScheduler } from 'rxjs';
import { z } from 'zod';
import { BackendRegistry, defaultRegistry } from '../placement/BackendRegistry';
import { FailurePolicy } from '../policy/FailurePolicy';
import { parseArgument } from '../validation/parse';
import { nameSchema } from '../validation/schemas';

/** An RxJS `SchedulerLike`, by shape (`now()` and `schedule()`). */
export const schedulerSchema = z.custom<SchedulerLike>(
  (value) => typeof (value as SchedulerLike | null)?.now === 'function' && typeof (value as SchedulerLike | null)?.schedule === 'function',
  { error: 'an RxJS SchedulerLike (with now() and schedule())' },
);

/** An `AbortSignal`, by shape: a signal of another realm (a test sandbox, a polyfill) is one too. */
export const signalSchema = z.custom<AbortSignal>(
  (value) =>
    typeof (value as AbortSignal | null)?.aborted === 'boolean' &&
    typeof (value as AbortSignal | null)?.addEventListener === 'function' &&
    typeof (value as AbortSignal | null)?.removeEventListener === 'function',
  { error: 'an AbortSignal (new AbortController().signal, AbortSignal.timeout(ms))' },
);

/** The deadline option: seconds from the start of the run (> 0), or an absolute `Date`. */
export const deadlineSchema = z.union(
  [
    z.number().finite({ error: 'a finite number of seconds > 0 or a valid Date' }).gt(0, { error: 'a number of seconds > 0 or a valid Date' }),
    z.date().refine((date) => !Number.isNaN(date.getTime()), { error: 'a number of seconds > 0 or a valid Date' }),
  ],
  { error: 'a number of seconds > 0 or a valid Date' },
);

/** The options every front of the engine shares. */
export const runOptionsSchema = z.strictObject(
  {
    onFailure: z.instanceof(FailurePolicy, { error: 'a FailurePolicy (FailurePolicy.HALT, FailurePolicy.COLLECT or FailurePolicy.retry(...))' }).optional(),
    deadline: deadlineSchema.optional(),
    registry: z.instanceof(BackendRegistry, { error: 'a BackendRegistry' }).optional(),
    scheduler: schedulerSchema.optional(),
    parent: nameSchema.optional(),
    healthCheckInterval: z
      .number({ error: 'a finite number of seconds > 0' })
      .finite({ error: 'a finite number of seconds > 0' })
      .gt(0, { error: 'a finite number of seconds > 0' })
      .optional(),
    signal: signalSchema.optional(),
    telemetry: z.boolean({ error: 'a boolean' }).optional(),
  },
  { error: 'an options object { onFailure?, deadline?, registry?, scheduler?, parent?, healthCheckInterval?, signal? }' },
);

/** The options of one `run()` call. */
export const runCallSchema = z.strictObject(
  {
    /** Cancels this run when it aborts; `run()` still resolves, every unsettled entry a `CancelledError` of reason `aborted`. */
    signal: signalSchema.optional(),
  },
  { error: 'an options object { signal? }' },
);

/**
 * Options of one `group.run(options)`: a `signal` for this run only (beside the group's own).
 *
 * @example
 * ```ts
 * const result = await group.run({ signal: AbortSignal.timeout(10_000) });
 * ```
 */
export type RunOptions = z.input<typeof runCallSchema>;

/**
 * Options of `PLACED_PAR` and `PAR`.
 *
 * @example
 * ```ts
 * PLACED_PAR(pairA, pairB, {
 *   onFailure: FailurePolicy.COLLECT, // default FailurePolicy.HALT
 *   deadline: 30,                     // seconds, or a Date
 *   registry: myRegistry,             // default: defaultRegistry
 *   scheduler: asyncScheduler,        // a TestScheduler in marble tests
 *   parent: 'research',               // recorded in every ctx.parent
 *   signal: controller.signal,        // abort cancels every run: run() resolves, unsettled entries aborted
 *   telemetry: false,                 // no OpenTelemetry spans or metrics for this group
 * });
 * ```
 */
export interface PlacedParOptions {
  /** What a failure does to the group (default `FailurePolicy.HALT`). */
  readonly onFailure?: FailurePolicy;
  /** Seconds from the start of each run (> 0), or an absolute `Date`. */
  readonly deadline?: number | Date;
  /** Where placements find their backends (default `defaultRegistry`). */
  readonly registry?: BackendRegistry;
  /** The clock and timers of the run (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
  /** A name recorded as `ctx.parent` and `failure.parentProcess`. */
  readonly parent?: string;
  /**
   * Seconds a backend's health answer is reused within a run (default: none, every attempt asks):
   * 1,000 pairs on one backend then call its `healthCheck` at most once per interval, and pairs that
   * ask while an answer is pending share it.
   */
  readonly healthCheckInterval?: number;
  /**
   * Cancels the runs when it aborts, as unsubscribing does, except that the run still ends with its
   * result: every unsettled process fails with a `CancelledError` of reason `aborted` (a signal
   * already aborted runs nothing). `run({ signal })` takes one for a single run.
   */
  readonly signal?: AbortSignal;
  /**
   * OpenTelemetry spans and metrics of each run, recorded when `@opentelemetry/api` is installed and
   * a provider is registered (default `true`); `false` records none for this group (README "Tracing").
   */
  readonly telemetry?: boolean;
}

/** Options with their defaults applied. */
export interface ResolvedOptions {
  readonly onFailure: FailurePolicy;
  readonly deadline: number | Date | undefined;
  readonly registry: BackendRegistry;
  readonly scheduler: SchedulerLike;
  readonly parent: string | undefined;
  readonly healthCheckInterval: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly telemetry: boolean;
}

/** Validates options (a miss is a `UsageError` naming `argument`) and applies the defaults. */
export function resolveOptions(options: unknown, argument: string): ResolvedOptions {
  return withDefaults(parseArgument(runOptionsSchema, options ?? {}, argument));
}

/** The defaults applied to options already validated (by `runOptionsSchema` or a schema extending it). */
export function withDefaults(parsed: z.output<typeof runOptionsSchema>): ResolvedOptions {
  return {
    onFailure: parsed.onFailure ?? FailurePolicy.HALT,
    deadline: parsed.deadline,
    registry: parsed.registry ?? defaultRegistry,
    scheduler: parsed.scheduler ?? asyncScheduler,
    parent: parsed.parent,
    healthCheckInterval: parsed.healthCheckInterval,
    signal: parsed.signal,
    telemetry: parsed.telemetry ?? true,
  };
}

/** The deadline on the scheduler's clock (ms) for a run starting now; the earlier of `deadline` and `outer`. */
export function deadlineAt(deadline: number | Date | undefined, scheduler: SchedulerLike, outer?: Date): number | undefined {
  const own = deadline === undefined ? undefined : deadline instanceof Date ? deadline.getTime() : scheduler.now() + deadline * 1000;
  const inherited = outer?.getTime();
  if (own === undefined) return inherited;
  return inherited === undefined ? own : Math.min(own, inherited);
}
