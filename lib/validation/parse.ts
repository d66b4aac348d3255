import { z } from 'zod';
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
  if (isStrictObjectSchema(schema) && typeof value === 'object' && value !== null && !isPlainObject(value)) {
    // zod takes any object (a Date, a Map, a class instance) for an object without keys: an options
    // object must be a plain one, or a misplaced argument would pass as empty options.
    const known = Object.keys(schema.shape).join(', ');
    throw new UsageError(argument, `a plain object { ${known} }`, value);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw new UsageError(argument, 'a valid value', value);
  if (issue.code === 'unrecognized_keys') {
    // Name the unknown key and list the known ones: a typo'd option must be easy to spot.
    const known = schema instanceof z.ZodObject ? Object.keys(schema.shape).join(', ') : 'the documented keys';
    const key = issue.keys[0] ?? '?';
    return failAt(argument, [...issue.path, key], `one of the known options (${known})`, valueAt(value, [...issue.path, key]));
  }
  return failAt(argument, issue.path, issue.message, valueAt(value, issue.path));
}

/**
 * Whether `value` is an object literal (or has no prototype). Its prototype is checked by shape, not
 * identity, so an object from another realm (a vm context, jest's sandbox, structuredClone there) counts.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

function isStrictObjectSchema(schema: z.ZodType): schema is z.ZodObject {
  return schema instanceof z.ZodObject && schema.def.catchall instanceof z.ZodNever;
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
