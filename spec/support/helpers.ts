import { TestScheduler } from 'rxjs/testing';

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A TestScheduler whose assertions are jest's deep equality. */
export function marbleScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** The most of `times` (sorted, ms) inside any half-open window [t, t + width): how a rate limit is checked. */
export function mostInAnyWindow(times: readonly number[], width: number): number {
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last += 1) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= width) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** The compact event names the marble tests use (the same helper users get from `stbass/testing`). */
export { eventCode } from '../../lib/testing';
