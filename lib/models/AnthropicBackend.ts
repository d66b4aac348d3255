import type * as AnthropicSdk from '@anthropic-ai/sdk';
import { z } from 'zod';
import { ModelUsageError } from './errors';
import { loadPeer } from './loadPeer';
import { type ChatRequest, type Embeddings, ModelBackend, type ModelBackendOptions } from './ModelBackend';
import { stopSchema, tokenCountSchema } from './request';
import type { StreamStep, UsageTotals } from './textStream';
import type { SdkErrorClasses } from './toModelError';

/** `max_tokens` when neither the placement nor the request gives `maxTokens` (the Messages API requires one). */
const DEFAULT_MAX_TOKENS = 1024;

/**
 * The request options of the Anthropic Messages API, as `placement.config` keys (and per-call
 * overrides). The API has no sampling parameters (temperature, top_p, top_k); `effort` steers it.
 */
export const anthropicConfigSchema = z.strictObject(
  {
    /** The most tokens to generate (`max_tokens`, default 1024). */
    maxTokens: tokenCountSchema.optional(),
    /** Text that stops generation when the model writes it (`stop_sequences`). */
    stop: stopSchema.optional(),
    /** How much effort the model spends on the answer (`output_config.effort`). */
    effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max'], { error: 'one of "low", "medium", "high", "xhigh", "max"' }).optional(),
    /** `auto` may use priority capacity; `standard_only` never does (`service_tier`). */
    serviceTier: z.enum(['auto', 'standard_only'], { error: 'one of "auto", "standard_only"' }).optional(),
    /** An opaque id of your end user, for abuse detection (`metadata.user_id`). */
    userId: z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' }).optional(),
  },
  { error: 'an object of Anthropic request options' },
);

/** `placement.config` for a process on an `AnthropicBackend`. */
export type AnthropicConfig = z.input<typeof anthropicConfigSchema>;

/** Options of the `AnthropicBackend`. */
export type AnthropicBackendOptions = ModelBackendOptions<AnthropicConfig>;

type Sdk = typeof AnthropicSdk;
type Client = AnthropicSdk.Anthropic;
type MessageStreamEvent = AnthropicSdk.Anthropic.RawMessageStreamEvent;

/** What the Messages API counts as input: fresh tokens plus those written to and read from the prompt cache. */
function inputTokensOf(usage: { input_tokens: number | null; cache_creation_input_tokens: number | null; cache_read_input_tokens: number | null }): number | undefined {
  if (usage.input_tokens === null) return undefined;
  return usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
}

/** What one Messages API stream event says. */
function stepOf(event: MessageStreamEvent): StreamStep {
  switch (event.type) {
    case 'message_start': {
      const { usage } = event.message;
      return { usage: { inputTokens: inputTokensOf(usage), outputTokens: usage.output_tokens } };
    }
    case 'content_block_delta':
      return event.delta.type === 'text_delta' ? { text: event.delta.text } : {};
    case 'message_delta': {
      const usage: UsageTotals = { inputTokens: inputTokensOf(event.usage), outputTokens: event.usage.output_tokens };
      return { usage };
    }
    case 'message_stop':
      return { finished: true };
    default:
      return {};
  }
}

async function* stepsOf(events: AsyncIterable<MessageStreamEvent>): AsyncIterable<StreamStep> {
  for await (const event of events) yield stepOf(event);
}

/**
 * Runs processes against the Anthropic Messages API through `@anthropic-ai/sdk`, giving each one
 * `ctx.model` bound to its placement: `placement.model` is the model, `placement.config` holds
 * request options (see `AnthropicConfig`). Answers stream; their text becomes `partial` events,
 * their tokens the entry's `usage`. The SDK's own retries are off: the group's failure policy
 * retries 429, 5xx and broken streams, honouring `retry-after`.
 *
 * @example
 * ```ts
 * const registry = new BackendRegistry().register('anthropic', new AnthropicBackend({ concurrency: 4 }));
 * const reasoner = Process('reasoner', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Plan the refund.')));
 * await PLACED_PAR([reasoner, new Placement({ model: 'claude-opus-4-5', endpoint: 'anthropic', config: { maxTokens: 800 } })], { registry }).run();
 * ```
 */
export class AnthropicBackend extends ModelBackend<AnthropicConfig> {
  protected readonly sdkErrors: SdkErrorClasses;
  readonly #sdk: Sdk;
  #client: Client | undefined;

  /** Options: `apiKey` (default `ANTHROPIC_API_KEY`), `baseURL`, `model`, `concurrency` (default 4), `timeout` (s, default 120), `config`, `name` (default `anthropic`). */
  constructor(options: AnthropicBackendOptions = {}) {
    super({
      provider: 'anthropic',
      className: 'AnthropicBackend',
      defaultName: 'anthropic',
      options,
      configSchema: anthropicConfigSchema,
      keyVariable: 'ANTHROPIC_API_KEY',
      keyRequired: () => true,
      baseURLVariable: 'ANTHROPIC_BASE_URL',
      defaultBaseURL: 'https://api.anthropic.com',
    });
    this.#sdk = loadPeer<Sdk>('@anthropic-ai/sdk', 'AnthropicBackend');
    this.sdkErrors = this.#sdk;
  }

  /** One SDK client for every run, made on first use (after the health check has found a key). */
  get #anthropic(): Client {
    return (this.#client ??= new this.#sdk.Anthropic({ apiKey: this.apiKey, baseURL: this.baseURL, maxRetries: 0, timeout: this.timeout * 1000 }));
  }

  protected async openChatStream(request: ChatRequest<AnthropicConfig>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>> {
    const { config } = request;
    const stop = config.stop === undefined ? undefined : typeof config.stop === 'string' ? [config.stop] : config.stop;
    const events = await this.#anthropic.messages.create(
      {
        model: request.model,
        max_tokens: config.maxTokens ?? DEFAULT_MAX_TOKENS,
        messages: request.messages.map(({ role, content }) => ({ role, content })),
        stream: true,
        ...(request.system === undefined ? {} : { system: request.system }),
        ...(stop === undefined ? {} : { stop_sequences: stop }),
        ...(config.effort === undefined ? {} : { output_config: { effort: config.effort } }),
        ...(config.serviceTier === undefined ? {} : { service_tier: config.serviceTier }),
        ...(config.userId === undefined ? {} : { metadata: { user_id: config.userId } }),
      },
      { signal },
    );
    return stepsOf(events);
  }

  protected requestEmbeddings(): Promise<Embeddings> {
    return Promise.reject(
      new ModelUsageError('embed(texts)', 'a process placed on an OpenAI-compatible backend (the Anthropic API has no embeddings endpoint)', undefined, {
        receivedText: `a call on backend "${this.name}"`,
      }),
    );
  }
}
