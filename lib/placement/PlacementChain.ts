import { UsageError } from '../errors';
import { Placement } from './Placement';

/**
 * Where a process may run, in order of preference: the first placement whose backend is healthy
 * runs it, and a failure that counts as a reason to move on (the backend unavailable, a retryable
 * error once the retry policy is spent there, a timeout) runs it on the next. Made with
 * `primary.orElse(secondary)`; the same as giving `[primary, secondary]` in a pair. Immutable.
 *
 * @example
 * ```ts
 * const opus = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' });
 * const haiku = new Placement({ model: 'claude-haiku-4-5-20250414', endpoint: 'anthropic' });
 * PLACED_PAR([reasoner, opus.orElse(haiku)]);
 * opus.orElse(haiku).placements; // [opus, haiku]
 * ```
 */
export class PlacementChain {
  /** The placements, first choice first (two or more). */
  readonly placements: readonly Placement[];

  /** @internal Use `placement.orElse(next)`. */
  constructor(placements: readonly Placement[]) {
    this.placements = Object.freeze([...placements]);
    Object.freeze(this);
  }

  /** This chain, then `next` (a placement or another chain) when every placement of it failed. */
  orElse(next: Placement | PlacementChain): PlacementChain {
    return new PlacementChain([...this.placements, ...placementsOf(next, 'orElse(next)')]);
  }

  /** `a, then b, then c` in placement summaries. */
  get summary(): string {
    return this.placements.map((placement) => placement.summary).join(' | then ');
  }

  toString(): string {
    return `PlacementChain(${this.summary})`;
  }
}

/** The placements of `next` for `orElse`; anything but a placement or a chain is a `UsageError` naming `argument`. */
export function placementsOf(next: unknown, argument: string): readonly Placement[] {
  if (next instanceof Placement) return [next];
  if (next instanceof PlacementChain) return next.placements;
  throw new UsageError(argument, 'a Placement or a PlacementChain (primary.orElse(secondary))', next);
}
