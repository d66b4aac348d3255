/**
 * Tokens a process spent on models: what it sent and what it received.
 *
 * @example
 * ```ts
 * ctx.recordUsage({ inputTokens: 812, outputTokens: 164 });
 * result.entries[0]?.usage; // { inputTokens: 812, outputTokens: 164 }
 * ```
 */
export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** The sum of two usages; `undefined` stands for none. */
export function addUsage(a: TokenUsage | undefined, b: TokenUsage | undefined): TokenUsage | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}
