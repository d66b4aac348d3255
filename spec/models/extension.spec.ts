/**
 * `ModelBackend` as the extension point: the backend of the README's "Writing a model backend"
 * section, written against the public `stbass/models` surface only, run against the fixture
 * server. What the base gives it — `ctx.model`, partials, usage, the cap, config validation, the
 * error classes — it gets without writing any of it.
 */
import { z } from 'zod';
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import {
  type ChatRequest,
  type Embeddings,
  ModelAuthError,
  ModelBackend,
  type ModelBackendOptions,
  ModelConnectionError,
  type ModelFailure,
  ModelRateLimitError,
  ModelUsageError,
  type StreamStep,
  modelOf,
  responseSteps,
} from '../../lib/models';
import { FIXTURE_OPENAI_KEY, ModelApiServer } from '../fixtures/modelApiServer';
import { partialsOf, runWithEvents } from '../fixtures/modelProviders';

// ---- the README's example, as written there ----

const fetchChatConfigSchema = z.strictObject({
  /** The most tokens to generate (`max_tokens`). */
  maxTokens: z.number().int().min(1).optional(),
});
type FetchChatConfig = z.input<typeof fetchChatConfigSchema>;

/** What one chunk of the stream holds: a piece of text, a finish reason, the usage. */
const chunkSchema = z.object({
  choices: z.array(z.object({ delta: z.object({ content: z.string().nullish() }).optional(), finish_reason: z.string().nullish() })).optional(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
});

/** An error status, with what the server said. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly body: string,
  ) {
    super(`HTTP ${status}`);
  }
}

/** A chat completions API spoken with `fetch` alone, no SDK. */
class FetchChatBackend extends ModelBackend<FetchChatConfig> {
  constructor(options: ModelBackendOptions<FetchChatConfig> = {}) {
    super({
      provider: 'fetch-chat',
      className: 'FetchChatBackend',
      defaultName: 'fetch-chat',
      options,
      configSchema: fetchChatConfigSchema,
      connection: { keyVariable: 'FETCH_CHAT_KEY', keyRequired: () => false, baseURLVariable: 'FETCH_CHAT_URL', defaultBaseURL: 'http://127.0.0.1:8080/v1' },
    });
  }

  protected async openChatStream(request: ChatRequest<FetchChatConfig>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>> {
    const response = await fetch(`${this.baseURL ?? ''}/chat/completions`, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', ...(this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` }) },
      body: JSON.stringify({
        model: request.model,
        messages: [...(request.system === undefined ? [] : [{ role: 'system', content: request.system }]), ...request.messages],
        stream: true,
        stream_options: { include_usage: true },
        ...(request.config.maxTokens === undefined ? {} : { max_tokens: request.config.maxTokens }),
      }),
    });
    if (!response.ok) throw new HttpFailure(response.status, response.headers, await response.text());
    // responseSteps reads the body: [DONE], error events, cut-off events, HTML or JSON instead of a stream.
    return responseSteps(response, {
      event: (data) => {
        const chunk = chunkSchema.parse(data);
        const choice = chunk.choices?.[0];
        return {
          text: choice?.delta?.content ?? undefined,
          finished: choice?.finish_reason != null,
          usage: chunk.usage == null ? undefined : { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens },
        };
      },
      answer: () => undefined,
    });
  }

  protected requestEmbeddings(): Promise<Embeddings> {
    return Promise.reject(new ModelUsageError('embed(texts)', 'a backend with embeddings', undefined, { receivedText: 'a call on FetchChatBackend' }));
  }

  /** What fetch's failures mean; the shared table does the rest (class, retryable, retryAfter, message). */
  protected override describeFailure(thrown: unknown): ModelFailure | undefined {
    if (thrown instanceof HttpFailure) return { kind: 'status', status: thrown.status, headers: thrown.headers, body: thrown.body };
    // By shape, not `instanceof`: fetch's TypeError comes from Node's own realm, not a test runner's sandbox.
    if (typeof thrown === 'object' && thrown !== null && 'message' in thrown && thrown.message === 'fetch failed') {
      return { kind: 'connection', detail: 'cause' in thrown ? String(thrown.cause) : 'fetch failed' };
    }
    return undefined;
  }
}

// ---- the tests ----

const REPLY = 'Refund the duplicate proration charge today.';
const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('My invoice doubled')));
const on = new Placement({ model: 'writer', endpoint: 'fetch-chat' });

