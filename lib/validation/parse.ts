import type { z } from 'zod';
import { UsageError, type ValidationIssue } from '../errors';

type Path = readonly PropertyKey[];

function valueAt(root: unknown, path: Path): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function joinPath(path: Path): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
}

/**
 * Parses a public argument with its schema; a miss is a `UsageError` naming the argument (with the
 * failing field's path), what was expected (the schema's message) and what was received.
 */
export function parseArgument<S extends z.ZodType>(schema: S, value: unknown, argument: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw new UsageError(argument, 'a valid value', value);
  if (issue.code === 'unrecognized_keys') {
    // Name the unknown key and list the known ones: a typo'd option must be easy to spot.
    const known = 'shape' in schema ? Object.keys((schema as unknown as { shape: object }).shape).join(', ') : 'the documented keys';
    const key = issue.keys[0] ?? '?';
    return failAt(argument, [...issue.path, key], `one of the known options (${known})`, valueAt(value, [...issue.path, key]));
  }
  return failAt(argument, issue.path, issue.message, valueAt(value, issue.path));
}

function failAt(argument: string, path: Path, expected: string, received: unknown): never {
  throw new UsageError(`${argument}${joinPath(path)}`, expected, received);
}

/** Turns zod issues into readable `{ path, message }` pairs for a `ValidationError`. */
export function readableIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length === 0 ? '(root)' : joinPath(issue.path).replace(/^\./, ''),
    message: issue.message,
  }));
}
