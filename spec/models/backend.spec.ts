import { firstValueFrom } from 'rxjs';
import { BackendUnavailableError, FailurePolicy, PLACED_PAR, Process, ProcessContext, ProcessResult } from '../../lib';
import { AnthropicBackend, OpenAICompatibleBackend, modelOf } from '../../lib/models';
import { FIXTURE_ANTHROPIC_KEY, FIXTURE_OPENAI_KEY, ModelApiServer } from '../fixtures/modelApiServer';
import { OPENAI_COMPATIBLE, PROVIDERS, placementOn, registryWith, withoutEnv } from '../fixtures/modelProviders';

const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go')));

describe.each(PROVIDERS)('$label: concurrency and keys', (provider) => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ tokenDelayMs: 10 });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  test('the concurrency cap defaults to 4 (not Infinity) and holds across every run sharing the backend', async () => {
    expect(provider.backend(server).concurrencyLimit).toBe(4);
    const backend = provider.backend(server, { concurrencyLimit: 2 });
    expect(backend.concurrencyLimit).toBe(2);
    const registry = registryWith(provider, backend);
    const group = () =>
      PLACED_PAR(...[1, 2, 3].map((n) => [writer.withName(`writer-${n}`), placementOn(provider, `model-${n}`)] as const), { registry, onFailure: FailurePolicy.COLLECT });
    const [first, second] = await Promise.all([group().run(), group().run()]);
    expect(first.isOk && second.isOk).toBe(true);
    expect(server.requests).toHaveLength(6);
    expect(server.peakInFlight).toBe(2);
  });

  test('without a key, the health check says which one is missing and the run fails with BackendUnavailableError, sending nothing', async () => {
    await withoutEnv([provider.keyVariable], async () => {
      // OpenAI's own API needs a key; the default base URL is OpenAI's.
      const backend = provider.api === 'anthropic' ? new AnthropicBackend() : new OpenAICompatibleBackend();
      const message = `${provider.label} "${backend.name}" has no API key: pass { apiKey } to new ${provider.label}(...) or set ${provider.keyVariable}`;
      expect(() => backend.healthCheck()).toThrow(message);
      const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, backend) }).run();
      const error = result.failures[0]?.error;
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error?.message).toContain(message);
      // Called directly, without a run's health check, execute fails with the same message.
      const ctx = new ProcessContext({ processName: 'writer', placement: placementOn(provider, 'writer') });
      await expect(firstValueFrom(backend.execute(writer, ctx))).rejects.toThrow(message);
      expect(server.requests).toHaveLength(0);
    });
  });

  test(`the key comes from ${provider.keyVariable} when the options give none`, async () => {
    const saved = process.env[provider.keyVariable];
    process.env[provider.keyVariable] = provider.api === 'anthropic' ? FIXTURE_ANTHROPIC_KEY : FIXTURE_OPENAI_KEY;
    try {
      const backend = provider.backend(server, { apiKey: undefined });
      expect(backend.healthCheck()).toBe(true);
      const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, backend) }).run();
      expect(result.isOk).toBe(true);
    } finally {
      if (saved === undefined) delete process.env[provider.keyVariable];
      else process.env[provider.keyVariable] = saved;
    }
  });
});

describe('OpenAICompatibleBackend on a server of your own', () => {
  test('needs no key: nothing is sent as Authorization, as llama.cpp without --api-key expects', async () => {
    const server = await ModelApiServer.start({ openAIKey: null });
    try {
      await withoutEnv(['OPENAI_API_KEY'], async () => {
        const backend = new OpenAICompatibleBackend({ name: 'local', baseURL: server.openAIBaseURL });
        expect(backend.healthCheck()).toBe(true);
        const result = await PLACED_PAR([writer, placementOn(OPENAI_COMPATIBLE, 'llama')], { registry: registryWith(OPENAI_COMPATIBLE, backend) }).run();
        expect(result.value).toEqual(['Hello from the fixture server.']);
        expect(server.requests[0]?.headers.authorization).toBeUndefined();
      });
    } finally {
      await server.close();
    }
  });
});
