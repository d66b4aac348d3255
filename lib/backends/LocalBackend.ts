import type { Observable } from 'rxjs';
import { z } from 'zod';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import type { ProcessResult } from '../process/ProcessResult';
import { parseArgument } from '../validation/parse';
import { concurrencyLimitOf, concurrencyLimitShape } from '../validation/concurrencyLimit';
import { ExecutionBackend } from './ExecutionBackend';

const localOptionsSchema = z.strictObject(concurrencyLimitShape, { error: 'an object { concurrencyLimit? }' });

/** Options of the `LocalBackend`: `concurrencyLimit` (default `Infinity`; `concurrency` is its deprecated alias). */
export type LocalBackendOptions = z.input<typeof localOptionsSchema>;

/**
 * The default backend: runs each process in this Node.js process through `execute$`, so it stays
 * synchronous (and in virtual time) where the process is.
 *
 * @example
 * ```ts
 * const registry = new BackendRegistry().register('local', new LocalBackend({ concurrencyLimit: 4 }));
 * ```
 */
export class LocalBackend extends ExecutionBackend {
  // Declared, not defined (see ExecutionBackend): a field would hide a subclass's getter, the seed's
  // `@property`. The name is set only where no subclass defines it; the cap only when one is given
  // (without it, the base reads Infinity).
  declare readonly name: string;
  declare readonly concurrencyLimit: number;

  constructor(options: LocalBackendOptions = {}) {
    super();
    const parsed = parseArgument(localOptionsSchema, options, 'LocalBackend options');
    const limit = concurrencyLimitOf(parsed, 'LocalBackend options');
    // A subclass's field comes after this constructor and replaces it; its getter is found first
    // (and is not called here: it may read fields the subclass has not set yet).
    if (!Reflect.has(this, 'name')) this.name = 'local';
    if (limit !== undefined) this.concurrencyLimit = limit;
  }

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return process.execute$(ctx);
  }
}
