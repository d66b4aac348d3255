import { DeadlineExceededError, FailurePolicy, PLACED_PAR, Process, ProcessResult } from '../../lib';
import { ModelAuthError, ModelUsageError, modelOf } from '../../lib/models';
import { ModelApiServer, fixtureEmbedding } from '../fixtures/modelApiServer';
import { ANTHROPIC, OPENAI_COMPATIBLE, placementOn, registryWith } from '../fixtures/modelProviders';

const TEXTS = ['My invoice doubled after the upgrade', 'Refund please'];

describe('OpenAICompatibleBackend embed(texts)', () => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const embedder = Process('embedder', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(TEXTS)));

  test('resolves with one vector per text, in order, and counts the input tokens', async () => {
    const result = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic')], { registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)) }).run();
    expect(result.value).toEqual([TEXTS.map((text) => fixtureEmbedding(text, 8))]);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 8, outputTokens: 0 });
    expect(server.requests[0]?.path).toBe('/v1/embeddings');
    expect(server.requests[0]?.body).toEqual({ model: 'nomic', input: TEXTS, encoding_format: 'float' });
  });

  test('dimensions come from placement.config, or from the call', async () => {
    const shorter = Process('shorter', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(['a'], { dimensions: 3 })));
    const registry = registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server));
    const result = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic', { dimensions: 4 })], [shorter, placementOn(OPENAI_COMPATIBLE, 'nomic', { dimensions: 4 })], { registry }).run();
    expect(result.value).toEqual([TEXTS.map((text) => fixtureEmbedding(text, 4)), [fixtureEmbedding('a', 3)]]);
    expect(server.requests.map((request) => request.body['dimensions'])).toEqual([4, 3]);
  });

  test('errors are classified as for chat, and a bad argument fails before the request', async () => {
    const registry = registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server, { apiKey: 'sk-wrong' }));
    const unauthorized = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic')], { registry, onFailure: FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0.01 }) }).run();
    expect(unauthorized.failures[0]?.error).toBeInstanceOf(ModelAuthError);
    expect(unauthorized.failures[0]?.attempts).toBe(1);

    server.reset();
    const careless = Process('careless', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed('one text' as never)));
    const result = await PLACED_PAR([careless, placementOn(OPENAI_COMPATIBLE, 'nomic')], { registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)) }).run();
    expect(result.failures[0]?.error.message).toBe('embed(texts): expected an array of strings, received the string "one text"');
    expect(server.requests).toHaveLength(0);
  });

  test('the deadline closes an embeddings request that hangs', async () => {
    server.script('nomic', { kind: 'hang' });
    const result = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic')], { registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)), deadline: 0.2 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(DeadlineExceededError);
    await server.requests[0]?.finished;
    expect(server.requests[0]?.closedEarly).toBe(true);
  });
});

describe('AnthropicBackend embed(texts)', () => {
  test('fails with a ModelUsageError that says where embeddings are served', async () => {
    const server = await ModelApiServer.start();
    try {
      const embedder = Process('embedder', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(TEXTS)));
      const result = await PLACED_PAR([embedder, placementOn(ANTHROPIC, 'claude')], { registry: registryWith(ANTHROPIC, ANTHROPIC.backend(server)) }).run();
      const error = result.failures[0]?.error;
      expect(error).toBeInstanceOf(ModelUsageError);
      expect(error?.message).toBe(
        'embed(texts): expected a process placed on an OpenAI-compatible backend (the Anthropic API has no embeddings endpoint), received a call on backend "anthropic"',
      );
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});
