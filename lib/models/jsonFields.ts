/**
 * Reading what a server sent without trusting its shape: bodies, events and errors are `unknown`
 * until a field is looked at, and a field of the wrong type reads as absent.
 */

/** The fields of a JSON object, or `undefined` for anything else (an array, a string, null). */
export function fieldsOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A finite number, or `undefined`. */
export function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
