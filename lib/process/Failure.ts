import type { Placement } from '../placement/Placement';
import { type LazyProcessId, drawProcessId } from './LazyProcessId';

/** The context a failure may carry; every field is optional when building one. */
export interface FailureFields {
  readonly processName?: string;
  /** The pair's key in a keyed group. */
  readonly key?: string | undefined;
  /** The process's id; an engine's failure may carry one not drawn yet (see `Failure.processId`). */
  readonly processId?: string | LazyProcessId;
  readonly startedAt?: Date;
  readonly failedAt?: Date;
  readonly placement?: Placement;
  readonly backend?: string;
  readonly parentProcess?: string;
  readonly checkpoint?: unknown;
  readonly attempts?: number;
  readonly stack?: string;
  /** The failures of the earlier placements of a fallback chain, first to last. */
  readonly previous?: readonly Failure[];
}

/** The plain, serialisable form of a `Failure` (see `Failure.toJSON`). */
export interface FailureJSON {
  error: { name: string; message: string; stack?: string };
  processName: string;
  key?: string;
  processId?: string;
  startedAt?: string;
  failedAt: string;
  elapsed?: number;
  placement?: ReturnType<Placement['toJSON']>;
  backend?: string;
  parentProcess?: string;
  checkpoint?: unknown;
  attempts: number;
  summary: string;
  previous?: FailureJSON[];
}

/**
 * Why and where a process failed: the error, the process, its placement and backend, timing, the
 * last checkpoint and the stack. Immutable.
 *
 * @example
 * ```ts
 * for (const failure of result.failures) {
 *   console.log(failure.summary);          // "[classifier] Error: rate limited"
 *   console.log(failure.placement?.model); // "claude-haiku-4-5-20250414"
 * }
 * ```
 */
export class Failure {
  readonly error: Error;
  readonly processName: string;
  /** The pair's key in a keyed group (`PLACED_PAR({ plan: pair })`), `undefined` in a positional one. */
  readonly key: string | undefined;
  readonly startedAt: Date | undefined;
  readonly failedAt: Date;
  readonly placement: Placement | undefined;
  readonly backend: string | undefined;
  readonly parentProcess: string | undefined;
  readonly checkpoint: unknown;
  /** How many attempts ran (1 without retries; over every placement of a fallback chain). */
  readonly attempts: number;
  /**
   * When the pair had a fallback chain: the failures of the placements tried before this one, first
   * to last (empty otherwise).
   */
  readonly previous: readonly Failure[];
  readonly #processId: string | LazyProcessId | undefined;
  /** A stack given explicitly (a remote one); otherwise the error's own is read when asked for. */
  readonly #stack: string | undefined;
  /** The fields as given, before defaults: what `fillMissing` may not replace. */
  readonly #given: FailureFields;

  constructor(error: Error, fields: FailureFields = {}) {
    this.error = error;
    this.processName = fields.processName ?? 'unknown';
    this.key = fields.key;
    this.#processId = fields.processId;
    this.startedAt = fields.startedAt;
    this.failedAt = fields.failedAt ?? new Date();
    this.placement = fields.placement;
    this.backend = fields.backend;
    this.parentProcess = fields.parentProcess;
    this.checkpoint = fields.checkpoint;
    this.attempts = fields.attempts ?? 1;
    this.previous = fields.previous === undefined ? NONE : Object.freeze([...fields.previous]);
    this.#stack = fields.stack;
    this.#given = { ...fields };
    Object.freeze(this);
  }

  /** A copy with some fields replaced. */
  with(fields: FailureFields): Failure {
    return new Failure(this.error, { ...this.#given, ...fields });
  }

  /**
   * A copy where the fields this failure was not given are filled from `defaults` (a defaulted
   * `failedAt` or `attempts` counts as not given), and `overrides` replace whatever was there.
   */
  fillMissing(defaults: FailureFields, overrides?: FailureFields): Failure {
    const merged: Record<string, unknown> = { failedAt: this.failedAt, attempts: this.attempts, ...defaults };
    for (const [key, value] of Object.entries(this.#given)) if (value !== undefined) merged[key] = value;
    return new Failure(this.error, overrides === undefined ? merged : { ...merged, ...overrides });
  }

  /**
   * The stack of the failure: the one given, else the error's. Read lazily: formatting a stack is
   * the dearest part of an error, and a deadline or a HALT fails many processes at once.
   */
  get stack(): string | undefined {
    return this.#stack ?? this.error.stack;
  }

  /**
   * The id of the process's execution (its `ctx.processId`). Read lazily, as `stack` is: a process
   * cut by a deadline or a HALT that never read its id has one drawn only when this is read.
   */
  get processId(): string | undefined {
    return this.#processId === undefined ? undefined : drawProcessId(this.#processId);
  }

  /** Seconds from start to failure, or `undefined` without a start. */
  get elapsed(): number | undefined {
    return this.startedAt === undefined ? undefined : (this.failedAt.getTime() - this.startedAt.getTime()) / 1000;
  }

  /** One line: `[name] ErrorName: message`. */
  get summary(): string {
    return `[${this.processName}] ${this.error.name}: ${this.error.message}`;
  }

  /** Several lines: the summary, placement, backend, timing, attempts, checkpoint and stack. */
  get detailed(): string {
    const lines = [this.summary, `  placement: ${this.placement?.summary ?? 'unspecified'}`, `  backend:   ${this.backend ?? 'unknown'}`];
    if (this.parentProcess !== undefined) lines.push(`  parent:    ${this.parentProcess}`);
    const elapsed = this.elapsed;
    lines.push(
      `  timing:    ${this.startedAt?.toISOString() ?? '?'} -> ${this.failedAt.toISOString()}${elapsed === undefined ? '' : ` (${elapsed.toFixed(3)}s)`}`,
      `  attempts:  ${this.attempts}`,
    );
    if (this.checkpoint !== undefined) lines.push(`  checkpoint: ${safeJson(this.checkpoint)}`);
    for (const earlier of this.previous) lines.push(`  before:    ${earlier.summary} (${earlier.placement?.summary ?? 'unspecified'}, backend ${earlier.backend ?? 'unknown'})`);
    if (this.stack !== undefined) lines.push('  stack:', ...this.stack.split('\n').map((line) => `    ${line}`));
    return lines.join('\n');
  }

  /** A plain, serialisable object for logs and UIs. */
  toJSON(): FailureJSON {
    const json: FailureJSON = {
      error: { name: this.error.name, message: this.error.message, ...(this.stack === undefined ? {} : { stack: this.stack }) },
      processName: this.processName,
      failedAt: this.failedAt.toISOString(),
      attempts: this.attempts,
      summary: this.summary,
    };
    if (this.key !== undefined) json.key = this.key;
    if (this.processId !== undefined) json.processId = this.processId;
    if (this.startedAt !== undefined) json.startedAt = this.startedAt.toISOString();
    const elapsed = this.elapsed;
    if (elapsed !== undefined) json.elapsed = elapsed;
    if (this.placement !== undefined) json.placement = this.placement.toJSON();
    if (this.backend !== undefined) json.backend = this.backend;
    if (this.parentProcess !== undefined) json.parentProcess = this.parentProcess;
    if (this.checkpoint !== undefined) json.checkpoint = JSON.parse(safeJson(this.checkpoint)) as unknown;
    if (this.previous.length > 0) json.previous = this.previous.map((failure) => failure.toJSON());
    return json;
  }
}

const NONE: readonly Failure[] = Object.freeze([]);

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}
