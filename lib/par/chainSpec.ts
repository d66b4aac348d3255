import { z } from 'zod';
import { BackendUnavailableError, CancelledError, DeadlineExceededError, PlacementTimeoutError, UsageError } from '../errors';
import { Placement } from '../placement/Placement';
import { PlacementChain } from '../placement/PlacementChain';
import type { Failure } from '../process/Failure';
import { parseArgument } from '../validation/parse';
import type { FallbackReason } from './events';

const hedgeSchema = z.strictObject(
  {
    after: z
      .number({ error: 'a finite number of seconds > 0' })
      .finite({ error: 'a finite number of seconds > 0' })
      .gt(0, { error: 'a finite number of seconds > 0' }),
  },
  { error: 'an object { after } (seconds)' },
);

const chainOptionsSchema = z.strictObject(
  {
    hedge: hedgeSchema.optional(),
    onStreamBreak: z.enum(['restart', 'fail'], { error: 'one of "restart", "fail"' }).optional(),
    timeout: hedgeSchema.shape.after.optional(),
    fallbackOn: z.custom<(failure: Failure) => boolean>((value) => typeof value === 'function', { error: 'a function (failure) => boolean' }).optional(),
  },
  { error: 'pair options { hedge?, onStreamBreak?, timeout?, fallbackOn? }' },
);

/**
 * The third element of a pair with a fallback chain: `[process, [primary, secondary], options]`.
 *
 * @example
 * ```ts
 * PLACED_PAR([writer, [opus, haiku], { hedge: { after: 2 }, onStreamBreak: 'restart', timeout: 30 }]);
 * ```
 */
export type ChainOptions = z.input<typeof chainOptionsSchema>;

/** Where a pair may run: one placement, several in order, or a chain made with `orElse`. */
export type Placements = Placement | readonly Placement[] | PlacementChain;

/** @internal A pair's chain, read and defaulted. */
export interface ChainSpec {
  /** Two or more, first choice first. */
  readonly placements: readonly Placement[];
  /** When the next placement starts beside one that has not settled (ms), if hedged. */
  readonly hedgeAfterMs: number | undefined;
  readonly onStreamBreak: 'restart' | 'fail';
  /** How long each placement may take before the chain cuts it and moves on (seconds), if limited. */
  readonly timeout: number | undefined;
  /** Whether a placement's final failure moves the chain on. */
  readonly movesOn: (failure: Failure) => boolean;
  /** The pair options as given (validated), so that `group.pairs` gives them back. */
  readonly options: ChainOptions | undefined;
}

/** An error that says it is a timeout: the chain's own (`timeout`), `AbortSignal.timeout`'s, a client's `TimeoutError`. */
function isTimeout(error: Error): boolean {
  return error instanceof PlacementTimeoutError || error.name === 'TimeoutError';
}

/**
 * Whether a placement's final failure moves a chain on by default: the backend unavailable, a
 * timeout, or any error a retry policy would retry (its retries there spent); not a cancellation,
 * a deadline miss, or an error that says it is permanent (`retryable: false`: the request itself is wrong).
 */
export function movesOnByDefault(failure: Failure): boolean {
  const { error } = failure;
  if (error instanceof CancelledError || error instanceof DeadlineExceededError) return false;
  if (error instanceof BackendUnavailableError || isTimeout(error)) return true;
  return !('retryable' in error && error.retryable === false);
}

/** How the `fallback` event names a failure that moved the chain on. */
export function fallbackReason(failure: Failure): FallbackReason {
  if (failure.error instanceof BackendUnavailableError) return 'unavailable';
  return isTimeout(failure.error) ? 'timeout' : 'failed';
}

/**
 * Reads a pair's placements (`argument` names them) and options (`optionsArgument`): one placement
 * is a plain pair (`chain` undefined, no cost of chains), two or more a chain. Bad input is a
 * `UsageError` naming the element.
 */
export function resolvePlacements(where: unknown, options: unknown, argument: string, optionsArgument: string): { placement: Placement; chain: ChainSpec | undefined } {
  const parsed = parseArgument(chainOptionsSchema, options ?? {}, optionsArgument);
  const placements = placementList(where, argument);
  const [first] = placements;
  if (first === undefined) throw new UsageError(argument, 'a Placement, a non-empty array of Placements or a PlacementChain', where);
  if (placements.length === 1) return { placement: first, chain: undefined };
  return {
    placement: first,
    chain: {
      placements,
      hedgeAfterMs: parsed.hedge === undefined ? undefined : parsed.hedge.after * 1000,
      onStreamBreak: parsed.onStreamBreak ?? 'restart',
      timeout: parsed.timeout,
      movesOn: parsed.fallbackOn ?? movesOnByDefault,
      options: options === undefined ? undefined : parsed,
    },
  };
}

function placementList(where: unknown, argument: string): readonly Placement[] {
  if (where instanceof Placement) return [where];
  if (where instanceof PlacementChain) return where.placements;
  if (!Array.isArray(where)) throw new UsageError(argument, 'a Placement, an array of Placements or a PlacementChain (primary.orElse(secondary))', where);
  return where.map((placement: unknown, index) => {
    if (!(placement instanceof Placement)) throw new UsageError(`${argument}[${index}]`, 'a Placement (new Placement({ model, endpoint, config }))', placement);
    return placement;
  });
}
