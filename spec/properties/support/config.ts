import fc from 'fast-check';

/**
 * How many cases each property runs, and how to replay one. CI runs the defaults (at least 2,000
 * cases per property); override with environment variables:
 *
 * - `STBASS_PROPERTY_RUNS=20000` runs more (or fewer) cases;
 * - `STBASS_PROPERTY_SEED=123 STBASS_PROPERTY_PATH="4:1:0"` replays the failing case printed by a
 *   failed run (the path is optional: the seed alone reruns the same sequence of cases).
 */
export function propertyParameters<T>(defaultRuns: number): fc.Parameters<T> {
  const runs = readInteger('STBASS_PROPERTY_RUNS');
  const seed = readInteger('STBASS_PROPERTY_SEED');
  const path = process.env.STBASS_PROPERTY_PATH;
  return {
    numRuns: runs ?? defaultRuns,
    ...(seed === undefined ? {} : { seed }),
    ...(seed !== undefined && path !== undefined && path !== '' ? { path } : {}),
  };
}

function readInteger(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, received ${JSON.stringify(text)}`);
  return value;
}

/**
 * Checks a property and, on failure, throws an error whose message is fast-check's report (seed,
 * path, shrunk counterexample, the first failure's message) plus the command that replays it, so
 * that everything needed to reproduce the case is in jest's output.
 */
export function checkProperty<Ts>(name: string, property: fc.IProperty<Ts>, defaultRuns: number): fc.RunDetails<Ts> {
  const details = fc.check(property, propertyParameters<Ts>(defaultRuns));
  if (details.failed) throw new Error(failureReport(name, details));
  return details;
}

/** The same for an async property. */
export async function checkAsyncProperty<Ts>(name: string, property: fc.IAsyncProperty<Ts>, defaultRuns: number): Promise<fc.RunDetails<Ts>> {
  const details = await fc.check(property, propertyParameters<Ts>(defaultRuns));
  if (details.failed) throw new Error(failureReport(name, details));
  return details;
}

function failureReport<Ts>(name: string, details: fc.RunDetails<Ts>): string {
  const replay = `STBASS_PROPERTY_SEED=${details.seed} STBASS_PROPERTY_PATH="${details.counterexamplePath ?? ''}" npx jest spec/properties -t ${JSON.stringify(name)}`;
  const error = details.errorInstance;
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `property "${name}" failed: ${cause}\nReplay: ${replay}\n\n${fc.defaultReportMessage(details) ?? ''}`;
}
