import { main } from './agents';

describe('examples/agents.ts (npm run demo:agents), offline', () => {
  let output: string;
  let result: Awaited<ReturnType<typeof main>>;

  beforeAll(async () => {
    let text = '';
    // No keys and no local server: everything goes to the fixture server, through the real SDKs.
    result = await main({ print: (line) => (text += `${line}\n`), write: (piece) => (text += piece), env: {}, probeLocal: false });
    output = text;
  });

  test('says where each agent\'s requests go', () => {
    expect(output).toMatch(/reasoner +model=claude-opus-5-5, endpoint=anthropic.*anthropic +the fixture server at http:\/\/127\.0\.0\.1:\d+ \(no ANTHROPIC_API_KEY\)/);
    expect(output).toMatch(/embedder +model=nomic-embed-text, endpoint=local:8080 +local +the fixture server at .*\(nothing answers at http:\/\/127\.0\.0\.1:8080\/v1\)/);
  });

  test('streams the answers as they arrive, each piece under its speaker', () => {
    expect(output).toContain('[classifier] billing');
    expect(output).toMatch(/\[reasoner\] Your/);
    expect(output).toContain(' the credit shows within five days.');
  });

  test('every agent succeeds, and the tokens are counted per entry and in all', () => {
    expect(result.isOk).toBe(true);
    const [answer, label, vector] = result.value as [string, string, number[]];
    expect(answer).toBe('Your upgrade was prorated twice, so the second charge is a duplicate. I have refunded it: the credit shows within five days.');
    expect(label).toBe('billing');
    expect(vector).toHaveLength(8);
    expect(result.entries.map((entry) => entry.usage)).toEqual([
      { inputTokens: 25, outputTokens: 22 },
      { inputTokens: 26, outputTokens: 1 },
      { inputTokens: 14, outputTokens: 0 },
    ]);
    expect(output).toContain('result.report().usage → 65 in, 23 out');
  });
});
