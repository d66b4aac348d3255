import type { ParEvent } from '../par/events';

/**
 * A compact, deterministic name for an event, for marble values and snapshots:
 * `queued:name`, `started:name#attempt`, `partial:name`, `retrying:name#attempt`,
 * `fallback:name:reason` (`unavailable`, `failed`, `timeout`, `hedge`), `restarted:name`,
 * `settled:name:ok` or `settled:name:ErrorName`, and `done:ok` or `done:fail`. An event type this
 * version does not know is named `type:name`.
 *
 * @example
 * ```ts
 * import { map } from 'rxjs';
 * import { eventCode } from 'stbass/testing';
 *
 * expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 6ms (cde|)', {
 *   a: 'started:reader#1',
 *   b: 'started:writer#1',
 *   c: 'settled:reader:ok',
 *   d: 'settled:writer:RateLimitError',
 *   e: 'done:fail',
 * });
 * ```
 */
export function eventCode(event: ParEvent): string {
  switch (event.type) {
    case 'done':
      return `done:${event.result.isOk ? 'ok' : 'fail'}`;
    case 'settled':
      return `settled:${event.name}:${event.result.isOk ? 'ok' : event.result.failure.error.name}`;
    case 'started':
      return `started:${event.name}#${event.attempt}`;
    case 'retrying':
      return `retrying:${event.name}#${event.attempt}`;
    case 'fallback':
      return `fallback:${event.name}:${event.reason}`;
    case 'queued':
    case 'partial':
    case 'restarted':
      return `${event.type}:${event.name}`;
    default: {
      // A type added by a later version: keep its type and, when it has one, its name.
      const unknown = event as { type: string; name?: unknown };
      return typeof unknown.name === 'string' ? `${unknown.type}:${unknown.name}` : unknown.type;
    }
  }
}
