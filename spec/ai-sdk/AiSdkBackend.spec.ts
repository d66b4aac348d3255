/**
 * `AiSdkBackend` against the fixture server, through the real AI SDK (`ai`) and its
 * `@ai-sdk/openai-compatible` provider: what a process gets on it is what it gets on the other
 * model backends.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { lastValueFrom, toArray } from 'rxjs';
import { BackendRegistry, CancelledError, DeadlineExceededError, FailurePolicy, LocalBackend, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { AiSdkBackend, type AiSdkBackendOptions } from '../../lib/ai-sdk';
import { ModelAuthError, ModelRateLimitError, ModelServerError, ModelStreamError, ModelUsageError, modelOf } from '../../lib/models';
import { FIXTURE_OPENAI_KEY, ModelApiServer, fixtureEmbedding } from '../fixtures/modelApiServer';
import { partialsOf, runWithEvents } from '../fixtures/modelProviders';

const REPLY = 'Refund the duplicate proration charge today.';
const TOKENS = ['Refund', ' the', ' duplicate', ' proration', ' charge', ' today.'];
const retry3 = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.01 });
const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ system: 'You handle billing.', prompt: 'My invoice doubled' })));
const on = (model?: string, config?: Record<string, number | string | string[]>) => new Placement({ endpoint: 'ai', ...(model === undefined ? {} : { model }), ...(config === undefined ? {} : { config }) });

describe('AiSdkBackend places AI SDK models', () => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY } });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const provider = (apiKey = FIXTURE_OPENAI_KEY) => createOpenAICompatible({ name: 'fixture', baseURL: server.openAIBaseURL, apiKey, includeUsage: true });
  const registryOf = (options: Partial<AiSdkBackendOptions> = {}) => new BackendRegistry({ strict: true }).register('ai', new AiSdkBackend({ provider: provider(), ...options }));

  test('generate(): the answer, each streamed delta a partial event, the usage in the entry', async () => {
    const { events, result } = await runWithEvents([[writer, on('writer')]], { registry: registryOf() });
    expect(result.value).toEqual([REPLY]);
    expect(partialsOf(events)).toEqual(TOKENS);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 6, outputTokens: 6 });
    expect(server.requests[0]?.body).toMatchObject({
      model: 'writer',
      stream: true,
      messages: [
        { role: 'system', content: 'You handle billing.' },
        { role: 'user', content: 'My invoice doubled' },
      ],
    });
  });

  test('stream(): an Observable of the deltas; a backend given one model serves placements that name none', async () => {
    let pieces: string[] = [];
    const streamer = Process('streamer', async (ctx) => {
      pieces = await lastValueFrom(modelOf(ctx).stream('Go').pipe(toArray()));
      return ProcessResult.ok(`${modelOf(ctx).backend}/${modelOf(ctx).model}`);
    });
    const registry = new BackendRegistry().register('ai', new AiSdkBackend({ name: 'fixed', model: provider()('writer') }));
    const result = await PLACED_PAR([streamer, on()], { registry }).run();
    expect(result.value).toEqual(['fixed/writer']);
    expect(pieces).toEqual(TOKENS);
  });

  test('placement.config becomes the AI SDK call settings, and so the request', async () => {
    const capped = Process('capped', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ prompt: 'Go', stop: ['charge'] })));
    const result = await PLACED_PAR([capped, on('writer', { maxTokens: 50, temperature: 0.3, seed: 7 })], { registry: registryOf() }).run();
    expect(result.value).toEqual(['Refund the duplicate proration']);
    expect(server.requests[0]?.body).toMatchObject({ max_tokens: 50, temperature: 0.3, seed: 7, stop: ['charge'] });
  });

  test('the SDK\'s own retries are off: a server that always answers 500, under retry({ maxAttempts: 3 }), gets 3 requests, not 9', async () => {
    server.script('writer', ...Array.from({ length: 9 }, () => ({ kind: 'error' as const, status: 500 })));
    const result = await PLACED_PAR([writer, on('writer')], { registry: registryOf(), onFailure: retry3 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(ModelServerError);
    expect(result.failures[0]?.error).toMatchObject({ status: 500, retryable: true, provider: 'ai-sdk', backend: 'ai-sdk', model: 'writer' });
    expect(result.failures[0]?.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  });

  test('a 429 is a ModelRateLimitError with retryAfter, and the retry waits it', async () => {
    server.script('writer', { kind: 'error', status: 429, retryAfter: '1' });
    const { events, result } = await runWithEvents([[writer, on('writer')]], { registry: registryOf(), onFailure: retry3 });
    expect(result.value).toEqual([REPLY]);
    const retrying = events.find((event) => event.type === 'retrying');
    expect(retrying?.type === 'retrying' && retrying.failure.error).toBeInstanceOf(ModelRateLimitError);
    expect(retrying?.type === 'retrying' && retrying.failure.error).toMatchObject({ status: 429, retryAfter: 1, type: 'rate_limit_exceeded' });
    expect(retrying?.type === 'retrying' && retrying.delay).toBe(1);
    const [first, second] = server.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  test('a 429 pauses the backend by default (a paused event), and rateLimit / pauseOnRateLimit reach it', async () => {
    server.script('writer', { kind: 'error', status: 429, retryAfterMs: 50 });
    const { events } = await runWithEvents([[writer, on('writer')]], { registry: registryOf(), onFailure: retry3 });
    expect(events.find((event) => event.type === 'paused')).toMatchObject({ type: 'paused', backend: 'ai-sdk', reason: 'rate-limited' });
    const limited = new AiSdkBackend({ provider: provider(), rateLimit: { requests: { limit: 5, per: 60 } }, pauseOnRateLimit: false });
    expect(limited.rateLimit).toEqual({ requests: { limit: 5, per: 60 } });
    expect(limited.pauseOnRateLimit).toBe(false);
  });

  test('a wrong key is a final ModelAuthError: one request', async () => {
    const registry = new BackendRegistry().register('ai', new AiSdkBackend({ provider: provider('sk-wrong') }));
    const result = await PLACED_PAR([writer, on('writer')], { registry, onFailure: retry3 }).run();
    const error = result.failures[0]?.error;
    expect(error).toBeInstanceOf(ModelAuthError);
    expect(error).toMatchObject({ status: 401, retryable: false, type: 'invalid_api_key' });
    expect(error?.message).toContain('Incorrect API key provided');
    expect(server.requests).toHaveLength(1);
  });

  test('an invalid_api_key error event inside the stream is final too, and keeps the text', async () => {
    server.script('writer', { kind: 'streamError', afterTokens: 2, type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' });
    const result = await PLACED_PAR([writer, on('writer')], { registry: registryOf(), onFailure: retry3 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(ModelAuthError);
    expect(result.failures[0]?.error).toMatchObject({ retryable: false, partialText: 'Refund the' });
    expect(server.requests).toHaveLength(1);
  });

  test('a stream the provider reports as ended early is a retryable ModelStreamError that keeps the text', async () => {
    // @ai-sdk/openai-compatible itself reports a stream without a finish_reason as broken, [DONE] or not.
    server.script('writer', { kind: 'truncate', afterTokens: 2 });
    const result = await PLACED_PAR([writer, on('writer')], { registry: registryOf(), onFailure: FailurePolicy.COLLECT }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(ModelStreamError);
    expect(result.failures[0]?.error).toMatchObject({ retryable: true, partialText: 'Refund the' });
    expect(result.failures[0]?.error.message).toContain('before the answer was complete (Response stream ended without a finish reason.)');
  });

  test('ctx.signal reaches the request: HALT closes the stream on the wire', async () => {
    server.script('writer', { kind: 'stall', afterTokens: 1 });
    let arrived: () => void = () => undefined;
    const firstPiece = new Promise<void>((resolve) => (arrived = resolve));
    const streamer = Process('writer', async (ctx) => {
      const pieces: string[] = [];
      await new Promise<void>((resolve, reject) => modelOf(ctx).stream('Go').subscribe({ next: (piece) => { pieces.push(piece); arrived(); }, error: reject, complete: resolve }));
      return ProcessResult.ok(pieces.join(''));
    });
    const failing = Process('failing', async () => {
      await firstPiece;
      throw new Error('gave up');
    });
    const registry = registryOf().register('in-process', new LocalBackend());
    const result = await PLACED_PAR([streamer, on('writer')], [failing, new Placement({ endpoint: 'in-process' })], { registry }).run();
    expect(result.results[0]?.failure.error).toBeInstanceOf(CancelledError);
    await server.requests[0]?.finished;
    expect(server.requests[0]?.closedEarly).toBe(true);
  });

  test('the deadline closes a request still waiting for its response', async () => {
    server.script('writer', { kind: 'hang' });
    const result = await PLACED_PAR([writer, on('writer')], { registry: registryOf(), deadline: 0.2 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(DeadlineExceededError);
    await server.requests[0]?.finished;
    expect(server.requests[0]?.closedEarly).toBe(true);
  });

  test('embed(): the provider\'s embedding model, vectors in order, tokens counted', async () => {
    const embedder = Process('embedder', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(['a b', 'c'])));
    const result = await PLACED_PAR([embedder, on('nomic')], { registry: registryOf() }).run();
    expect(result.value).toEqual([[fixtureEmbedding('a b', 8), fixtureEmbedding('c', 8)]]);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 3, outputTokens: 0 });
    expect(server.requests[0]?.path).toBe('/v1/embeddings');
  });

  test('the cap is concurrencyLimit (default 4); concurrency is its deprecated alias; the two disagreeing is a UsageError', () => {
    expect(new AiSdkBackend({ provider: provider() }).concurrencyLimit).toBe(4);
    expect(new AiSdkBackend({ provider: provider(), concurrencyLimit: 2 }).concurrencyLimit).toBe(2);
    expect(new AiSdkBackend({ provider: provider(), concurrency: 3 }).concurrencyLimit).toBe(3);
    expect(() => new AiSdkBackend({ provider: provider(), concurrencyLimit: 2, concurrency: 3 })).toThrow(
      'AiSdkBackend options.concurrency: expected to be left out (it is the deprecated name of concurrencyLimit, given as 2), received the number 3',
    );
  });

  test('usage errors: no model nor provider, a placement naming a model a fixed backend does not serve, a wire-format key', async () => {
    expect(() => new AiSdkBackend({})).toThrow('AiSdkBackend options: expected an object with a `model` or a `provider` (or both)');
    expect(() => new AiSdkBackend({ model: 42 } as never)).toThrow('AiSdkBackend options.model: expected an AI SDK LanguageModel, e.g. openai("gpt-4o"), received the number 42');
    expect(() => new AiSdkBackend({ provider: provider(), config: { maxOutputTokens: 5 } as never })).toThrow(
      "AiSdkBackend options.config.maxOutputTokens: expected `maxTokens`, stbass's name for the API's `maxOutputTokens`, received the number 5",
    );
    const registry = new BackendRegistry().register('ai', new AiSdkBackend({ model: provider()('writer') }));
    const result = await PLACED_PAR([writer, on('other')], { registry, onFailure: retry3 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(ModelUsageError);
    expect(result.failures[0]?.error.message).toBe(
      'placement.model: expected "writer", the one model this AiSdkBackend serves (give it a `provider` to serve models by name), received the string "other"',
    );
    expect(result.failures[0]?.attempts).toBe(1);
    expect(server.requests).toHaveLength(0);
  });
});
