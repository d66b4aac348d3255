import { z } from 'zod';

const concurrencyExpected = 'a whole number >= 1 or Infinity';

/** A positive whole number or `Infinity`: the shape of every concurrency cap. */
export const concurrencySchema = z.union(
  [
    z.number({ error: concurrencyExpected }).int({ error: concurrencyExpected }).min(1, { error: concurrencyExpected }),
    z.literal(Number.POSITIVE_INFINITY),
  ],
  { error: concurrencyExpected },
);

/** A name that identifies something in a report: a non-empty string. */
export const nameSchema = z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' });

/** A number of seconds that is finite and >= 0. */
export const secondsSchema = z
  .number({ error: 'a finite number of seconds >= 0' })
  .finite({ error: 'a finite number of seconds >= 0' })
  .min(0, { error: 'a finite number of seconds >= 0' });
