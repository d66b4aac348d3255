import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { sleep } from '../support/helpers';
import { type Otel, registerOtel } from './support';

let otel: Otel;
beforeAll(() => {
  otel = registerOtel();
});
afterAll(() => otel.shutdown());

/** The value of a counter's data point with these attributes (0 when there is none). */
async function count(name: string, attributes: Record<string, string>): Promise<number> {
  const points = await otel.points(name);
  const point = points.find((candidate) => Object.entries(attributes).every(([key, value]) => candidate.attributes[key] === value));
  return typeof point?.value === 'number' ? point.value : 0;
}

describe('the metrics of runs, read by the SDK', () => {
  test('started, settled by outcome, retries, deadline misses, slot waits, in-flight and tokens, per backend', async () => {
    const backend = new FakeBackend({ name: 'metered', concurrencyLimit: 1 });
    const registry = new BackendRegistry().register('metered', backend).register('slowpoke', new FakeBackend({ name: 'slowpoke' }));
    const on = new Placement({ endpoint: 'metered' });
    let inFlightDuringBody = -1;
    let calls = 0;
    const spender = Process('spender', async (ctx) => {
      inFlightDuringBody = await count('stbass.attempt.in_flight', { 'stbass.backend': 'metered' });
      ctx.recordUsage({ inputTokens: 120, outputTokens: 30 });
      await sleep(20);
      calls += 1;
      if (calls === 1) throw new Error('once');
      return ProcessResult.ok('spent');
    });
    const slow = Process('slow', async (ctx) => {
      await sleep(10_000, ctx.signal);
      return ProcessResult.ok('never');
    });
    const waiter = Process('waiter', () => ProcessResult.ok('quick'));
    const policy = FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0.001 });
    const result = await PLACED_PAR([spender, on], [waiter, on], [slow, new Placement({ endpoint: 'slowpoke' })], { registry, deadline: 1, onFailure: policy }).run();
    expect(result.results.map((entry) => (entry.isOk ? 'ok' : entry.failure.error.name))).toEqual(['ok', 'ok', 'DeadlineExceededError']);

    const metered = { 'stbass.backend': 'metered' };
    expect(inFlightDuringBody).toBe(1);
    expect(await count('stbass.attempt.in_flight', metered)).toBe(0);
    expect(await count('stbass.process.started', metered)).toBe(2);
    expect(await count('stbass.process.retries', metered)).toBe(1);
    expect(await count('stbass.process.settled', { ...metered, 'stbass.outcome': 'ok' })).toBe(2);
    const slowpoke = { 'stbass.backend': 'slowpoke' };
    expect(await count('stbass.process.settled', { ...slowpoke, 'stbass.outcome': 'deadline' })).toBe(1);
    expect(await count('stbass.process.deadline_misses', { ...slowpoke, 'stbass.deadline.phase': 'running' })).toBe(1);
    // Two attempts of the spender, 120 + 30 tokens each.
    expect(await count('stbass.tokens', { ...metered, 'gen_ai.token.type': 'input' })).toBe(240);
    expect(await count('stbass.tokens', { ...metered, 'gen_ai.token.type': 'output' })).toBe(60);
    // Three attempts asked for the one slot: the waiter waited for the spender's first attempt.
    const wait = (await otel.points('stbass.slot.wait')).find((point) => point.attributes['stbass.backend'] === 'metered');
    const histogram = wait?.value;
    expect(typeof histogram === 'object' && histogram.count).toBe(3);
    expect(typeof histogram === 'object' && (histogram.max ?? 0)).toBeGreaterThan(0);
  });
});
