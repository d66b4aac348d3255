import { z } from 'zod';
import type { Backend } from '../backends/ExecutionBackend';
import { rateLimitSchema } from '../backends/rateLimit';
import { LocalBackend } from '../backends/LocalBackend';
import { BackendUnavailableError, UsageError } from '../errors';
import { parseArgument } from '../validation/parse';
import { concurrencySchema, nameSchema } from '../validation/schemas';
import { Placement } from './Placement';

const functionSchema = (expected: string) => z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', { error: expected });

const backendSchema = z.looseObject(
  {
    name: nameSchema,
    execute: functionSchema('a function execute(process, ctx)'),
    concurrencyLimit: concurrencySchema.optional(),
    rateLimit: rateLimitSchema.optional(),
    pauseOnRateLimit: z.boolean({ error: 'a boolean' }).optional(),
    healthCheck: functionSchema('a function healthCheck()').optional(),
  },
  { error: 'an ExecutionBackend (an object with name, execute(process, ctx), concurrencyLimit?, rateLimit?, pauseOnRateLimit?, healthCheck?)' },
);

/** Checks that `candidate` has the shape of a backend; a miss is a `UsageError` naming `argument`. */
export function checkBackend(candidate: unknown, argument: string): Backend {
  parseArgument(backendSchema, candidate, argument);
  return candidate as Backend;
}

const registryOptionsSchema = z.strictObject(
  { default: z.unknown().optional(), strict: z.boolean({ error: 'a boolean' }).optional() },
  { error: 'an object { default?, strict? }' },
);

/** Options of a `BackendRegistry`. */
export interface BackendRegistryOptions {
  /** The backend for placements that match nothing (default: a new `LocalBackend`). */
  readonly default?: Backend;
  /** When true, a placement naming an endpoint or model that matches no backend fails instead of running on the default. */
  readonly strict?: boolean;
}

/**
 * Maps placements to backends. `get` tries the endpoint exactly, then the endpoint's scheme (the
 * part before its first `:`), then the model, then falls back to the default.
 *
 * @example
 * ```ts
 * const registry = new BackendRegistry()
 *   .register('anthropic', claudeBackend)
 *   .register('local', new LocalBackend({ concurrencyLimit: 2 }));
 * registry.get(new Placement({ endpoint: 'local:8080' })); // the local backend
 * registry.get(new Placement({ endpoint: 'unknown' }));    // the default LocalBackend
 * ```
 */
export class BackendRegistry {
  /** Whether unmatched placements fail instead of running on the default. */
  readonly strict: boolean;
  readonly #backends = new Map<string, Backend>();
  readonly #default: Backend;

  constructor(options: BackendRegistryOptions = {}) {
    const parsed = parseArgument(registryOptionsSchema, options, 'BackendRegistry options');
    this.strict = parsed.strict ?? false;
    this.#default = parsed.default === undefined ? new LocalBackend() : checkBackend(parsed.default, 'BackendRegistry options.default');
  }

  /** The backend for placements that match no registered name. */
  get default(): Backend {
    return this.#default;
  }

  /** The registered names, in registration order. */
  get names(): string[] {
    return [...this.#backends.keys()];
  }

  /** Registers `backend` under `name`, replacing an earlier one of that name. Chainable. */
  register(name: string, backend: Backend): this {
    parseArgument(nameSchema, name, 'register(name)');
    this.#backends.set(name, checkBackend(backend, 'register(backend)'));
    return this;
  }

  /** Removes the backend registered under `name`; answers whether there was one. */
  unregister(name: string): boolean {
    return this.#backends.delete(name);
  }

  /** Whether a backend is registered under `name`. */
  has(name: string): boolean {
    return this.#backends.has(name);
  }

  /**
   * The backend for `placement`. In a strict registry, a placement that names an endpoint or a
   * model matching nothing throws a `BackendUnavailableError` listing the registered names.
   */
  get(placement: Placement): Backend {
    if (!(placement instanceof Placement)) throw new UsageError('get(placement)', 'a Placement', placement);
    const { endpoint, scheme, model } = placement;
    const found =
      (endpoint === undefined ? undefined : this.#backends.get(endpoint)) ??
      (scheme === undefined ? undefined : this.#backends.get(scheme)) ??
      (model === undefined ? undefined : this.#backends.get(model));
    if (found !== undefined) return found;
    if (this.strict && (endpoint !== undefined || model !== undefined)) {
      const registered = this.names.length === 0 ? 'none' : this.names.join(', ');
      throw new BackendUnavailableError(endpoint ?? model ?? 'unknown', placement, `no registered backend matches it (strict registry); registered: ${registered}`);
    }
    return this.#default;
  }
}

/** The registry `PLACED_PAR` uses when no `registry` option is given. */
export const defaultRegistry = new BackendRegistry();
