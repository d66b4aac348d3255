import { CancelledError, DeadlineExceededError } from '../errors';
import type { Placement } from '../placement/Placement';
import type { ProcessResult } from '../process/ProcessResult';

/** How a process or one attempt of it ended, as spans and metrics record it. */
export type Outcome = 'ok' | 'failed' | 'cancelled' | 'deadline';

/** The outcome of an error: the deadline's, a cut's (HALT, unsubscription), or a failure. */
export function outcomeOfError(error: unknown): Exclude<Outcome, 'ok'> {
  if (error instanceof DeadlineExceededError) return 'deadline';
  return error instanceof CancelledError ? 'cancelled' : 'failed';
}

/** The outcome of a result. */
export function outcomeOf(result: ProcessResult<unknown>): Outcome {
  const failure = result.failureOrUndefined;
  return failure === undefined ? 'ok' : outcomeOfError(failure.error);
}

/** An error's class as `error.type` names it: its `name` (never its message, which may quote an input). */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * A placement as span attributes: its model and endpoint, and the KEYS of its config only. Config
 * values may be secrets (an API key, a signed URL) and are never recorded.
 */
export function placementAttributes(placement: Placement): Record<string, string | string[]> {
  const attributes: Record<string, string | string[]> = {};
  if (placement.model !== undefined) attributes['stbass.placement.model'] = placement.model;
  if (placement.endpoint !== undefined) attributes['stbass.placement.endpoint'] = placement.endpoint;
  if (placement.config !== undefined) attributes['stbass.placement.config_keys'] = Object.keys(placement.config).sort();
  return attributes;
}
