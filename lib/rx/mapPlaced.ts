import { Observable, type OperatorFunction } from 'rxjs';
import { z } from 'zod';
import { UsageError } from '../errors';
import { PlacedRun } from '../par/engine';
import { type PlacedItem, type ResolvedPair, type ValueOfItem, resolvePair } from '../par/PlacedPar';
import { type PlacedParOptions, runOptionsSchema, withDefaults } from '../par/options';
import type { ProcessResult } from '../process/ProcessResult';
import { parseArgument } from '../validation/parse';

const mapPlacedOptionsSchema = runOptionsSchema.extend({ ordered: z.boolean({ error: 'a boolean' }).optional() });

/**
 * Options of `mapPlaced`: those of `PLACED_PAR`, where a `deadline` in seconds is each item's own
 * (counted from its arrival; a `Date` is one instant for all), plus `ordered`.
 */
export interface MapPlacedOptions extends PlacedParOptions {
  /** Emit results in source order instead of completion order (default `false`). */
  readonly ordered?: boolean;
}

/**
 * Turns each source value into a placed process, runs it on its backend (under the backend's
 * shared cap, the registry, the failure policy and a per-item deadline) and emits each
 * `ProcessResult`. Under HALT the stream errors with the first non-optional failure's error after
 * cancelling what is in flight; under COLLECT failed results are emitted and the stream goes on.
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
  const { onFailure, registry, scheduler, parent, deadline } = withDefaults(parsed);
  const itemDeadline = typeof deadline === 'number' ? deadline : undefined;
  const sharedDeadlineAt = deadline instanceof Date ? deadline.getTime() : undefined;
  type Value = ValueOfItem<Item>;

  return (source) =>
    new Observable<ProcessResult<Value>>((subscriber) => {
      // Results that settled ahead of their turn, when ordered; emitted as soon as the gap closes.
      const waiting = new Map<number, ProcessResult<Value>>();
      let nextToEmit = 0;
      let halted = false;
      const emitInOrder = (index: number, result: ProcessResult<Value>): void => {
        if (!ordered) return subscriber.next(result);
        waiting.set(index, result);
        for (let ready = waiting.get(nextToEmit); ready !== undefined; ready = waiting.get(nextToEmit)) {
          waiting.delete(nextToEmit);
          nextToEmit += 1;
          subscriber.next(ready);
        }
      };
      const run = new PlacedRun<Value>(
        { policy: onFailure, registry, scheduler, parent, deadlineAt: sharedDeadlineAt, retainSettled: false },
        {
          settled: (task, halting) => {
            // From the halting failure on, the stream's answer is that failure's error, not more results.
            halted ||= halting;
            if (!halted && task.result !== undefined) emitInOrder(task.index, task.result);
          },
          halted: (failure) => subscriber.error(failure.error),
          done: () => subscriber.complete(),
        },
      );
      run.open();
      let index = 0;
      const upstream = source.subscribe({
        next: (value) => {
          let pair: ResolvedPair<Value>;
          try {
            pair = resolvePair<Value>(project(value, index), `mapPlaced project(value, ${index}) result`, 'allowed');
          } catch (error) {
            subscriber.error(error);
            return;
          }
          index += 1;
          run.add(pair.process, pair.placement, itemDeadline);
        },
        error: (error: unknown) => {
          run.dispose();
          subscriber.error(error);
        },
        complete: () => run.close(),
      });
      return () => {
        upstream.unsubscribe();
        run.dispose();
      };
    });
}
