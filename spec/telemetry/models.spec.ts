import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { BackendRegistry, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { AiSdkBackend } from '../../lib/ai-sdk';
import { modelOf } from '../../lib/models';
import { FIXTURE_OPENAI_KEY, ModelApiServer } from '../fixtures/modelApiServer';
import { OPENAI_COMPATIBLE, PROVIDERS, placementOn, registryWith } from '../fixtures/modelProviders';
import { type Otel, registerOtel, shape, spanForest, spanNamed } from './support';

const REPLY = 'Refund the duplicate proration charge today.';
const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ system: 'You handle billing.', prompt: 'My invoice doubled after the upgrade' })));

let otel: Otel;
let server: ModelApiServer;
beforeAll(async () => {
  otel = registerOtel();
  server = await ModelApiServer.start({ replies: { writer: REPLY } });
});
afterEach(() => {
  otel.reset();
  server.reset();
});
afterAll(async () => {
  await server.close();
  await otel.shutdown();
});

/**
 * Every attribute value of stbass's spans, flattened: where a leaked config value would show. (The
 * Anthropic SDK's own span records its request's parameters: its choice, under its own scope.)
 */
function attributeValues(spans: readonly ReadableSpan[]): unknown[] {
  return spans.filter((span) => span.instrumentationScope.name === 'stbass').flatMap((span) => Object.values(span.attributes).flatMap((value) => (Array.isArray(value) ? value : [value])));
}

describe.each(PROVIDERS)('$label: the model request is a span under its attempt', (provider) => {
  test('chat <model> with gen_ai.request.model and the usage; the attempt has the usage too; config values absent', async () => {
    const { key, value } = provider.ownKey;
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer', { [key]: value })], { registry: registryWith(provider, provider.backend(server)) }).run();
    expect(result.value).toEqual([REPLY]);
    const spans = otel.spans();
    const [root] = spanForest(spans);
    // The Anthropic SDK traces its own call: it nests under ours, which is the proof that the request ran in our span's context.
    const sdkSpan = provider.api === 'anthropic' ? '(anthropic.messages.create)' : '';
    expect(root && shape(root)).toBe(`run PLACED_PAR(attempt writer(chat writer${sdkSpan}))`);
    const usage = { 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 6 };
    expect(spanNamed(spans, 'chat writer').attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'writer',
      'gen_ai.provider.name': provider.api === 'anthropic' ? 'anthropic' : 'openai-compatible',
      'gen_ai.system': provider.api === 'anthropic' ? 'anthropic' : 'openai-compatible',
      'stbass.backend': provider.endpoint === 'anthropic' ? 'anthropic' : expect.any(String),
      ...usage,
    });
    expect(spanNamed(spans, 'chat writer').kind).toBe(2); // CLIENT
    expect(spanNamed(spans, 'attempt writer').attributes).toMatchObject({ ...usage, 'stbass.placement.model': 'writer', 'stbass.placement.config_keys': [key] });
    expect(attributeValues(spans)).not.toContain(value);
  });

  test('a refused request marks the model span with the error class', async () => {
    const backend = provider.backend(server, { apiKey: 'wrong-key' });
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, backend) }).run();
    const error = result.failures[0]?.error;
    expect(error?.name).toBe('ModelAuthError');
    const chat = spanNamed(otel.spans(), 'chat writer');
    expect(chat.attributes['error.type']).toBe('ModelAuthError');
    expect(chat.status.code).toBe(2);
  });
});

test('embeddings <model>: the embeddings request is a span with its input tokens', async () => {
  const embedder = Process('embedder', async (ctx) => ProcessResult.ok(await modelOf(ctx).embed(['refund policy', 'late fees'])));
  const result = await PLACED_PAR([embedder, placementOn(OPENAI_COMPATIBLE, 'nomic-embed')], { registry: registryWith(OPENAI_COMPATIBLE, OPENAI_COMPATIBLE.backend(server)) }).run();
  expect(result.isOk).toBe(true);
  const [root] = spanForest(otel.spans());
  expect(root && shape(root)).toBe('run PLACED_PAR(attempt embedder(embeddings nomic-embed))');
  expect(spanNamed(otel.spans(), 'embeddings nomic-embed').attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'nomic-embed', 'gen_ai.usage.input_tokens': expect.any(Number) });
});

test('AiSdkBackend: the same model span, around the AI SDK call', async () => {
  const provider = createOpenAICompatible({ name: 'fixture', baseURL: server.openAIBaseURL, apiKey: FIXTURE_OPENAI_KEY, includeUsage: true });
  const registry = new BackendRegistry({ strict: true }).register('ai', new AiSdkBackend({ provider }));
  const result = await PLACED_PAR([writer, new Placement({ endpoint: 'ai', model: 'writer' })], { registry }).run();
  expect(result.value).toEqual([REPLY]);
  const [root] = spanForest(otel.spans());
  expect(root && shape(root)).toBe('run PLACED_PAR(attempt writer(chat writer))');
  expect(spanNamed(otel.spans(), 'chat writer').attributes).toMatchObject({ 'gen_ai.request.model': 'writer', 'gen_ai.provider.name': 'ai-sdk', 'gen_ai.usage.output_tokens': 6 });
});
