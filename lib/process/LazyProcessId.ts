/**
 * @internal A process's id not drawn yet, shared by its context and the failures made for it: the
 * first of them to read it draws it (`drawProcessId`). A deadline or a HALT fails many processes at
 * once, most of which never read their id: a UUID drawn for each would be work nobody sees unless a
 * failure's id is read.
 */
export interface LazyProcessId {
  value?: string;
}

/**
 * @internal The id itself, drawn now when it was not yet.
 *
 * @example
 * ```ts
 * const lazy: LazyProcessId = {};
 * drawProcessId(lazy) === drawProcessId(lazy); // true: drawn once, on the first read
 * ```
 */
export function drawProcessId(id: string | LazyProcessId): string {
  // The Web Crypto global (Node >= 20, browsers, edge runtimes), not node:crypto: the core runs everywhere.
  return typeof id === 'string' ? id : (id.value ??= globalThis.crypto.randomUUID());
}
