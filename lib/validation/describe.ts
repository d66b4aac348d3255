/**
 * Describes a received value for an error message: short, typed, and safe to print.
 * Shared by every error that says "expected X, received Y".
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return value.length > 60 ? `the string "${value.slice(0, 57)}..."` : `the string ${JSON.stringify(value)}`;
    case 'number':
      return `the number ${String(value)}`;
    case 'bigint':
      return `the bigint ${String(value)}n`;
    case 'boolean':
      return `the boolean ${String(value)}`;
    case 'symbol':
      return `the symbol ${String(value)}`;
    case 'function':
      return value.name ? `the function ${value.name}` : 'an anonymous function';
    default:
      break;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : `the Date ${value.toISOString()}`;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 5).join(', ');
    return keys.length === 0 ? 'an empty object' : `an object with keys { ${shown}${keys.length > 5 ? ', ...' : ''} }`;
  }
  const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof constructorName === 'string' && constructorName !== '' ? `an instance of ${constructorName}` : 'an object';
}
