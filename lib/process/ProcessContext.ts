import { UsageError } from '../errors';
import { UNSPECIFIED, type Placement } from '../placement/Placement';
import { type TokenUsage, addUsage } from './usage';

/** What a `ProcessContext` is built from; only `processName` is required. */
export interface ProcessContextFields {
  /** The process's name. */
  readonly processName: string;
  /** A fresh id per execution; generated on first read when not given. */
  readonly processId?: string;
  /** Where the process runs (default: the unspecified placement). */
  readonly placement?: Placement;
  /** The name of the backend that runs it. */
  readonly backend?: string;
  /** The name of the enclosing group or process, if any. */
  readonly parent?: string;
  /** When the group's deadline passes, if it has one. */
  readonly deadline?: Date;
  /** Which attempt this is, from 1. */
  readonly attempt?: number;
  /** The bound input (see `Process.withInput`). */
  readonly input?: unknown;
  /** Aborts when the process is cancelled (default: a signal that never aborts). */
  readonly signal?: AbortSignal;
  /** Receives each partial result published with `ctx.emit`. */
  readonly onEmit?: (value: unknown) => void;
  /** The clock for timestamps, in milliseconds (default `Date.now`; a run passes its scheduler's). */
  readonly now?: () => number;
}

/** @internal Lets `Process.execute$` hand the parsed input to the context it was given. */
export const replaceInput: unique symbol = Symbol('stbass.replaceInput');

/**
 * @internal Tells the run of work a body started that can outlive its Observable (a promise, which
 * cancellation cannot stop): the run keeps the backend's slot until that work settles.
 */
export const holdWork: unique symbol = Symbol('stbass.holdWork');

const neverAborted = new AbortController().signal;

/**
 * What a running process knows about its run: its name and id, placement, backend, deadline,
 * attempt, input, a cancellation `signal`, and `emit`/`checkpoint` to report progress.
 *
 * @example
 * ```ts
 * const writer = Process('writer', async (ctx) => {
 *   for await (const token of model.stream(prompt, { signal: ctx.signal })) ctx.emit(token);
 *   ctx.checkpoint({ stage: 'streamed' });
 *   return ProcessResult.ok(text);
 * });
 * // in a test: await writer.execute(new ProcessContext({ processName: 'writer' }));
 * ```
 */
export class ProcessContext<Input = unknown> {
  // Only the fields object is kept (getters read it): a run keeps one context per process in flight.
  readonly #fields: ProcessContextFields;
  #input: Input;
  #processId: string | undefined;
  #checkpoint: unknown;
  #hasCheckpoint = false;
  #usage: TokenUsage | undefined;

  constructor(fields: ProcessContextFields) {
    this.#fields = fields;
    this.#input = fields.input as Input;
    this.#processId = fields.processId;
  }

  /** The process's name. */
  get processName(): string {
    return this.#fields.processName;
  }

  /** Where the process runs (the unspecified placement when none was given). */
  get placement(): Placement {
    return this.#fields.placement ?? UNSPECIFIED;
  }

  /** The name of the backend that runs it. */
  get backend(): string | undefined {
    return this.#fields.backend;
  }

  /** The name of the enclosing group or process, if any. */
  get parent(): string | undefined {
    return this.#fields.parent;
  }

  /** When the group's deadline passes, if it has one. */
  get deadline(): Date | undefined {
    return this.#fields.deadline;
  }

  /** Which attempt this is, from 1. */
  get attempt(): number {
    return this.#fields.attempt ?? 1;
  }

  /** The bound input, validated against the process's `input` schema (after its transforms). */
  get input(): Input {
    return this.#input;
  }

  /** @internal Called once by `Process.execute$` with the input as its schema parsed it. */
  [replaceInput](input: unknown): void {
    this.#input = input as Input;
  }

  /** @internal See `holdWork`; a context outside a run has no slot to keep. */
  [holdWork](_work: PromiseLike<unknown>): void {}

  /** A fresh UUID per execution. */
  get processId(): string {
    // The Web Crypto global (Node >= 20, browsers, edge runtimes), not node:crypto: the core runs everywhere.
    return (this.#processId ??= globalThis.crypto.randomUUID());
  }

  /** Aborts when the process is cancelled for any reason: HALT, the deadline, unsubscription. */
  get signal(): AbortSignal {
    return this.#fields.signal ?? neverAborted;
  }

  /** Publishes a partial result (a streamed token, a progress note) as a `partial` event. */
  emit(value: unknown): void {
    this.#fields.onEmit?.(value);
  }

  /** Records progress; the last checkpoint lands in the `Failure` if the process fails. */
  checkpoint(value: unknown): void {
    this.#checkpoint = value;
    this.#hasCheckpoint = true;
  }

  /**
   * Adds tokens spent on a model to this execution's usage; a run sums it over attempts into the
   * pair's `PAREntry.usage`. Model backends call it for you.
   */
  recordUsage(usage: TokenUsage): void {
    const valid = (count: unknown): boolean => typeof count === 'number' && Number.isFinite(count) && count >= 0;
    if (typeof usage !== 'object' || usage === null || !valid(usage.inputTokens) || !valid(usage.outputTokens)) {
      throw new UsageError('recordUsage(usage)', 'an object { inputTokens, outputTokens } of finite numbers >= 0', usage);
    }
    this.#usage = addUsage(this.#usage, { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens });
  }

  /** The tokens recorded so far in this execution, or `undefined` when none were. */
  get usage(): TokenUsage | undefined {
    return this.#usage;
  }

  /** The last value given to `checkpoint`, or `undefined`. */
  get lastCheckpoint(): unknown {
    return this.#hasCheckpoint ? this.#checkpoint : undefined;
  }

  /** The current time on this context's clock, in milliseconds. */
  now(): number {
    return this.#fields.now === undefined ? Date.now() : this.#fields.now();
  }
}
