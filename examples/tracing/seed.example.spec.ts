import { traces } from './register';
import { main } from '../seed';

describe('examples/tracing/seed.ts (npm run demo:traced)', () => {
  test("the demo's three runs, each a tree of its attempts; HALT's failure an error, the others cancelled", async () => {
    await main(() => undefined);
    const [collect, retry, halt] = traces()
      .split('\n\n')
      .filter((tree) => tree.trim() !== '');
    expect(collect).toMatch(/^run PLACED_PAR .*run\.policy=collect.*run\.ok=3/);
    expect(retry?.match(/attempt classifier/g)).toHaveLength(3);
    expect(retry).toMatch(/attempt classifier .*attempt=1 outcome=failed error\.type=RateLimitError retry\.delay=/);
    const lines = halt?.split('\n') ?? [];
    expect(lines[0]).toMatch(/^run PLACED_PAR .* ERROR\].*run\.policy=halt run\.ok=0 run\.failed=1 run\.cancelled=2/);
    expect(lines.filter((line) => /^[├└]─ attempt (reasoner|embedder) .*outcome=cancelled error\.type=CancelledError$/.test(line))).toHaveLength(2);
    expect(lines.filter((line) => /^[├└]─ attempt classifier .* ERROR\].*outcome=failed error\.type=RateLimitError$/.test(line))).toHaveLength(1);
  });
});
