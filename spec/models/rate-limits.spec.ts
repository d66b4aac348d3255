import { FailurePolicy, Process, ProcessResult } from '../../lib';
import { ModelRateLimitError, ModelUsageError, modelOf } from '../../lib/models';
import { ModelApiServer } from '../fixtures/modelApiServer';
import { type ModelProvider, PROVIDERS, placementOn, registryWith, runWithEvents } from '../fixtures/modelProviders';

const REPLY = 'Refund the duplicate proration charge today.';
const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('My invoice doubled')));

// The model backends pause on a 429 by default, and take a rateLimit; through the official SDKs,
// against the fixture server. Real time: each gap is measured between two requests the server saw.
describe.each(PROVIDERS)('$label: rate limits and 429 backpressure', (provider: ModelProvider) => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY }, models: ['writer'] });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  test("a 429's retry-after pauses the queued processes of every run, by default, and says so", async () => {
    server.script('writer', { kind: 'error', status: 429, retryAfterMs: 300 });
    const backend = provider.backend(server, { concurrency: 1 });
    expect(backend.pauseOnRateLimit).toBe(true);
    const pairs = ['a', 'b', 'c'].map((name) => [writer.withName(name), placementOn(provider, 'writer')] as const);
    const { events, result } = await runWithEvents(pairs, { registry: registryWith(provider, backend), onFailure: FailurePolicy.COLLECT });
    expect(result.failures.map((failure) => failure.error)).toEqual([expect.any(ModelRateLimitError)]);
    expect(result.value).toEqual([REPLY, REPLY]);
    const [limited, next, last] = server.requests;
    expect(limited?.status).toBe(429);
    // b would have started as soon as a's slot came back; it waited the 300 ms the server asked for.
    expect((next?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(290);
    expect(last?.status).toBe(200);
    const paused = events.find((event) => event.type === 'paused');
    expect(paused).toMatchObject({ type: 'paused', name: 'a', backend: backend.name, reason: 'rate-limited' });
    expect(paused?.type === 'paused' && paused.failure.error).toBeInstanceOf(ModelRateLimitError);
  });

  test('the tokens the backend records count against rateLimit.tokens, and expectedTokens is not a request option', async () => {
    const backend = provider.backend(server, { concurrency: 1, rateLimit: { tokens: { limit: 5, per: 0.4 } } });
    const placement = placementOn(provider, 'writer', { expectedTokens: 1 });
    const pairs = ['a', 'b'].map((name) => [writer.withName(name), placement] as const);
    const { result } = await runWithEvents(pairs, { registry: registryWith(provider, backend), onFailure: FailurePolicy.COLLECT });
    expect(result.value).toEqual([REPLY, REPLY]);
    const spent = result.entries[0]?.usage;
    expect((spent?.inputTokens ?? 0) + (spent?.outputTokens ?? 0)).toBeGreaterThan(5);
    // a's recorded usage fills the window: b starts only when it has slid out, 0.4 s later.
    const [first, second] = server.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(390);
  });

  test('a bad rateLimit option is refused when the backend is built, naming the field', () => {
    expect(() => provider.backend(server, { rateLimit: { requests: { limit: 50, per: 0 } } })).toThrow(ModelUsageError);
    expect(() => provider.backend(server, { rateLimit: { requests: { limit: 50, per: 0 } } })).toThrow(/options\.rateLimit\.requests\.per: expected a finite number of seconds > 0/);
  });
});
