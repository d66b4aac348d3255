import { z } from 'zod';

/** A positive whole number or `Infinity`: the shape of every concurrency cap. */
export const concurrencySchema = z.union(
  [z.number().int().min(1), z.literal(Number.POSITIVE_INFINITY)],
  { error: 'a whole number >= 1 or Infinity' },
);

/** A name that identifies something in a report: a non-empty string. */
export const nameSchema = z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' });

/** A number of seconds that is finite and >= 0. */
export const secondsSchema = z
  .number({ error: 'a finite number of seconds >= 0' })
  .finite({ error: 'a finite number of seconds >= 0' })
  .min(0, { error: 'a finite number of seconds >= 0' });
