import { UsageError } from '../errors';
import { concurrencySchema } from './schemas';

/**
 * The option keys of a cap a user configures: `concurrencyLimit`, the one name of every cap in the
 * package, and `concurrency`, its deprecated alias on the backends that had it first.
 */
export const concurrencyLimitShape = {
  /** The most processes in flight on this backend at once, across every run that shares it (a whole number >= 1, or `Infinity`). */
  concurrencyLimit: concurrencySchema.optional(),
  /** @deprecated Use `concurrencyLimit` (the same cap under the package's one name); `concurrency` is removed in 1.0. */
  concurrency: concurrencySchema.optional(),
};

/**
 * The cap the options give: `concurrencyLimit`, else the deprecated `concurrency`, else `undefined`.
 * Both given and different is a `UsageError` naming `argument`: which one was meant cannot be told.
 */
export function concurrencyLimitOf(options: { readonly concurrencyLimit?: number | undefined; readonly concurrency?: number | undefined }, argument: string): number | undefined {
  const { concurrencyLimit, concurrency } = options;
  if (concurrencyLimit !== undefined && concurrency !== undefined && concurrencyLimit !== concurrency) {
    throw new UsageError(`${argument}.concurrency`, `to be left out (it is the deprecated name of concurrencyLimit, given as ${concurrencyLimit})`, concurrency);
  }
  return concurrencyLimit ?? concurrency;
}
