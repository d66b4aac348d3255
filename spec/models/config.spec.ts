import { FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult, UsageError } from '../../lib';
import { ModelUsageError, anthropicConfigSchema, modelOf, openAICompatibleConfigSchema } from '../../lib/models';
import { ModelApiServer } from '../fixtures/modelApiServer';
import { PROVIDERS, placementOn, registryWith, withEnv } from '../fixtures/modelProviders';

const ANTHROPIC_KEYS = 'maxTokens, stop, effort, serviceTier, userId';
const OPENAI_KEYS = 'temperature, maxTokens, maxCompletionTokens, topP, topK, stop, seed, frequencyPenalty, presencePenalty, reasoningEffort, dimensions';
const retry = FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0.01 });

describe.each(PROVIDERS)('$label validates placement.config with its own schema before any request', (provider) => {
  let server: ModelApiServer;
  const validKeys = provider.api === 'anthropic' ? ANTHROPIC_KEYS : OPENAI_KEYS;
  const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go')));

  beforeAll(async () => {
    server = await ModelApiServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  async function failureFor(placement: Placement, process = writer) {
    const result = await PLACED_PAR([process, placement], { registry: registryWith(provider, provider.backend(server)), onFailure: retry }).run();
    const failure = result.failures[0];
    if (failure === undefined) throw new Error('expected a failure');
    return failure;
  }

  test('an unknown key fails that pair with a UsageError naming it and listing the valid keys, once, with no request', async () => {
    const failure = await failureFor(placementOn(provider, 'writer', { temprature: 0.7 }));
    expect(failure.error).toBeInstanceOf(UsageError);
    expect(failure.error).toBeInstanceOf(ModelUsageError);
    expect(failure.error.message).toBe(`placement.config.temprature: expected one of the known options (${validKeys}), received the number 0.7`);
    expect(failure.placement?.config).toEqual({ temprature: 0.7 });
    expect(failure.attempts).toBe(1);
    expect(server.requests).toHaveLength(0);
  });

  test('a mistyped value names the key and what it takes', async () => {
    const failure = await failureFor(placementOn(provider, 'writer', { maxTokens: 'lots' }));
    expect(failure.error.message).toBe('placement.config.maxTokens: expected a whole number of tokens >= 1, received the string "lots"');
    expect(server.requests).toHaveLength(0);
  });

  test('each backend has its own keys: a key of the other API is unknown here', async () => {
    const otherKey = provider.api === 'anthropic' ? 'temperature' : 'effort';
    const failure = await failureFor(placementOn(provider, 'writer', { [otherKey]: provider.api === 'anthropic' ? 0.2 : 'low' }));
    expect(failure.error.message).toContain(`placement.config.${otherKey}: expected one of the known options (${validKeys})`);
  });

  test('a per-call override is checked the same way, and the call fails before it is sent', async () => {
    let thrown: unknown;
    const careless = Process('careless', async (ctx) => {
      try {
        await modelOf(ctx).generate({ prompt: 'Go', maxTokenz: 5 } as never);
      } catch (error) {
        thrown = error;
      }
      return ProcessResult.ok('caught');
    });
    await PLACED_PAR([careless, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)) }).run();
    expect(thrown).toBeInstanceOf(ModelUsageError);
    expect((thrown as Error).message).toBe(`request.maxTokenz: expected one of the known options (${validKeys}, system, prompt, messages), received the number 5`);
    expect(server.requests).toHaveLength(0);
  });

  test('a request needs a prompt or messages, one of them', async () => {
    const empty = Process('empty', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ system: 'Hi' } as never)));
    const failure = await failureFor(placementOn(provider, 'writer'), empty);
    expect(failure.error.message).toBe('request: expected a request with either `prompt` or `messages` (one of them, not both), received an object with keys { system }');
    const badRole = Process('bad-role', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ messages: [{ role: 'system', content: 'x' }] } as never)));
    expect((await failureFor(placementOn(provider, 'writer'), badRole)).error.message).toBe('request.messages[0].role: expected the role "user" or "assistant", received the string "system"');
    expect(server.requests).toHaveLength(0);
  });

  test('a placement without a model uses the backend\'s model option, and fails clearly without one', async () => {
    const failure = await failureFor(new Placement({ endpoint: provider.endpoint }));
    expect(failure.error).toBeInstanceOf(ModelUsageError);
    expect(failure.error.message).toBe(`placement.model: expected a model name (or give new ${provider.label}({ model }) a default), received a placement without one (endpoint=${provider.endpoint})`);

    const backend = provider.backend(server, { model: 'house-model' });
    const result = await PLACED_PAR([writer, new Placement({ endpoint: provider.endpoint })], { registry: registryWith(provider, backend) }).run();
    expect(result.isOk).toBe(true);
    expect(server.requests[0]?.model).toBe('house-model');
  });

  test('the backend options are checked when it is built: an unknown option, a bad default config', () => {
    expect(() => provider.backend(server, { concurency: 2 } as never)).toThrow(
      `${provider.label} options.concurency: expected one of the known options (name, apiKey, baseURL, model, concurrencyLimit, concurrency, timeout, rateLimit, pauseOnRateLimit, config), received the number 2`,
    );
    expect(() => provider.backend(server, { config: { maxTokens: 0 } })).toThrow(`${provider.label} options.config.maxTokens: expected a whole number of tokens >= 1, received the number 0`);
    expect(() => provider.backend(server, { baseURL: 'ftp://example.com' })).toThrow(`${provider.label} options.baseURL: expected an http(s) URL, received the string "ftp://example.com"`);
    expect(() => provider.backend(server, { timeout: 0 })).toThrow(UsageError);
  });

  test('the cap is concurrencyLimit (default 4); concurrency is its deprecated alias, and the two disagreeing is a UsageError', () => {
    expect(provider.backend(server).concurrencyLimit).toBe(4);
    expect(provider.backend(server, { concurrencyLimit: 2 }).concurrencyLimit).toBe(2);
    expect(provider.backend(server, { concurrency: 3 }).concurrencyLimit).toBe(3);
    expect(provider.backend(server, { concurrencyLimit: 3, concurrency: 3 }).concurrencyLimit).toBe(3);
    expect(() => provider.backend(server, { concurrencyLimit: 2, concurrency: 3 })).toThrow(ModelUsageError);
    expect(() => provider.backend(server, { concurrencyLimit: 2, concurrency: 3 })).toThrow(
      `${provider.label} options.concurrency: expected to be left out (it is the deprecated name of concurrencyLimit, given as 2), received the number 3`,
    );
    expect(() => provider.backend(server, { concurrencyLimit: 0 })).toThrow(`${provider.label} options.concurrencyLimit: expected a whole number >= 1 or Infinity`);
  });
});

