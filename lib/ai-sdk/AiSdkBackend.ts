import type * as Ai from 'ai';
import { z } from 'zod';
import { ModelUsageError } from '../models/errors';
import { loadPeer } from '../models/loadPeer';
import { type ChatRequest, type Embeddings, type EmbeddingsRequest, ModelBackend, commonOptionsShape, limitsAndConfigShape } from '../models/ModelBackend';
import { numberBetween, parseModelArgument, stopSchema, tokenCountSchema } from '../models/request';
import type { StreamStep } from '../models/textStream';
import { MalformedEvent, type ModelFailure, StreamIncomplete } from '../models/toModelError';
import { fieldsOf } from '../models/jsonFields';

type Sdk = typeof Ai;

/** An AI SDK language model: a provider's model object (`openai('gpt-4o')`), or a model id string for the AI SDK's global provider. */
export type AiSdkLanguageModel = Ai.LanguageModel;

/** An AI SDK embedding model (`openai.embeddingModel('text-embedding-3-small')`). */
export type AiSdkEmbeddingModel = Ai.EmbeddingModel;

/**
 * What `AiSdkBackend` needs of a provider to serve `placement.model` by name: an AI SDK provider
 * (`createOpenAICompatible(...)`, `createAnthropic(...)`) or a provider registry
 * (`createProviderRegistry(...)`, with `provider:model` ids).
 */
export interface AiSdkProvider {
  languageModel(modelId: string): AiSdkLanguageModel;
  embeddingModel?(modelId: string): AiSdkEmbeddingModel;
  textEmbeddingModel?(modelId: string): AiSdkEmbeddingModel;
}

/**
 * The AI SDK's call settings, as `placement.config` keys (and per-call overrides). The SDK's own
 * retries are not among them: they are always off, so the group's failure policy is the only one.
 *
 * @example
 * ```ts
 * aiSdkConfigSchema.safeParse({ maxTokens: 400, temperature: 0.2, providerOptions: { openai: { user: 'u-42' } } }).success; // true
 * ```
 */
export const aiSdkConfigSchema = z.strictObject(
  {
    /** The most tokens to generate (`maxOutputTokens`). */
    maxTokens: tokenCountSchema.optional(),
    /** Sampling temperature (`temperature`); the provider says which range it takes. */
    temperature: numberBetween(0, 2).optional(),
    /** Nucleus sampling, 0 to 1 (`topP`). */
    topP: numberBetween(0, 1).optional(),
    /** Sample from the k likeliest tokens (`topK`). */
    topK: tokenCountSchema.optional(),
    /** -2 to 2 (`presencePenalty`). */
    presencePenalty: numberBetween(-2, 2).optional(),
    /** -2 to 2 (`frequencyPenalty`). */
    frequencyPenalty: numberBetween(-2, 2).optional(),
    /** Text that stops generation when the model writes it (`stopSequences`). */
    stop: stopSchema.optional(),
    /** For repeatable sampling (`seed`). */
    seed: z.number({ error: 'a whole number' }).int({ error: 'a whole number' }).optional(),
    /** Options for the provider, by provider name, passed as they are (`providerOptions`). */
    providerOptions: z
      .record(z.string(), z.record(z.string(), z.json(), { error: 'an object of options' }), { error: 'an object { [provider]: { ...options } }' })
      .optional(),
  },
  { error: 'an object of AI SDK call settings' },
);

/** `placement.config` for a process on an `AiSdkBackend`. */
export type AiSdkConfig = z.input<typeof aiSdkConfigSchema>;

/** Each config key's name in the AI SDK's call settings. */
const WIRE_NAMES = {
  maxTokens: 'maxOutputTokens',
  temperature: 'temperature',
  topP: 'topP',
  topK: 'topK',
  presencePenalty: 'presencePenalty',
  frequencyPenalty: 'frequencyPenalty',
  stop: 'stopSequences',
  seed: 'seed',
  providerOptions: 'providerOptions',
} as const satisfies Record<keyof AiSdkConfig, string>;

function isModelObject(value: unknown): value is { readonly modelId: string; readonly provider?: string } {
  return typeof value === 'object' && value !== null && typeof (value as { modelId?: unknown }).modelId === 'string';
}

