import { ProcessContext, type ProcessContextFields, holdWork } from '../process/ProcessContext';
import type { TokenUsage } from '../process/usage';
import type { Lease } from './slots';

/**
 * The context a run gives one attempt: its `AbortController` is made only when the signal is read
 * (most bodies never read it), and work the body leaves running keeps the attempt's slot.
 */
export class RunContext extends ProcessContext {
  #controller: AbortController | undefined;
  #abortReason: Error | undefined;
  readonly #lease: Lease;

  constructor(fields: ProcessContextFields, lease: Lease) {
    super(fields);
    this.#lease = lease;
  }

  override get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
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
