import { type LazyProcessId, drawProcessId } from '../process/LazyProcessId';
import { ProcessContext, holdWork, replaceInput } from '../process/ProcessContext';
import type { TokenUsage } from '../process/usage';
import type { Placement } from '../placement/Placement';
import type { Lease } from './slots';
import type { PlacedTask } from './task';

// A run keeps one context per process in flight: what the task already knows is read from it, not
// copied into a fields object of its own.
const NO_FIELDS = { processName: '' };

/**
 * The context a run gives one attempt: its fields are read from the task, its `AbortController` is
 * made only when the signal is read (most bodies never read it), and work the body leaves running
 * keeps the attempt's slot.
 */
export class RunContext extends ProcessContext {
  #controller: AbortController | undefined;
  #abortReason: Error | undefined;
  readonly #task: PlacedTask<unknown>;
  readonly #backend: string;
  readonly #attempt: number;
  readonly #lease: Lease;
  #onEmit: ((value: unknown) => void) | undefined;
  #processId: LazyProcessId | undefined;

  constructor(task: PlacedTask<unknown>, backend: string, attempt: number, lease: Lease, onEmit: ((value: unknown) => void) | undefined) {
    super(NO_FIELDS);
    this.#task = task;
    this.#backend = backend;
    this.#attempt = attempt;
    this.#lease = lease;
    this.#onEmit = onEmit;
    if (task.process.boundInput !== undefined) this[replaceInput](task.process.boundInput);
  }

  override get processId(): string {
    return drawProcessId(this.lazyId);
  }

  /** The id as the attempt's failure takes it: drawn when the body or the failure first reads it. */
  get lazyId(): LazyProcessId {
    return (this.#processId ??= {});
  }

  override get processName(): string {
    return this.#task.process.name;
  }

  override get placement(): Placement {
    return this.#task.placement;
  }

  override get backend(): string {
    return this.#backend;
  }

  override get parent(): string | undefined {
    return this.#task.settings.parent;
  }

  override get deadline(): Date | undefined {
    return this.#task.deadline;
  }

  override get attempt(): number {
    return this.#attempt;
  }

  override now(): number {
    return this.#task.settings.now();
  }

  override emit(value: unknown): void {
    this.#onEmit?.(value);
  }

  override get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /**
   * The attempt has ended: later `emit` calls go nowhere, and the context lets go of the emitter. A
   * body may keep its context past its run (a listener, a cache); the emitter reaches the run's
   * subscribers, and through them every result of the run.
   */
  ended(): void {
    this.#onEmit = undefined;
  }

  /** Cancels the attempt: its signal aborts with `reason` (now, or when it is first read). */
  abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }

  /** Also counts the tokens against the backend's token rate, if it has one (see `RateLimit`). */
  override recordUsage(usage: TokenUsage): void {
    super.recordUsage(usage);
    this.#lease.spend(usage.inputTokens + usage.outputTokens);
  }

  override [holdWork](work: PromiseLike<unknown>): void {
    this.#lease.holdUntil(work);
  }
}
