import { CancelledError } from '../lib';
import { main } from './seed';

describe('examples/seed.ts (npm run demo)', () => {
  let output: string;
  let results: Awaited<ReturnType<typeof main>>;

  beforeAll(async () => {
    const lines: string[] = [];
    results = await main((line) => lines.push(line));
    output = lines.join('\n');
  });

  it('prints every process and the backend the registry picked for it', () => {
    for (const name of ['reasoner', 'classifier', 'embedder', 'anthropic-sim', 'local-sim']) expect(output).toContain(name);
    expect(output).toContain('model=claude-opus-4-5-20250414, endpoint=anthropic');
    expect(output).toContain('model=nomic, endpoint=local:8080');
  });

  it('prints the event stream: started, streamed tokens, retries, settlements and done', () => {
    for (const type of ['started', 'partial', 'retrying', 'settled', 'done']) expect(output).toMatch(new RegExp(`\\s${type}\\s`));
    expect(output).toContain('"Refund"');
  });

  it('prints the failure summaries and the reports', () => {
    expect(output).toContain('[classifier] RateLimitError: 429 Too Many Requests for claude-haiku-4-5-20250414');
    expect(output).toContain('[reasoner] CancelledError');
    expect(output).toContain('result.report() → { total: 3, succeeded: 3, failed: 0');
  });

  it('runs COLLECT clean, retry to three attempts, and HALT with cancellations', () => {
    const [collect, retry, halt] = results;
    expect(collect?.isOk).toBe(true);
    expect(collect?.value).toEqual(['Refund the duplicate proration charge.', 'label: billing', [0.12, -0.48, 0.33, 0.07]]);

    expect(retry?.entries.map((entry) => entry.attempts)).toEqual([1, 3, 1]);
    expect(retry?.failures.map((failure) => failure.summary)).toEqual(['[classifier] RateLimitError: 429 Too Many Requests for claude-haiku-4-5-20250414']);
    expect(retry?.failures[0]?.backend).toBe('anthropic-sim');

    const cancelled = halt?.failures.filter((failure) => failure.error instanceof CancelledError) ?? [];
    expect(cancelled.map((failure) => failure.processName)).toEqual(['reasoner', 'embedder']);
    expect(cancelled.map((failure) => (failure.error as CancelledError).haltedBy)).toEqual(['classifier', 'classifier']);
  });
});
