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
  readonly name: string = 'local';
  override readonly concurrencyLimit: number;

  constructor(options: LocalBackendOptions = {}) {
    super();
    const parsed = parseArgument(localOptionsSchema, options, 'LocalBackend options');
    this.concurrencyLimit = concurrencyLimitOf(parsed, 'LocalBackend options') ?? Number.POSITIVE_INFINITY;
  }

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return process.execute$(ctx);
  }
}