describe.each(PROVIDERS)('$label refuses what would be misread, saying what to write instead', (provider) => {
  let server: ModelApiServer;
  const baseURLVariable = provider.api === 'anthropic' ? 'ANTHROPIC_BASE_URL' : 'OPENAI_BASE_URL';

  beforeAll(async () => {
    server = await ModelApiServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  test.each(['not a url', 'ftp://models.example.com/v1'])(`a base URL from the environment is checked as the option is: %s`, async (value) => {
    await withEnv(baseURLVariable, value, () => {
      expect(() => provider.backend(server, { baseURL: undefined })).toThrow(ModelUsageError);
      expect(() => provider.backend(server, { baseURL: undefined })).toThrow(`${baseURLVariable}: expected an http(s) URL, received the string "${value}"`);
    });
  });

  test('a base URL from the environment is used when the option gives none', async () => {
    await withEnv(baseURLVariable, provider.api === 'anthropic' ? server.anthropicBaseURL : server.openAIBaseURL, async () => {
      const result = await PLACED_PAR([Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go'))), placementOn(provider, 'writer')], {
        registry: registryWith(provider, provider.backend(server, { baseURL: undefined })),
      }).run();
      expect(result.isOk).toBe(true);
    });
  });

  test('stop: [] says what stop takes, in the project\'s words rather than zod\'s', () => {
    expect(() => provider.backend(server, { config: { stop: [] } })).toThrow(`${provider.label} options.config.stop: expected a non-empty string or a non-empty array of them, received an array of length 0`);
    expect(() => provider.backend(server, { config: { stop: [''] } })).toThrow('expected a non-empty string or a non-empty array of them');
  });

  test('a key written the API\'s way names the key to use', async () => {
    expect(() => provider.backend(server, { config: { max_tokens: 100 } as never })).toThrow(
      `${provider.label} options.config.max_tokens: expected \`maxTokens\`, stbass's name for the API's \`max_tokens\`, received the number 100`,
    );
    const wire = provider.api === 'anthropic' ? 'stop_sequences' : 'top_p';
    const own = provider.api === 'anthropic' ? 'stop' : 'topP';
    const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go')));
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer', { [wire]: provider.api === 'anthropic' ? ['END'] : 0.5 })], { registry: registryWith(provider, provider.backend(server)) }).run();
    expect(result.failures[0]?.error.message).toMatch(new RegExp(`^placement\\.config\\.${wire}: expected \`${own}\`, stbass's name for the API's \`${wire}\``));
    let thrown: unknown;
    const override = Process('override', async (ctx) => {
      thrown = await modelOf(ctx).generate({ prompt: 'Go', max_tokens: 5 } as never).catch((error: unknown) => error);
      return ProcessResult.ok('done');
    });
    await PLACED_PAR([override, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)) }).run();
    expect((thrown as Error).message).toBe("request.max_tokens: expected `maxTokens`, stbass's name for the API's `max_tokens`, received the number 5");
    expect(server.requests).toHaveLength(0);
  });

  test('timeout is in seconds: a number of milliseconds is refused, saying so', () => {
    expect(() => provider.backend(server, { timeout: 120_000 })).toThrow(
      `${provider.label} options.timeout: expected a number of seconds from 0 to 3600 (seconds, not milliseconds: 120000 ms would be 120), received the number 120000`,
    );
    expect(provider.backend(server, { timeout: 3600 })).toBeDefined();
  });
});

describe('the config schemas', () => {
  test('are exported, for a program to check its own placements', () => {
    expect(anthropicConfigSchema.safeParse({ effort: 'max', maxTokens: 10 }).success).toBe(true);
    expect(anthropicConfigSchema.safeParse({ temperature: 0.2 }).success).toBe(false);
    expect(openAICompatibleConfigSchema.safeParse({ temperature: 3 }).success).toBe(false);
    expect(openAICompatibleConfigSchema.safeParse({ temperature: 0.7, topK: 40 }).success).toBe(true);
  });
});
