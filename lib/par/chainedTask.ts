import type { Placement } from '../placement/Placement';
import type { Process, ProcessBase } from '../process/Process';
import type { RunContext } from './RunContext';
import { type TokenUsage, addUsage } from '../process/usage';
import type { ChainSpec } from './chainSpec';
import type { PlacementAttempt } from './PARResult';
import { type PlacedTask, type RunSettings, placeTask } from './task';

// A pair with several placements, as the run sees it: one task that reads itself from the
// placements it has tried. fallbackChain.ts is what runs them.

/** @internal A chain's run so far: the placements started (each its own task) and how each ended. */
export interface ChainState<T> {
  readonly spec: ChainSpec;
  /** The placements started, each as a task of its own, in the order started. */
  readonly tries: PlacedTask<T>[];
  /** How each ended, in the order they ended: the entry's `placements`. */
  readonly tried: PlacementAttempt[];
  /** The placement that settled the pair, else the one started last: the pair's placement and backend. */
  current: PlacedTask<T>;
}

/**
 * @internal The task of a pair with a fallback chain, as the run sees it (merged, cut by a stop,
 * recorded in its entry): what it reports is read from the placements it has tried — their
 * attempts, usage and start added up, the current one's placement, backend and context.
 */
class ChainedTask<T> implements PlacedTask<T> {
  readonly inline: ProcessBase<T> | undefined = undefined;
  readonly deadline: Date | undefined;
  readonly chain: ChainState<T>;
  cutReason: Error | undefined = undefined;

  constructor(
    readonly index: number,
    readonly process: Process<T>,
    spec: ChainSpec,
    readonly settings: RunSettings,
    readonly deadlineAt: number | undefined,
    first: PlacedTask<T>,
    readonly key: string | undefined,
  ) {
    this.deadline = first.deadline;
    this.chain = { spec, tries: [first], tried: [], current: first };
  }

  get placement(): Placement {
    return this.chain.current.placement;
  }

  get backend(): PlacedTask<T>['backend'] {
    return this.chain.current.backend;
  }

  get context(): RunContext | undefined {
    return this.chain.current.context;
  }

  get attempts(): number {
    let attempts = 0;
    for (const tried of this.chain.tries) attempts += tried.attempts;
    return attempts;
  }

  get startedAt(): number | undefined {
    let first: number | undefined;
    for (const { startedAt } of this.chain.tries) if (startedAt !== undefined && (first === undefined || startedAt < first)) first = startedAt;
    return first;
  }

  get usage(): TokenUsage | undefined {
    let usage: TokenUsage | undefined;
    for (const tried of this.chain.tries) usage = addUsage(usage, tried.usage);
    return usage;
  }

  get running(): boolean {
    return this.chain.tries.some((tried) => tried.running);
  }
}

/** Places a pair with a fallback chain whose first placement is `primary`: a task per placement, made when the chain reaches it. */
export function placeChain<T>(index: number, process: Process<T>, primary: Placement, spec: ChainSpec, settings: RunSettings, ownDeadlineAt?: number, key?: string): PlacedTask<T> {
  const first = placeTask(index, process, primary, settings, ownDeadlineAt, key);
  return new ChainedTask(index, process, spec, settings, first.deadlineAt, first, key);
}
