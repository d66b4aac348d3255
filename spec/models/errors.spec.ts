import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { FailurePolicy, type Failure, PLACED_PAR, Process, ProcessResult } from '../../lib';
import {
  ModelAuthError,
  ModelBadRequestError,
  ModelConnectionError,
  ModelError,
  ModelNotFoundError,
  ModelRateLimitError,
  ModelServerError,
  ModelStreamError,
  modelOf,
  retryAfterSeconds,
} from '../../lib/models';
import { ModelApiServer } from '../fixtures/modelApiServer';
import { type ModelProvider, PROVIDERS, placementOn, registryWith, runWithEvents } from '../fixtures/modelProviders';

const REPLY = 'Refund the duplicate proration charge today.';
const retryFast = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.01 });
const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('My invoice doubled')));

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe.each(PROVIDERS)('$label turns each API failure into an error a program can act on', (provider: ModelProvider) => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY }, models: ['writer'] });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  /** Runs the writer once on `model` under `policy`, and returns its failure (or throws if it succeeded). */
  async function failureOf(options: { model?: string; config?: Record<string, number>; policy?: FailurePolicy; backendOptions?: object } = {}): Promise<Failure> {
    const backend = provider.backend(server, options.backendOptions);
    const result = await PLACED_PAR([writer, placementOn(provider, options.model ?? 'writer', options.config)], {
      registry: registryWith(provider, backend),
      onFailure: options.policy ?? retryFast,
    }).run();
    const failure = result.failures[0];
    if (failure === undefined) throw new Error('the writer succeeded');
    return failure;
  }

  describe('400, 401, 403 and 404 are final: never retried, and the message says what to fix', () => {
    test('400: the API\'s own complaint, and where to look', async () => {
      const failure = await failureOf({ config: { maxTokens: 100_000 } });
      expect(failure.error).toBeInstanceOf(ModelBadRequestError);
      expect(failure.error).toMatchObject({ status: 400, retryable: false, type: provider.api === 'anthropic' ? 'invalid_request_error' : 'invalid_value' });
      expect(failure.error.message).toMatch(/100000/);
      expect(failure.error.message).toMatch(/check placement\.config/);
      expect(failure.attempts).toBe(1);
      expect(server.requests).toHaveLength(1);
    });

    test('401: a wrong key names the option and the environment variable to set', async () => {
      const failure = await failureOf({ backendOptions: { apiKey: 'sk-wrong-key-1234' } });
      expect(failure.error).toBeInstanceOf(ModelAuthError);
      expect(failure.error).toMatchObject({ status: 401, retryable: false, backend: provider.endpoint === 'anthropic' ? 'anthropic' : 'openai-compatible' });
      expect(failure.error.message).toContain(`Check the API key: pass { apiKey } to new ${provider.label}(...) or set ${provider.keyVariable}.`);
      expect(failure.attempts).toBe(1);
      expect(server.requests).toHaveLength(1);
    });

    test('403: the key may not use the model', async () => {
      server.script('writer', { kind: 'error', status: 403 });
      const failure = await failureOf();
      expect(failure.error).toBeInstanceOf(ModelAuthError);
      expect(failure.error).toMatchObject({ status: 403, retryable: false });
      expect(failure.error.message).toContain('The API key may not use model "writer" or this endpoint: check its permissions.');
      expect(server.requests).toHaveLength(1);
    });

    test('404: an unknown model names placement.model and the base URL', async () => {
      const failure = await failureOf({ model: 'claude-typo' });
      expect(failure.error).toBeInstanceOf(ModelNotFoundError);
      expect(failure.error).toMatchObject({ status: 404, retryable: false, model: 'claude-typo', type: provider.api === 'anthropic' ? 'not_found_error' : 'model_not_found' });
      expect(failure.error.message).toContain('Check placement.model ("claude-typo"): is it a model this server serves?');
      expect(failure.error.message).toContain(provider.api === 'anthropic' ? server.anthropicBaseURL : server.openAIBaseURL);
      expect(failure.attempts).toBe(1);
      expect(failure.placement?.model).toBe('claude-typo');
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('429 and 5xx are retryable, and honour retry-after', () => {
    test('429 waits the retry-after the server asked for (not the shorter backoff), then succeeds', async () => {
      server.script('writer', { kind: 'error', status: 429, retryAfter: '1' });
      const registry = registryWith(provider, provider.backend(server));
      const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], { registry, onFailure: retryFast });
      expect(result.value).toEqual([REPLY]);
      expect(result.entries[0]?.attempts).toBe(2);
      const retrying = events.find((event) => event.type === 'retrying');
      expect(retrying?.type === 'retrying' && retrying.delay).toBe(1);
      expect(retrying?.type === 'retrying' && retrying.failure.error).toBeInstanceOf(ModelRateLimitError);
      const [first, second] = server.requests;
      expect(first?.status).toBe(429);
      expect(second?.status).toBe(200);
      const gap = (second?.receivedAt ?? 0) - (first?.receivedAt ?? 0);
      expect(gap).toBeGreaterThanOrEqual(950);
    });

    test('429 under COLLECT: one request (the SDK does not retry), and the error carries retryAfter', async () => {
      server.script('writer', { kind: 'error', status: 429, retryAfterMs: 250 });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT });
      expect(failure.error).toBeInstanceOf(ModelRateLimitError);
      expect(failure.error).toMatchObject({ status: 429, retryable: true, retryAfter: 0.25 });
      expect(failure.error.message).toContain('It asked to retry after 0.25 s.');
      expect(server.requests).toHaveLength(1);
    });

    test.each([500, provider.busyStatus])('%i is retried and then succeeds', async (status) => {
      server.script('writer', { kind: 'error', status });
      const registry = registryWith(provider, provider.backend(server));
      const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry, onFailure: retryFast }).run();
      expect(result.value).toEqual([REPLY]);
      expect(result.entries[0]?.attempts).toBe(2);
      expect(server.requests.map((request) => request.status)).toEqual([status, 200]);
    });

    test('5xx under COLLECT is a ModelServerError after exactly one request', async () => {
      server.script('writer', { kind: 'error', status: provider.busyStatus, retryAfter: '3' });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT });
      expect(failure.error).toBeInstanceOf(ModelServerError);
      expect(failure.error).toMatchObject({ status: provider.busyStatus, retryable: true, retryAfter: 3 });
      expect(server.requests).toHaveLength(1);
    });

    test('an unreachable server is a retryable ModelConnectionError that asks whether it runs', async () => {
      const port = await closedPort();
      const baseURL = provider.api === 'anthropic' ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1`;
      const failure = await failureOf({ policy: FailurePolicy.COLLECT, backendOptions: { baseURL } });
      expect(failure.error).toBeInstanceOf(ModelConnectionError);
      expect(failure.error).toMatchObject({ retryable: true, status: undefined });
      expect(failure.error.message).toContain(`could not connect to ${baseURL}`);
    });
  });

  describe('a stream that breaks midway keeps the text received so far', () => {
    test('a dropped connection: ModelStreamError with partialText, also the checkpoint', async () => {
      server.script('writer', { kind: 'drop', afterTokens: 3 });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT });
      expect(failure.error).toBeInstanceOf(ModelStreamError);
      expect(failure.error).toMatchObject({ retryable: true, partialText: 'Refund the duplicate' });
      expect(failure.checkpoint).toEqual({ partialText: 'Refund the duplicate' });
      expect(failure.error.message).toMatch(/connection dropped mid-stream after 20 characters of text/);
      expect(server.requests[0]?.droppedByServer).toBe(true);
    });

    test('a stream that ends without its end marker', async () => {
      server.script('writer', { kind: 'truncate', afterTokens: 2 });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT });
      expect(failure.error).toBeInstanceOf(ModelStreamError);
      expect(failure.error).toMatchObject({ retryable: true, partialText: 'Refund the' });
      expect(failure.error.message).toMatch(/the stream ended after 10 characters of text, before the answer was complete/);
    });

    test('an overloaded error event inside the stream is a retryable ModelServerError that keeps the text', async () => {
      server.script('writer', { kind: 'streamError', afterTokens: 1 });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT });
      expect(failure.error).toBeInstanceOf(ModelServerError);
      expect(failure.error).toMatchObject({ retryable: true, partialText: 'Refund', type: provider.api === 'anthropic' ? 'overloaded_error' : 'server_error' });
      expect(failure.checkpoint).toEqual({ partialText: 'Refund' });
    });

    test('a stalled stream fails after the timeout, and its connection is closed', async () => {
      server.script('writer', { kind: 'stall', afterTokens: 2 });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT, backendOptions: { timeout: 0.3 } });
      expect(failure.error).toBeInstanceOf(ModelStreamError);
      expect(failure.error.message).toMatch(/the stream stalled: nothing arrived for 0.3 s, after 10 characters of text/);
      expect(failure.error).toMatchObject({ partialText: 'Refund the' });
      const [request] = server.requests;
      await request?.finished;
      expect(request?.closedEarly).toBe(true);
    });

    test('a response that never starts fails after the timeout as a ModelConnectionError, and its connection is closed', async () => {
      server.script('writer', { kind: 'hang' });
      const failure = await failureOf({ policy: FailurePolicy.COLLECT, backendOptions: { timeout: 0.2 } });
      expect(failure.error).toBeInstanceOf(ModelConnectionError);
      expect(failure.error).toMatchObject({ retryable: true, partialText: '' });
      expect(failure.error.message).toMatch(/: no response within 0.2 s\.$/);
      await server.requests[0]?.finished;
      expect(server.requests[0]?.closedEarly).toBe(true);
    });

    test('under retry, a broken stream runs again; the entry counts the tokens of both attempts', async () => {
      server.script('writer', { kind: 'drop', afterTokens: 3 });
      const registry = registryWith(provider, provider.backend(server));
      const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], { registry, onFailure: retryFast });
      expect(result.value).toEqual([REPLY]);
      expect(result.entries[0]?.attempts).toBe(2);
      expect(events.filter((event) => event.type === 'partial')).toHaveLength(3 + 6);
      // First attempt: 3 input tokens reported up front (Anthropic's message_start also reports 1 output token); second attempt: 3 in, 6 out.
      expect(result.entries[0]?.usage).toEqual(provider.api === 'anthropic' ? { inputTokens: 6, outputTokens: 7 } : { inputTokens: 3, outputTokens: 6 });
    });
  });

  test('every model error is a ModelError naming the backend, provider and model', async () => {
    server.script('writer', { kind: 'error', status: 500 });
    const failure = await failureOf({ policy: FailurePolicy.COLLECT });
    expect(failure.error).toBeInstanceOf(ModelError);
    expect(failure.error).toMatchObject({ provider: provider.api === 'anthropic' ? 'anthropic' : 'openai-compatible', model: 'writer' });
    expect(typeof (failure.error as ModelError).requestId).toBe('string');
    expect(failure.summary).toMatch(/^\[writer\] ModelServerError: /);
  });
});

describe('retryAfterSeconds', () => {
  test('reads retry-after-ms, then retry-after in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(0.25);
    expect(retryAfterSeconds(new Headers({ 'retry-after': '2' }), now)).toBe(2);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterSeconds(new Headers({ 'retry-after': '-1' }), now)).toBeUndefined();
    expect(retryAfterSeconds(new Headers(), now)).toBeUndefined();
    expect(retryAfterSeconds(undefined, now)).toBeUndefined();
  });
});
