import { type MonoTypeOperatorFunction, type OperatorFunction, Subject, concatMap, defer, filter, map, takeUntil } from 'rxjs';
import { z } from 'zod';
import { ItemFailedError, UsageError } from '../errors';
import { abortStop$ } from '../par/abortStop';
import { HealthCache } from '../par/healthCache';
import { runPlaced } from '../par/pipeline';
import { type EngineEvent, type RunSettings, type Settlement } from '../par/task';
import { type PlacedItem, type ValueOfItem, placePair, resolvePair } from '../par/PlacedPar';
import { type PlacedParOptions, runOptionsSchema, withDefaults } from '../par/options';
import type { ProcessResult } from '../process/ProcessResult';
import { parseArgument } from '../validation/parse';
import { runTelemetry } from '../telemetry/tracedRun';

const mapPlacedOptionsSchema = runOptionsSchema.extend({ ordered: z.boolean({ error: 'a boolean' }).optional() });

/**
 * Options of `mapPlaced`: those of `PLACED_PAR`, where a `deadline` in seconds is each item's own
 * (counted from its arrival; a `Date` is one instant for all), plus `ordered`.
 */
export interface MapPlacedOptions extends PlacedParOptions {
  /**
   * Leaves the source when it aborts: each item in flight is emitted as a failed result (a
   * `CancelledError` of reason `aborted`), then the stream completes.
   */
  readonly signal?: AbortSignal;
  /** Emit results in source order instead of completion order (default `false`). */
  readonly ordered?: boolean;
}

/**
 * Turns each source value into a placed process, runs it on its backend (under the backend's
 * shared cap, the registry, the failure policy and a per-item deadline) and emits each
 * `ProcessResult`. Under HALT the stream errors after cancelling what is in flight, with an
 * `ItemFailedError` naming the first non-optional failed item (index, process, placement; its
 * error as `cause`); under COLLECT failed results are emitted and the stream goes on.
 *
 * With `signal`, an abort leaves the source, emits each item in flight as a failed result (a
 * `CancelledError` of reason `aborted`) and completes, under every policy: the abort is the
 * caller's stop, as `takeUntil` is, not a failure of a process (only a failure errors the stream,
 * under HALT). A signal already aborted completes at once without subscribing to the source.
 *
 * ```
 * source:     --q1------q2-----|
 * mapPlaced:  -------r1-------r2|
 * ```
 *
 * @example
 * ```ts
 * questions$.pipe(
 *   mapPlaced((question) => [answerer.withInput(question), opus], { onFailure: FailurePolicy.COLLECT, deadline: 30 }),
 * ).subscribe((result) => console.log(result.isOk ? result.value : result.failure.summary));
 * ```
 */
export function mapPlaced<Source, Item extends PlacedItem>(
  project: (value: Source, index: number) => Item,
  options?: MapPlacedOptions,
): OperatorFunction<Source, ProcessResult<ValueOfItem<Item>>> {
  if (typeof project !== 'function') throw new UsageError('mapPlaced(project)', 'a function (value, index) => [Process, Placement] or a Process', project);
  const parsed = parseArgument(mapPlacedOptionsSchema, options ?? {}, 'mapPlaced options');
  const ordered = parsed.ordered ?? false;
  const { onFailure, registry, scheduler, parent, deadline, healthCheckInterval, signal, telemetry: traced } = withDefaults(parsed);
  const signals = signal === undefined ? undefined : [signal];
  const itemDeadline = typeof deadline === 'number' ? deadline : undefined;
  const sharedDeadline = deadline instanceof Date ? deadline : undefined;
  type Value = ValueOfItem<Item>;

  return (source) =>
    defer(() => {
      const telemetry = runTelemetry({ name: 'mapPlaced', policy: onFailure, deadline: sharedDeadline }, traced);
      const settings: RunSettings = {
        policy: onFailure,
        registry,
        scheduler,
        now() {
          return scheduler.now();
        },
        parent,
        deadline: sharedDeadline,
        deadlineAt: sharedDeadline?.getTime(),
        // Telemetry reads the retries' delays from their events.
        verbose: telemetry?.verbose === true,
        deadlinePassed: new Subject<void>(),
        health: healthCheckInterval === undefined ? undefined : new HealthCache(healthCheckInterval, scheduler),
        signals,
        telemetry,
      };
      let index = 0;
      // On an abort the source is left (an already-aborted signal never subscribes to it) and what
      // is in flight is settled by the run's abort stop: the stream then completes.
      const tasks$ = (signals === undefined ? source : source.pipe(takeUntil(abortStop$(signals)))).pipe(
        map((value) => {
          const pair = resolvePair<Value>(project(value, index), `mapPlaced project(value, ${index}) result`, 'allowed');
          const ownDeadlineAt = itemDeadline === undefined ? undefined : scheduler.now() + itemDeadline * 1000;
          return placePair(index++, pair, settings, ownDeadlineAt);
        }),
      );
      const run$ = runPlaced(tasks$, settings, {
        error(failure, task) {
          return new ItemFailedError(task.index, failure);
        },
      });
      const settled$ = (telemetry === undefined ? run$ : telemetry.run(run$)).pipe(filter(isSettlement));
      return (ordered ? settled$.pipe(inSourceOrder()) : settled$).pipe(map((settlement) => settlement.result));
    });
}

function isSettlement<T>(event: EngineEvent<T>): event is Settlement<T> {
  return event.type === 'settled';
}

/** Holds settlements that came ahead of their turn and emits them in the order their items arrived. */
function inSourceOrder<T>(): MonoTypeOperatorFunction<Settlement<T>> {
  return (source) =>
    defer(() => {
      const early = new Map<number, Settlement<T>>();
      let next = 0;
      return source.pipe(
        concatMap((settlement) => {
          early.set(settlement.task.index, settlement);
          const ready: Settlement<T>[] = [];
          for (let found = early.get(next); found !== undefined; found = early.get(next)) {
            early.delete(next);
            next += 1;
            ready.push(found);
          }
          return ready;
        }),
      );
    });
}
