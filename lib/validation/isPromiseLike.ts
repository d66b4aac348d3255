/** Whether `candidate` is a thenable: a promise from any library or realm. */
export function isPromiseLike(candidate: unknown): candidate is PromiseLike<unknown> {
  return typeof (candidate as { then?: unknown } | null | undefined)?.then === 'function';
}
