import type * as AnthropicSdk from '@anthropic-ai/sdk';
import { z } from 'zod';
import { ModelUsageError } from './errors';
import { loadPeer } from './loadPeer';
import { describeSdkFailure, rememberErrorBody } from './sdkFailure';
import { type ChatRequest, type Embeddings, ModelBackend, type ModelBackendOptions } from './ModelBackend';
import { stopSchema, tokenCountSchema } from './request';
import { type ResponseDecoder, responseSteps } from './responseSteps';
import type { StreamStep, UsageTotals } from './textStream';
import type { ModelFailure } from './toModelError';
import { fieldsOf, numberOf } from './jsonFields';

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

/** Each config key's name in the Messages API's request. */
const WIRE_NAMES = {
  maxTokens: 'max_tokens',
  stop: 'stop_sequences',
  effort: 'output_config.effort',
  serviceTier: 'service_tier',
  userId: 'metadata.user_id',
} as const satisfies Record<keyof AnthropicConfig, string>;



/** What the Messages API counts as input: fresh tokens plus those written to and read from the prompt cache. */
function usageOf(value: unknown): UsageTotals | undefined {
  const usage = fieldsOf(value);
  if (usage === undefined) return undefined;
  const fresh = numberOf(usage['input_tokens']);
  const inputTokens = fresh === undefined ? undefined : fresh + (numberOf(usage['cache_creation_input_tokens']) ?? 0) + (numberOf(usage['cache_read_input_tokens']) ?? 0);
  return { inputTokens, outputTokens: numberOf(usage['output_tokens']) };
}

/** What the Messages API's events and answers say. */
const decoder: ResponseDecoder = {
  event(data) {
    const event = fieldsOf(data);
    switch (event?.['type']) {
      case 'message_start':
        return { usage: usageOf(fieldsOf(event['message'])?.['usage']) };
      case 'content_block_delta': {
        const delta = fieldsOf(event['delta']);
        return delta?.['type'] === 'text_delta' && typeof delta['text'] === 'string' ? { text: delta['text'] } : {};
      }
      case 'message_delta':
        return { usage: usageOf(event['usage']) };
      case 'message_stop':
        return { finished: true };
      default:
        return {};
    }
  },
  answer(body) {
    const message = fieldsOf(body);
    if (message?.['type'] !== 'message' || !Array.isArray(message['content'])) return undefined;
    const text = message['content'].map((block) => (fieldsOf(block)?.['type'] === 'text' && typeof fieldsOf(block)?.['text'] === 'string' ? String(fieldsOf(block)?.['text']) : '')).join('');
    return { text, finished: true, usage: usageOf(message['usage']) };
  },
};

/**
 * Runs processes against the Anthropic Messages API through `@anthropic-ai/sdk`, giving each one
 * `ctx.model` bound to its placement: `placement.model` is the model, `placement.config` holds
 * request options (see `AnthropicConfig`). Answers stream; their text becomes `partial` events,
 * their tokens the entry's `usage`. The SDK's own retries are off: the group's failure policy
 * retries 429, 5xx and broken streams, honouring `retry-after`.
 *
 * @example
 * ```ts
 * const registry = new BackendRegistry().register('anthropic', new AnthropicBackend({ concurrencyLimit: 4 }));
 * const reasoner = Process('reasoner', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Plan the refund.')));
 * await PLACED_PAR([reasoner, new Placement({ model: 'claude-opus-4-5', endpoint: 'anthropic', config: { maxTokens: 800 } })], { registry }).run();
 * ```
 */
export class AnthropicBackend extends ModelBackend<AnthropicConfig> {
  readonly #sdk: Sdk;
  #client: Client | undefined;

  /** Options: `apiKey` (default `ANTHROPIC_API_KEY`), `baseURL` (or `ANTHROPIC_BASE_URL`), `model`, `concurrencyLimit` (default 4; `concurrency` is its deprecated alias), `timeout` (s, default 120), `config`, `name` (default `anthropic`). */
  constructor(options: AnthropicBackendOptions = {}) {
    super({
      provider: 'anthropic',
      className: 'AnthropicBackend',
      defaultName: 'anthropic',
      options,
      configSchema: anthropicConfigSchema,
      wireNames: WIRE_NAMES,
      connection: { keyVariable: 'ANTHROPIC_API_KEY', keyRequired: () => true, baseURLVariable: 'ANTHROPIC_BASE_URL', defaultBaseURL: 'https://api.anthropic.com' },
    });
    this.#sdk = loadPeer<Sdk>('@anthropic-ai/sdk', 'AnthropicBackend');
  }

  protected override get server(): string {
    return this.baseURL === 'https://api.anthropic.com' ? 'Anthropic' : `the Anthropic API at ${this.baseURL ?? ''}`;
  }

  /** One SDK client for every run, made on first use (after the health check has found a key). */
  get #anthropic(): Client {
    if (this.#client !== undefined) return this.#client;
    class KeepingErrorBodies extends this.#sdk.Anthropic {
      protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers): AnthropicSdk.APIError {
        // The SDK's error keeps only part of the body: keep it all, for the server's own words.
        return rememberErrorBody(super.makeStatusError(status, error, message, headers), error ?? message);
      }
    }
    this.#client = new KeepingErrorBodies({ apiKey: this.apiKey, baseURL: this.baseURL, maxRetries: 0, timeout: this.timeout * 1000 });
    return this.#client;
  }

  protected override describeFailure(thrown: unknown): ModelFailure | undefined {
    return describeSdkFailure(this.#sdk, thrown);
  }

  protected async openChatStream(request: ChatRequest<AnthropicConfig>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>> {
    const { config } = request;
    const stop = config.stop === undefined ? undefined : typeof config.stop === 'string' ? [config.stop] : config.stop;
    // The raw response: the body is read here, so that error events, cut-off events and bodies
    // that are not a stream at all are each recognised.
    const response = await this.#anthropic.messages
      .create(
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
      )
      .asResponse();
    return responseSteps(response, decoder);
  }

  protected requestEmbeddings(): Promise<Embeddings> {
    return Promise.reject(
      new ModelUsageError('embed(texts)', 'a process placed on an OpenAI-compatible backend (the Anthropic API has no embeddings endpoint)', undefined, {
        receivedText: `a call on backend "${this.name}"`,
      }),
    );
  }
}
