import { BackendUnavailableError, CancelledError } from '../lib';
import { main } from './fallbacks';

describe('examples/fallbacks.ts (npm run demo:fallbacks)', () => {
  let output: string;
  let result: Awaited<ReturnType<typeof main>>;

  beforeAll(async () => {
    const lines: string[] = [];
    result = await main((line) => lines.push(line));
    output = lines.join('\n');
  });

  it('prints a fallback for the broken stream and the unhealthy local server, and a hedge', () => {
    expect(output).toMatch(/reasoner +restarted/);
    expect(output).toMatch(/reasoner +fallback +failed \(StreamError\): model=claude-opus-4-5-20250414, endpoint=anthropic → model=claude-haiku-4-5-20250414, endpoint=anthropic/);
    expect(output).toMatch(/embedder +fallback +unavailable \(BackendUnavailableError\): model=nomic, endpoint=local:8080 → model=nomic, endpoint=queue:embeddings/);
    expect(output).toMatch(/summarizer +fallback +hedge: model=claude-opus-4-5-20250414, endpoint=anthropic-eu → model=claude-opus-4-5-20250414, endpoint=anthropic/);
    expect(output).toContain(`cancelled on anthropic-eu-sim (the hedge's loser): ["summarizer"]`);
    expect(output).toContain('given to local-sim: []; to queue-sim: ["embedder"]');
  });

  it('every pair succeeds on the placement its chain reached, each attempt recorded', () => {
    expect(result.value).toEqual(['Refund the duplicate charge.', 'label: billing', [0.12, -0.48, 0.33, 0.07], 'Duplicate proration; refunded.']);
    const [reasoner, classifier, embedder, summarizer] = result.entries;
    expect(reasoner?.placements?.map((tried) => [tried.placement.model, tried.outcome])).toEqual([
      ['claude-opus-4-5-20250414', 'failed'],
      ['claude-haiku-4-5-20250414', 'ok'],
    ]);
    expect(classifier?.placements).toBeUndefined();
    expect(embedder?.placements?.[0]?.failure?.error).toBeInstanceOf(BackendUnavailableError);
    expect(embedder?.backend).toBe('queue-sim');
    expect(summarizer?.placements?.map((tried) => [tried.backend, tried.outcome, tried.hedge])).toEqual([
      ['anthropic-sim', 'ok', true],
      ['anthropic-eu-sim', 'cancelled', false],
    ]);
    expect(summarizer?.placements?.[1]?.failure?.error).toMatchObject({ reason: 'superseded' });
    expect(summarizer?.placements?.[1]?.failure?.error).toBeInstanceOf(CancelledError);
  });
});
