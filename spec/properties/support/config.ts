import fc from 'fast-check';

/** How many cases a property (or a randomised check) runs: `quick` in `npm test`, `full` in `npm run test:full` and CI. */
export interface CaseCounts {
  readonly quick: number;
  readonly full: number;
}

/**
 * The number of cases to run, from `STBASS_PROPERTY_RUNS`:
 *
 * - unset (or `quick`): the quick count, so that `npm test` stays fast on a busy laptop;
 * - `full`: the full count (`npm run test:full` sets it; CI runs that);
 * - a number, e.g. `STBASS_PROPERTY_RUNS=20000`: that many cases for every property.
 *
 * `STBASS_PROPERTY_SEED=123 STBASS_PROPERTY_PATH="4:1:0"` replays the failing case printed by a
 * failed run (the path is optional: the seed alone reruns the same sequence of cases).
 */
export function caseCount(counts: CaseCounts): number {
  const text = process.env['STBASS_PROPERTY_RUNS'];
  if (text === undefined || text === '' || text === 'quick') return counts.quick;
  if (text === 'full') return counts.full;
  return readInteger('STBASS_PROPERTY_RUNS', 'quick, full or a number of cases') ?? counts.quick;
}

/** fast-check's parameters for a property of `counts` cases, with the replay variables applied. */
export function propertyParameters<T>(counts: CaseCounts): fc.Parameters<T> {
  // fast-check's seeds are 32-bit and often negative: the replay line it prints must be accepted.
  const seed = readInteger('STBASS_PROPERTY_SEED', 'an integer', Number.MIN_SAFE_INTEGER);
  const path = process.env['STBASS_PROPERTY_PATH'];
  return {
    numRuns: caseCount(counts),
    ...(seed === undefined ? {} : { seed }),
    ...(seed !== undefined && path !== undefined && path !== '' ? { path } : {}),
  };
}

function readInteger(name: string, expected: string, min = 0): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be ${expected}, received ${JSON.stringify(text)}`);
  return value;
}

/**
 * Checks a property and, on failure, throws an error whose message is fast-check's report (seed,
 * path, shrunk counterexample, the first failure's message) plus the command that replays it, so
 * that everything needed to reproduce the case is in jest's output.
 */
export function checkProperty<Ts>(name: string, property: fc.IProperty<Ts>, counts: CaseCounts): fc.RunDetails<Ts> {
  const details = fc.check(property, propertyParameters<Ts>(counts));
  if (details.failed) throw new Error(failureReport(name, details));
  return details;
}

/** The same for an async property. */
export async function checkAsyncProperty<Ts>(name: string, property: fc.IAsyncProperty<Ts>, counts: CaseCounts): Promise<fc.RunDetails<Ts>> {
  const details = await fc.check(property, propertyParameters<Ts>(counts));
  if (details.failed) throw new Error(failureReport(name, details));
  return details;
}

function failureReport<Ts>(name: string, details: fc.RunDetails<Ts>): string {
  const replay = `STBASS_PROPERTY_SEED=${details.seed} STBASS_PROPERTY_PATH="${details.counterexamplePath ?? ''}" npx jest spec/properties -t ${JSON.stringify(name)}`;
  const error = details.errorInstance;
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `property "${name}" failed: ${cause}\nReplay: ${replay}\n\n${fc.defaultReportMessage(details) ?? ''}`;
}
