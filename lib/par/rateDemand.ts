import { EXPECTED_TOKENS_KEY, expectedTokensSchema } from '../backends/rateLimit';
import { UsageError } from '../errors';
import type { RateDemand, RateGate } from './rateGate';
import type { PlacedTask } from './task';

/**
 * What `task` asks of its backend's rate: its run's clock, and the tokens its placement says it
 * expects (`placement.config.expectedTokens`, reserved in the token window when it starts, so that
 * a large prompt waits for room). A declaration that is not a number of tokens is a `UsageError`,
 * which fails the process before it starts.
 *
 * @example
 * ```ts
 * const demand = rateDemand(task, gate); // { scheduler, tokens: 1200 } for config { expectedTokens: 1200 }
 * ```
 */
export function rateDemand(task: PlacedTask<unknown>, gate: RateGate): RateDemand | UsageError {
  const { scheduler } = task.settings;
  const declared = task.placement.config?.[EXPECTED_TOKENS_KEY];
  if (declared === undefined || !gate.countsTokens) return { scheduler, tokens: 0 };
  const parsed = expectedTokensSchema.safeParse(declared);
  if (!parsed.success) return new UsageError(`placement.config.${EXPECTED_TOKENS_KEY}`, 'a finite number of tokens >= 0', declared);
  return { scheduler, tokens: parsed.data };
}
