import { z } from 'zod';
import { parseArgument } from '../validation/parse';
import { nameSchema } from '../validation/schemas';
import { PlacementChain, placementsOf } from './PlacementChain';

/** A JSON-like value, as carried by `Placement.config`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The path and reason of the first value inside `value` that is not JSON-like (cycles included). */
function firstNonJson(value: unknown, path: PropertyKey[], ancestors: Set<object>): { path: PropertyKey[]; expected: string } | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, expected: 'a JSON-like value (numbers must be finite)' };
  if (typeof value !== 'object' || (!Array.isArray(value) && !isPlainObject(value))) {
    return { path, expected: 'a JSON-like value (a string, finite number, boolean, null, array or plain object)' };
  }
  if (ancestors.has(value)) return { path, expected: 'a JSON-like value without cycles' };
  ancestors.add(value);
  try {
    for (const [key, inner] of Object.entries(value)) {
      const found = firstNonJson(inner, [...path, Array.isArray(value) ? Number(key) : key], ancestors);
      if (found !== undefined) return found;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

const configSchema = z
  .custom<Record<string, JsonValue>>(isPlainObject, { error: 'a plain object of JSON-like values' })
  .superRefine((config, ctx) => {
    const found = firstNonJson(config, [], new Set());
    if (found !== undefined) ctx.addIssue({ code: 'custom', message: found.expected, path: found.path });
  });

const placementSchema = z.strictObject(
  {
    model: nameSchema.optional(),
    endpoint: nameSchema.optional(),
    config: configSchema.optional(),
  },
  { error: 'an object { model?, endpoint?, config? }' },
);

/** The fields of a placement; every one is optional. */
export type PlacementFields = z.input<typeof placementSchema>;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Where a process should run: a model, an endpoint and backend configuration. The registry picks
 * the backend from the endpoint (or its scheme, the part before `:`), else from the model.
 * Immutable.
 *
 * @example
 * ```ts
 * const opus = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' });
 * const local = new Placement({ model: 'llama-3', endpoint: 'local:8080', config: { temperature: 0.7 } });
 * opus.summary; // "model=claude-opus-4-5-20250414, endpoint=anthropic"
 * ```
 */
export class Placement {
  /** The model's name, if given. */
  readonly model: string | undefined;
  /** The endpoint identifier, e.g. `anthropic` or `local:8080`, if given. */
  readonly endpoint: string | undefined;
  /** Backend configuration (JSON-like, frozen), if given. */
  readonly config: Readonly<Record<string, JsonValue>> | undefined;

  constructor(fields: PlacementFields = {}) {
    const parsed = parseArgument(placementSchema, fields, 'Placement fields');
    this.model = parsed.model;
    this.endpoint = parsed.endpoint;
    this.config = parsed.config === undefined ? undefined : deepFreeze(structuredClone(parsed.config));
    Object.freeze(this);
  }

  /** A human-readable summary: `model=..., endpoint=...`, or `unspecified` when empty. */
  get summary(): string {
    const parts: string[] = [];
    if (this.model !== undefined) parts.push(`model=${this.model}`);
    if (this.endpoint !== undefined) parts.push(`endpoint=${this.endpoint}`);
    if (this.config !== undefined && Object.keys(this.config).length > 0) parts.push(`config=${JSON.stringify(this.config)}`);
    return parts.length === 0 ? 'unspecified' : parts.join(', ');
  }

  /** The endpoint's scheme: the part before its first `:` (`local` for `local:8080`). */
  get scheme(): string | undefined {
    if (this.endpoint === undefined) return undefined;
    const colon = this.endpoint.indexOf(':');
    return colon <= 0 ? undefined : this.endpoint.slice(0, colon);
  }

  /** A plain object for logs and JSON. */
  toJSON(): { model?: string; endpoint?: string; config?: Record<string, JsonValue> } {
    return {
      ...(this.model === undefined ? {} : { model: this.model }),
      ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
      ...(this.config === undefined ? {} : { config: this.config }),
    };
  }

  /**
   * A fallback chain: this placement first, then `next` (a placement or a chain) when a failure
   * here counts as a reason to move on. The same as `[this, next]` in a pair.
   *
   * @example
   * ```ts
   * PLACED_PAR([reasoner, opus.orElse(haiku)], [embedder, local.orElse(queued)]);
   * ```
   */
  orElse(next: Placement | PlacementChain): PlacementChain {
    return new PlacementChain([this, ...placementsOf(next, 'orElse(next)')]);
  }

  toString(): string {
    return `Placement(${this.summary})`;
  }
}

/** The empty placement shared by every process placed nowhere in particular. */
export const UNSPECIFIED = new Placement({});