const languageModelSchema = z.custom<AiSdkLanguageModel>((value) => (typeof value === 'string' && value !== '') || isModelObject(value), {
  error: 'an AI SDK LanguageModel, e.g. openai("gpt-4o")',
});
const embeddingModelSchema = z.custom<AiSdkEmbeddingModel>((value) => (typeof value === 'string' && value !== '') || isModelObject(value), {
  error: 'an AI SDK EmbeddingModel, e.g. openai.embeddingModel("text-embedding-3-small")',
});
const providerSchema = z.custom<AiSdkProvider>(
  // A provider is a function with methods (`openai('gpt-4o')`, `openai.languageModel(...)`); a registry is an object.
  (value) => (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { languageModel?: unknown }).languageModel === 'function',
  { error: 'an AI SDK provider or provider registry, with languageModel(id)' },
);

const aiSdkOptionsSchema = z
  .strictObject(
    {
      name: commonOptionsShape.name,
      /** The model for placements that name none (or name its id). */
      model: languageModelSchema.optional(),
      /** Serves `placement.model` by name: `provider.languageModel(placement.model)`. */
      provider: providerSchema.optional(),
      /** The model `embed()` uses (else the provider's embedding model of `placement.model`). */
      embeddingModel: embeddingModelSchema.optional(),
      ...limitsAndConfigShape,
    },
    { error: 'an object { name?, model?, provider?, embeddingModel?, concurrencyLimit?, timeout?, rateLimit?, pauseOnRateLimit?, config? }' },
  )
  .refine((options) => options.model !== undefined || options.provider !== undefined, { error: 'an object with a `model` or a `provider` (or both)', path: [] });

/** Options of the `AiSdkBackend`. */
export type AiSdkBackendOptions = Omit<z.input<typeof aiSdkOptionsSchema>, 'config'> & {
  /** Call settings every placement starts from (the keys of `placement.config`). */
  readonly config?: AiSdkConfig;
};

/** The id of a model: a string model is its own id. */
function modelIdOf(model: { readonly modelId: string } | string): string {
  return typeof model === 'string' ? model : model.modelId;
}