describe('a model backend of your own, on ModelBackend', () => {
  let server: ModelApiServer;
  let registry: BackendRegistry;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY } });
    registry = new BackendRegistry({ strict: true }).register('fetch-chat', new FetchChatBackend({ baseURL: server.openAIBaseURL, apiKey: FIXTURE_OPENAI_KEY }));
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  test('gets ctx.model, partial events, usage and the default cap of 4 from the base', async () => {
    const { events, result } = await runWithEvents([[writer, on]], { registry });
    expect(result.value).toEqual([REPLY]);
    expect(partialsOf(events)).toHaveLength(6);
    expect(result.entries[0]?.usage).toEqual({ inputTokens: 3, outputTokens: 6 });
    expect(new FetchChatBackend().concurrencyLimit).toBe(4);
  });

  test("a subclass's getters for its name, cap and 429 pause are not hidden by the base (the seed's @property)", async () => {
    let inFlight = 0;
    let peak = 0;
    class TwoAtATime extends FetchChatBackend {
      // @ts-expect-error TS2611: TypeScript flags a getter over the base's declared property; the runtime honours it
      override get name(): string {
        return 'two-at-a-time';
      }
      // @ts-expect-error TS2611: as above
      override get concurrencyLimit(): number {
        return 2;
      }
      // @ts-expect-error TS2611: as above
      override get pauseOnRateLimit(): boolean {
        return false;
      }
      protected override async openChatStream(request: ChatRequest<FetchChatConfig>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>> {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return await super.openChatStream(request, signal);
        } finally {
          inFlight -= 1;
        }
      }
    }
    const backend = new TwoAtATime({ baseURL: server.openAIBaseURL, apiKey: FIXTURE_OPENAI_KEY, concurrencyLimit: 6 });
    expect([backend.name, backend.concurrencyLimit, backend.pauseOnRateLimit]).toEqual(['two-at-a-time', 2, false]);
    const mine = new BackendRegistry({ strict: true }).register('fetch-chat', backend);
    const result = await PLACED_PAR(...Array.from({ length: 6 }, () => [writer, on] as const), { registry: mine }).run();
    expect(result.value).toEqual(Array.from({ length: 6 }, () => REPLY));
    expect(result.entries.map((entry) => entry.backend)).toEqual(Array.from({ length: 6 }, () => 'two-at-a-time'));
    expect(peak).toBe(2);
  });

  test('gets its placement.config checked, wire-format keys included', async () => {
    const result = await PLACED_PAR([writer, new Placement({ model: 'writer', endpoint: 'fetch-chat', config: { max_tokens: 3 } })], { registry }).run();
    expect(result.failures[0]?.error.message).toBe("placement.config.max_tokens: expected `maxTokens`, stbass's name for the API's `max_tokens`, received the number 3");
  });

  test('gets the same error classes: a 429 with retry-after, an in-stream invalid_api_key final, a refused connection', async () => {
    server.script('writer', { kind: 'error', status: 429, retryAfterMs: 200 });
    const limited = await PLACED_PAR([writer, on], { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(limited.failures[0]?.error).toBeInstanceOf(ModelRateLimitError);
    expect(limited.failures[0]?.error).toMatchObject({ retryable: true, retryAfter: 0.2, provider: 'fetch-chat' });

    server.script('writer', { kind: 'streamError', afterTokens: 1, code: 'invalid_api_key', type: 'invalid_request_error' });
    const refused = await PLACED_PAR([writer, on], { registry, onFailure: FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0.01 }) }).run();
    expect(refused.failures[0]?.error).toBeInstanceOf(ModelAuthError);
    expect(refused.failures[0]?.attempts).toBe(1);
    expect(refused.failures[0]?.error.message).toContain('Check the API key: pass { apiKey } to new FetchChatBackend(...) or set FETCH_CHAT_KEY.');

    const closed = await ModelApiServer.start();
    const baseURL = closed.openAIBaseURL;
    await closed.close();
    const nowhere = new BackendRegistry().register('fetch-chat', new FetchChatBackend({ baseURL }));
    const unreachable = await PLACED_PAR([writer, on], { registry: nowhere, onFailure: FailurePolicy.COLLECT }).run();
    expect(unreachable.failures[0]?.error).toBeInstanceOf(ModelConnectionError);
    expect(unreachable.failures[0]?.error.message).toContain(`could not connect to ${baseURL} (Error: connect ECONNREFUSED`);
  });
});
