import type { ParEvent } from '../par/events';
import { PARResult } from '../par/PARResult';
import { Placement } from '../placement/Placement';
import { Failure } from '../process/Failure';
import { ProcessResult } from '../process/ProcessResult';
import type { PlacementAttempt } from '../par/PARResult';
import type { WireEntry, WirePARResult, WirePlacement, WirePlacementAttempt, WireResult } from './wire';

/** A placement as the page sees it: its summary and its fields. */
export function toWirePlacement(placement: Placement): WirePlacement {
  return { summary: placement.summary, ...placement.toJSON() };
}

/** A process result as the page sees it. */
export function toWireResult(result: ProcessResult): WireResult {
  return result.isOk ? { ok: true, value: result.value } : { ok: false, failure: result.failure.toJSON() };
}

/** A placement of a fallback chain as it was tried, as the page sees it. */
function toWirePlacementAttempt(tried: PlacementAttempt): WirePlacementAttempt {
  return {
    placement: toWirePlacement(tried.placement),
    ...(tried.backend === undefined ? {} : { backend: tried.backend }),
    outcome: tried.outcome,
    ...(tried.failure === undefined ? {} : { failure: tried.failure.toJSON() }),
    attempts: tried.attempts,
    hedge: tried.hedge,
    ...(tried.startedAt === undefined ? {} : { startedAt: tried.startedAt.toISOString() }),
    endedAt: tried.endedAt.toISOString(),
  };
}

/** A group's result as the page sees it. */
export function toWirePARResult(result: PARResult): WirePARResult {
  const entries = result.entries.map(
    (entry): WireEntry => ({
      index: entry.index,
      ...(entry.key === undefined ? {} : { key: entry.key }),
      name: entry.name,
      placement: toWirePlacement(entry.placement),
      ...(entry.backend === undefined ? {} : { backend: entry.backend }),
      attempts: entry.attempts,
      ...(entry.startedAt === undefined ? {} : { startedAt: entry.startedAt.toISOString() }),
      settledAt: entry.settledAt.toISOString(),
      result: toWireResult(entry.result),
      ...(entry.placements === undefined ? {} : { placements: entry.placements.map(toWirePlacementAttempt) }),
    }),
  );
  return { isOk: result.isOk, value: result.value, entries, report: result.report() };
}

function toWireField(value: unknown): unknown {
  if (value instanceof Placement) return toWirePlacement(value);
  if (value instanceof Failure) return value.toJSON();
  if (value instanceof ProcessResult) return toWireResult(value);
  if (value instanceof PARResult) return toWirePARResult(value);
  return value;
}

/**
 * An event as `toServerSentEvents` sends it: its fields made plain for JSON, field by field, so that
 * event types this module does not know yet (a later `fallback`, say) go out with their placements,
 * failures and results readable. For a transport of your own; `JSON.stringify` of it may still
 * throw on a value of the process's own (a BigInt, a cycle).
 *
 * @example
 * ```ts
 * group.events$.subscribe((event) => socket.send(JSON.stringify(toWireEvent(event))));
 * ```
 */
export function toWireEvent(event: ParEvent | { readonly type: string }): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) wire[key] = toWireField(value);
  return wire;
}