/** A response body as the server sent it: parsed when it is JSON. */
function parsedBody(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The steps of an AI SDK stream: `head` (already read), then the rest of `parts`. */
async function* stepsOf(sdk: Sdk, head: readonly Ai.TextStreamPart<Ai.ToolSet>[], parts: AsyncIterator<Ai.TextStreamPart<Ai.ToolSet>>): AsyncGenerator<StreamStep> {
  const step = (part: Ai.TextStreamPart<Ai.ToolSet>): StreamStep | undefined => {
    switch (part.type) {
      case 'text-delta':
        return { text: part.text };
      case 'finish':
        return { finished: part.finishReason !== 'error', usage: { inputTokens: part.totalUsage.inputTokens, outputTokens: part.totalUsage.outputTokens } };
      case 'error':
        throw streamFailure(sdk, part.error);
      default:
        return undefined;
    }
  };
  try {
    for (const part of head) {
      const next = step(part);
      if (next !== undefined) yield next;
    }
    for (;;) {
      const read: IteratorResult<Ai.TextStreamPart<Ai.ToolSet>> = await parts.next();
      if (read.done === true) return;
      const next = step(read.value);
      if (next !== undefined) yield next;
    }
  } finally {
    await parts.return?.();
  }
}

/** What an error part of the AI SDK's stream means for the shared classification. */
function streamFailure(sdk: Sdk, error: unknown): unknown {
  if (sdk.InvalidResponseDataError.isInstance(error) && /without a finish reason/i.test(error.message)) return new StreamIncomplete(error.message);
  if (sdk.JSONParseError.isInstance(error)) return new MalformedEvent(error.text, false);
  return error;
}

/**
 * Places processes on any AI SDK model (`ai`, with any `@ai-sdk/*` provider) so that
 * `ctx.model.generate/stream/embed` work on it as on the other model backends: the answer streams
 * as `partial` events, its tokens land in the entry's `usage`, `ctx.signal` cancels the call, and
 * errors are the same `ModelError` classes (a rate limit with `retryAfter`, a wrong key final). The
 * AI SDK's own retries are off (`maxRetries: 0`), so the group's failure policy is the only one.
 *
 * Give it a `model` (served for every placement), or a `provider` (an AI SDK provider or provider
 * registry) to serve `placement.model` by name, or both (the model for placements that name none).
 *
 * @example
 * ```ts
 * import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
 * const local = createOpenAICompatible({ name: 'local', baseURL: 'http://127.0.0.1:8080/v1' });
 * const registry = new BackendRegistry().register('local', new AiSdkBackend({ name: 'local', provider: local }));
 * const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('Draft the reply.')));
 * await PLACED_PAR([writer, new Placement({ model: 'llama-3', endpoint: 'local' })], { registry }).run();
 * ```
 */
export class AiSdkBackend extends ModelBackend<AiSdkConfig> {
  readonly #sdk: Sdk;
  readonly #model: AiSdkLanguageModel | undefined;
  readonly #provider: AiSdkProvider | undefined;
  readonly #embeddingModel: AiSdkEmbeddingModel | undefined;

  /** Options: `model` and/or `provider`, `embeddingModel`, `concurrencyLimit` (default 4; `concurrency` is its deprecated alias), `timeout` (s, default 120), `config`, `name` (default `ai-sdk`). */
  constructor(options: AiSdkBackendOptions) {
    const parsed = parseModelArgument(aiSdkOptionsSchema, options, 'AiSdkBackend options');
    super({
      provider: 'ai-sdk',
      className: 'AiSdkBackend',
      defaultName: 'ai-sdk',
      options: {
        ...(parsed.name === undefined ? {} : { name: parsed.name }),
        ...(parsed.model === undefined ? {} : { model: modelIdOf(parsed.model) }),
        ...(parsed.concurrencyLimit === undefined ? {} : { concurrencyLimit: parsed.concurrencyLimit }),
        ...(parsed.concurrency === undefined ? {} : { concurrency: parsed.concurrency }),
        ...(parsed.timeout === undefined ? {} : { timeout: parsed.timeout }),
        ...(parsed.rateLimit === undefined ? {} : { rateLimit: parsed.rateLimit }),
        ...(parsed.pauseOnRateLimit === undefined ? {} : { pauseOnRateLimit: parsed.pauseOnRateLimit }),
        ...(parsed.config === undefined ? {} : { config: parsed.config }),
      },
      configSchema: aiSdkConfigSchema,
      wireNames: WIRE_NAMES,
    });
    this.#model = parsed.model;
    this.#provider = parsed.provider;
    this.#embeddingModel = parsed.embeddingModel;
    this.#sdk = loadPeer<Sdk>('ai', 'AiSdkBackend');
  }

  protected override get server(): string {
    return `the AI SDK model of backend "${this.name}"`;
  }

  /** The language model a placement names: the provider's by id, else the backend's own model. */
  #languageModel(modelId: string): AiSdkLanguageModel {
    if (this.#model !== undefined && modelIdOf(this.#model) === modelId) return this.#model;
    if (this.#provider === undefined) {
      throw new ModelUsageError('placement.model', `"${modelIdOf(this.#model ?? '')}", the one model this AiSdkBackend serves (give it a \`provider\` to serve models by name)`, modelId);
    }
    try {
      return this.#provider.languageModel(modelId);
    } catch (error) {
      throw new ModelUsageError('placement.model', `a model the AI SDK provider of backend "${this.name}" has (${error instanceof Error ? error.message : String(error)})`, modelId);
    }
  }

  #embeddingModelFor(modelId: string): AiSdkEmbeddingModel {
    if (this.#embeddingModel !== undefined) return this.#embeddingModel;
    const provider = this.#provider;
    if (provider?.embeddingModel !== undefined) return provider.embeddingModel(modelId);
    if (provider?.textEmbeddingModel !== undefined) return provider.textEmbeddingModel(modelId);
    throw new ModelUsageError('embed(texts)', 'an AiSdkBackend with an `embeddingModel`, or a `provider` that has embedding models', undefined, {
      receivedText: `a call on backend "${this.name}", which has neither`,
    });
  }

  protected override describeFailure(thrown: unknown): ModelFailure | undefined {
    const sdk = this.#sdk;
    if (sdk.APICallError.isInstance(thrown)) {
      if (typeof thrown.statusCode === 'number') {
        const headers = new Headers(thrown.responseHeaders ?? {});
        return { kind: 'status', status: thrown.statusCode, headers, body: parsedBody(thrown.responseBody) ?? thrown.data, requestId: headers.get('x-request-id') ?? headers.get('request-id') ?? undefined };
      }
      if (/^Cannot connect to API/.test(thrown.message)) {
        const cause = fieldsOf(thrown.cause);
        return { kind: 'connection', detail: typeof cause?.['message'] === 'string' ? cause['message'] : thrown.message };
      }
      return undefined;
    }
    if (sdk.LoadAPIKeyError.isInstance(thrown)) return { kind: 'credentials', detail: thrown.message };
    if (sdk.TypeValidationError.isInstance(thrown)) return { kind: 'response', detail: `a chunk of an unexpected shape (${thrown.message.split('\n')[0] ?? ''})` };
    // An error chunk inside the stream reaches the AI SDK's error part as the object the server sent.
    if (!(thrown instanceof Error) && fieldsOf(thrown) !== undefined) return { kind: 'event', body: thrown };
    return undefined;
  }

  protected async openChatStream(request: ChatRequest<AiSdkConfig>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>> {
    const { config } = request;
    const stop = config.stop === undefined ? undefined : typeof config.stop === 'string' ? [config.stop] : config.stop;
    const result = this.#sdk.streamText({
      model: this.#languageModel(request.model),
      ...(request.system === undefined ? {} : { system: request.system }),
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      // The placement's failure policy is the only retry: the SDK's own would multiply it.
      maxRetries: 0,
      abortSignal: signal,
      // Errors arrive as error parts of the stream and are reported from there; without this the SDK also logs them.
      onError: () => undefined,
      ...(config.maxTokens === undefined ? {} : { maxOutputTokens: config.maxTokens }),
      ...(config.temperature === undefined ? {} : { temperature: config.temperature }),
      ...(config.topP === undefined ? {} : { topP: config.topP }),
      ...(config.topK === undefined ? {} : { topK: config.topK }),
      ...(config.presencePenalty === undefined ? {} : { presencePenalty: config.presencePenalty }),
      ...(config.frequencyPenalty === undefined ? {} : { frequencyPenalty: config.frequencyPenalty }),
      ...(stop === undefined ? {} : { stopSequences: stop }),
      ...(config.seed === undefined ? {} : { seed: config.seed }),
      ...(config.providerOptions === undefined ? {} : { providerOptions: config.providerOptions }),
    });
    const parts = result.fullStream[Symbol.asyncIterator]();
    // Resolve once the provider's response has started (the SDK's first part after `start`), or failed.
    const head: Ai.TextStreamPart<Ai.ToolSet>[] = [];
    for (;;) {
      const next = await parts.next();
      if (next.done === true) break;
      head.push(next.value);
      if (next.value.type !== 'start') break;
    }
    return stepsOf(this.#sdk, head, parts);
  }

  protected async requestEmbeddings(request: EmbeddingsRequest<AiSdkConfig>, signal: AbortSignal): Promise<Embeddings> {
    const dimensions = (request.config as { readonly dimensions?: number }).dimensions;
    if (dimensions !== undefined) {
      throw new ModelUsageError('embed(texts, options).dimensions', "no dimensions on an AiSdkBackend: set them in placement.config.providerOptions, as the provider names them", dimensions);
    }
    const { embeddings, usage } = await this.#sdk.embedMany({
      model: this.#embeddingModelFor(request.model),
      values: [...request.texts],
      maxRetries: 0,
      abortSignal: signal,
      ...(request.config.providerOptions === undefined ? {} : { providerOptions: request.config.providerOptions }),
    });
    return { vectors: embeddings.map((vector) => Array.from(vector)), usage: Number.isFinite(usage.tokens) ? { inputTokens: usage.tokens, outputTokens: 0 } : undefined };
  }
}
