import { lastValueFrom, toArray } from 'rxjs';
import { FailurePolicy, PLACED_PAR, Placement, Process, ProcessContext, ProcessResult, UsageError } from '../../lib';
import { type ModelClient, ModelUsageError, modelOf } from '../../lib/models';
import { FIXTURE_ANTHROPIC_KEY, FIXTURE_OPENAI_KEY, ModelApiServer, countTokens } from '../fixtures/modelApiServer';
import { PROVIDERS, partialsOf, placementOn, registryWith, runWithEvents } from '../fixtures/modelProviders';

const REPLY = 'Refund the duplicate proration charge today.';
const TOKENS = ['Refund', ' the', ' duplicate', ' proration', ' charge', ' today.'];

describe.each(PROVIDERS)('$label streams answers and counts their tokens', (provider) => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY } });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  test('generate() resolves with the whole answer; each streamed piece is a partial event; usage lands in the entry', async () => {
    const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ system: 'You handle billing.', prompt: 'My invoice doubled after the upgrade' })));
    const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], { registry: registryWith(provider, provider.backend(server)) });

    expect(result.value).toEqual([REPLY]);
    expect(partialsOf(events)).toEqual(TOKENS);
    const inputTokens = provider.api === 'anthropic' ? countTokens('You handle billing. My invoice doubled after the upgrade') : countTokens('You handle billing.') + countTokens('My invoice doubled after the upgrade');
    expect(inputTokens).toBe(9);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 9, outputTokens: TOKENS.length });
    expect(result.report().usage).toEqual({ inputTokens: 9, outputTokens: TOKENS.length });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.stream).toBe(true);
  });

  test('the request on the wire is the API\'s own: model, messages, system, streaming with usage', async () => {
    const writer = Process('writer', async (ctx) =>
      ProcessResult.ok(
        await modelOf(ctx).generate({
          system: 'Be brief.',
          messages: [
            { role: 'user', content: 'Hi' },
            { role: 'assistant', content: 'Hello.' },
            { role: 'user', content: 'Refund?' },
          ],
        }),
      ),
    );
    await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)) }).run();
    const [request] = server.requests;
    const conversation = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Refund?' },
    ];
    if (provider.api === 'anthropic') {
      expect(request?.path).toBe('/v1/messages');
      expect(request?.headers['anthropic-version']).toBeDefined();
      expect(request?.headers.authorization ?? request?.headers['x-api-key']).toContain(FIXTURE_ANTHROPIC_KEY);
      expect(request?.body).toEqual({ model: 'writer', max_tokens: 1024, system: 'Be brief.', messages: conversation, stream: true });
    } else {
      expect(request?.path).toBe('/v1/chat/completions');
      expect(request?.headers.authorization).toBe(`Bearer ${FIXTURE_OPENAI_KEY}`);
      expect(request?.body).toEqual({
        model: 'writer',
        messages: [{ role: 'system', content: 'Be brief.' }, ...conversation],
        stream: true,
        stream_options: { include_usage: true },
      });
    }
  });

  test('stream() is an Observable of the pieces; they are partial events too, and its tokens are counted', async () => {
    let pieces: string[] = [];
    const writer = Process('writer', async (ctx) => {
      pieces = await lastValueFrom(modelOf(ctx).stream('Draft the reply').pipe(toArray()));
      return ProcessResult.ok(pieces.join(''));
    });
    const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], { registry: registryWith(provider, provider.backend(server)) });
    expect(pieces).toEqual(TOKENS);
    expect(partialsOf(events)).toEqual(TOKENS);
    expect(result.value).toEqual([REPLY]);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 3, outputTokens: 6 });
  });

  test('pieces reach events$ while the answer is still streaming, not after it', async () => {
    const slow = await ModelApiServer.start({ replies: { writer: REPLY }, tokenDelayMs: 40 });
    try {
      const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go')));
      const group = PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(slow)) });
      const seen: Array<{ value: unknown; serverDone: boolean; tokensSent: number }> = [];
      await new Promise<void>((resolve) =>
        group.events$.subscribe({
          next: (event) => {
            const request = slow.requests[0];
            if (event.type === 'partial') seen.push({ value: event.value, serverDone: request?.done ?? true, tokensSent: request?.tokensSent ?? -1 });
          },
          complete: resolve,
        }),
      );
      expect(seen.map((entry) => entry.value)).toEqual(TOKENS);
      expect(seen[0]?.serverDone).toBe(false);
      expect(seen[0]?.tokensSent).toBeLessThan(TOKENS.length);
    } finally {
      await slow.close();
    }
  });

  test('ctx.model is bound to the placement: its model, and the backend defaults under placement.config', async () => {
    let model: ModelClient | undefined;
    const writer = Process('writer', (ctx) => {
      model = ctx.model;
      return ProcessResult.ok(modelOf(ctx) === ctx.model);
    });
    const backend = provider.backend(server, { name: 'models', config: { maxTokens: 100, stop: 'END' } });
    const placement = placementOn(provider, 'writer', { maxTokens: 7 });
    const result = await PLACED_PAR([writer, placement], { registry: registryWith(provider, backend) }).run();
    expect(result.value).toEqual([true]);
    expect(model?.model).toBe('writer');
    expect(model?.backend).toBe('models');
    expect(model?.config).toEqual({ maxTokens: 7, stop: 'END' });
  });

  test('config keys become request parameters; per-call overrides win over placement.config', async () => {
    const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate({ prompt: 'Go', maxTokens: 3, stop: ['charge'] })));
    const placement = placementOn(provider, 'writer', { maxTokens: 50, [provider.ownKey.key]: provider.ownKey.value });
    const result = await PLACED_PAR([writer, placement], { registry: registryWith(provider, provider.backend(server)) }).run();
    const body = server.requests[0]?.body;
    if (provider.api === 'anthropic') {
      expect(body).toMatchObject({ max_tokens: 3, stop_sequences: ['charge'], output_config: { effort: 'low' } });
    } else {
      expect(body).toMatchObject({ max_tokens: 3, stop: ['charge'], temperature: 0.2 });
    }
    // The fixture honours max tokens as the API does: three tokens, then it stops.
    expect(result.value).toEqual(['Refund the duplicate']);
  });

  test('every mapped key reaches the wire under its API name', async () => {
    const config: Record<string, string | number | string[]> =
      provider.api === 'anthropic'
        ? { maxTokens: 64, stop: ['\n\n'], effort: 'high', serviceTier: 'standard_only', userId: 'user-42' }
        : { temperature: 0.5, maxTokens: 64, maxCompletionTokens: 80, topP: 0.9, topK: 40, stop: 'END', seed: 7, frequencyPenalty: 0.1, presencePenalty: -0.1, reasoningEffort: 'low' };
    const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go')));
    await PLACED_PAR([writer, placementOn(provider, 'writer', config)], { registry: registryWith(provider, provider.backend(server)) }).run();
    const expected =
      provider.api === 'anthropic'
        ? { max_tokens: 64, stop_sequences: ['\n\n'], output_config: { effort: 'high' }, service_tier: 'standard_only', metadata: { user_id: 'user-42' } }
        : { temperature: 0.5, max_tokens: 64, max_completion_tokens: 80, top_p: 0.9, top_k: 40, stop: 'END', seed: 7, frequency_penalty: 0.1, presence_penalty: -0.1, reasoning_effort: 'low' };
    expect(server.requests[0]?.body).toMatchObject(expected);
  });

  test('after a dropped stream and a retry, a UI can tell the attempts apart: each partial follows its started event, and retrying voids the earlier ones', async () => {
    server.script('writer', { kind: 'drop', afterTokens: 3 });
    const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Go')));
    const { events, result } = await runWithEvents([[writer, placementOn(provider, 'writer')]], {
      registry: registryWith(provider, provider.backend(server)),
      onFailure: FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0.01 }),
    });
    expect(result.value).toEqual([REPLY]);
    // What a UI does: start a text per attempt, clear it on retrying.
    const texts = new Map<number, string>();
    let attempt = 0;
    let shown = '';
    for (const event of events) {
      if (event.type === 'started') attempt = event.attempt;
      if (event.type === 'retrying') shown = '';
      if (event.type === 'partial') {
        texts.set(attempt, (texts.get(attempt) ?? '') + String(event.value));
        shown += String(event.value);
      }
    }
    expect(Object.fromEntries(texts)).toEqual({ 1: 'Refund the duplicate', 2: REPLY });
    expect(shown).toBe(REPLY);
    expect(events.map((event) => event.type).filter((type) => type !== 'partial')).toEqual(['started', 'retrying', 'started', 'settled', 'done']);
  });

  test('usage is summed over a group and reported per entry', async () => {
    const one = Process('one', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('a b c')));
    const two = Process('two', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('d e')));
    const registry = registryWith(provider, provider.backend(server));
    const result = await PLACED_PAR([one, placementOn(provider, 'writer')], [two, placementOn(provider, 'other')], { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(result.entries.map((entry) => entry.usage)).toEqual([
      { inputTokens: 3, outputTokens: 6 },
      { inputTokens: 2, outputTokens: 5 },
    ]);
    expect(result.report().usage).toEqual({ inputTokens: 5, outputTokens: 11 });
  });
});

describe('modelOf(ctx)', () => {
  test('on a process that is not placed on a model backend, it says where the process runs instead', async () => {
    const writer = Process('writer', (ctx) => ProcessResult.ok(modelOf(ctx)));
    const result = await PLACED_PAR([writer, new Placement({ model: 'claude', endpoint: 'somewhere' })]).run();
    const error = result.failures[0]?.error;
    expect(error).toBeInstanceOf(ModelUsageError);
    expect(error).toBeInstanceOf(UsageError);
    expect(error?.message).toBe(
      'modelOf(ctx): expected the context of a process placed on a model backend (register an AnthropicBackend or OpenAICompatibleBackend and place the process on it), ' +
        'received the context of process "writer", which runs on backend "local" with placement (model=claude, endpoint=somewhere)',
    );
  });

  test('outside a run, and on a value that is not a context', () => {
    expect(() => modelOf(new ProcessContext({ processName: 'solo' }))).toThrow(/process "solo", which runs outside a run/);
    expect(() => modelOf({} as ProcessContext)).toThrow(ModelUsageError);
    expect(new ProcessContext({ processName: 'solo' }).model).toBeUndefined();
  });
});
