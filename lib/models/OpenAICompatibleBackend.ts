import type * as OpenAISdk from 'openai';
import { z } from 'zod';
import { loadPeer } from './loadPeer';
import { type ChatRequest, type Embeddings, type EmbeddingsRequest, ModelBackend, type ModelBackendOptions } from './ModelBackend';
import { numberBetween, stopSchema, tokenCountSchema } from './request';
import type { StreamStep } from './textStream';
import type { SdkErrorClasses } from './toModelError';

const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * The request options of an OpenAI-compatible chat completions API, as `placement.config` keys
 * (and per-call overrides). `topK` is not OpenAI's own but llama.cpp, vLLM and Ollama take it.
 */
export const openAICompatibleConfigSchema = z.strictObject(
  {
    /** Sampling temperature, 0 to 2 (`temperature`). */
    temperature: numberBetween(0, 2).optional(),
    /** The most tokens to generate (`max_tokens`, which every compatible server takes). */
    maxTokens: tokenCountSchema.optional(),
    /** The most tokens to generate, reasoning included (`max_completion_tokens`, OpenAI's reasoning models). */
    maxCompletionTokens: tokenCountSchema.optional(),
    /** Nucleus sampling, 0 to 1 (`top_p`). */
    topP: numberBetween(0, 1).optional(),
    /** Sample from the k likeliest tokens (`top_k`; llama.cpp, vLLM, Ollama). */
    topK: tokenCountSchema.optional(),
    /** Text that stops generation when the model writes it (`stop`). */
    stop: stopSchema.optional(),
    /** For repeatable sampling (`seed`). */
    seed: z.number({ error: 'a whole number' }).int({ error: 'a whole number' }).optional(),
    /** -2 to 2 (`frequency_penalty`). */
    frequencyPenalty: numberBetween(-2, 2).optional(),
    /** -2 to 2 (`presence_penalty`). */
    presencePenalty: numberBetween(-2, 2).optional(),
    /** How hard a reasoning model thinks (`reasoning_effort`). */
    reasoningEffort: z
      .enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'], { error: 'one of "none", "minimal", "low", "medium", "high", "xhigh", "max"' })
      .optional(),
    /** The size of embedding vectors, for models that can shorten theirs (`dimensions`, embeddings only). */
    dimensions: tokenCountSchema.optional(),
  },
  { error: 'an object of OpenAI-compatible request options' },
);

/** `placement.config` for a process on an `OpenAICompatibleBackend`. */
export type OpenAICompatibleConfig = z.input<typeof openAICompatibleConfigSchema>;

/** Options of the `OpenAICompatibleBackend`. */
export type OpenAICompatibleBackendOptions = ModelBackendOptions<OpenAICompatibleConfig>;

/** Each chat config key and the request parameter it becomes (`dimensions` is for embeddings). */
const CHAT_PARAMETERS = {
  temperature: 'temperature',
  maxTokens: 'max_tokens',
  maxCompletionTokens: 'max_completion_tokens',
  topP: 'top_p',
  topK: 'top_k',
  stop: 'stop',
  seed: 'seed',
  frequencyPenalty: 'frequency_penalty',
  presencePenalty: 'presence_penalty',
  reasoningEffort: 'reasoning_effort',
} as const satisfies Partial<Record<keyof OpenAICompatibleConfig, string>>;

type ChatParameters = Partial<Pick<OpenAISdk.OpenAI.Chat.ChatCompletionCreateParamsStreaming, Exclude<(typeof CHAT_PARAMETERS)[keyof typeof CHAT_PARAMETERS], 'top_k'>>> & {
  top_k?: number;
};

/** The request parameters a config sets. */
function chatParameters(config: OpenAICompatibleConfig): ChatParameters {
  const parameters: Record<string, unknown> = {};
  for (const [key, parameter] of Object.entries(CHAT_PARAMETERS)) {
    const value = config[key as keyof typeof CHAT_PARAMETERS];
    if (value !== undefined) parameters[parameter] = value;
  }
  return parameters;
}

type Sdk = typeof OpenAISdk;
type Client = OpenAISdk.OpenAI;
type ChatCompletionChunk = OpenAISdk.OpenAI.Chat.ChatCompletionChunk;

/** What one chat completions chunk says. */
function stepOf(chunk: ChatCompletionChunk): StreamStep {
  const choice = chunk.choices[0];
  const usage = chunk.usage ?? undefined;
  return {
    text: choice?.delta.content ?? undefined,
    finished: choice?.finish_reason !== null && choice?.finish_reason !== undefined,
    usage: usage === undefined ? undefined : { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens },
  };
}

async function* stepsOf(chunks: AsyncIterable<ChatCompletionChunk>): AsyncIterable<StreamStep> {
  for await (const chunk of chunks) yield stepOf(chunk);
}

/** Whether `baseURL` is OpenAI's own API, which needs a key (a server of your own may not). */
function isOpenAI(baseURL: string): boolean {
  return new URL(baseURL).hostname === 'api.openai.com';
}

/**
 * Runs processes against an OpenAI-compatible API through the `openai` SDK: OpenAI itself, or, with
 * `baseURL`, llama.cpp's server, vLLM, Ollama and the like. Each process gets `ctx.model` bound to
 * its placement (`placement.model`, `placement.config`; see `OpenAICompatibleConfig`), with
 * `generate`, `stream` and `embed`. Answers stream with `stream_options.include_usage`, so their
 * tokens land in the entry's `usage`. A key is needed for OpenAI's own API only.
 *
 * @example
 * ```ts
 * const local = new OpenAICompatibleBackend({ name: 'local', baseURL: 'http://127.0.0.1:8080/v1' });
 * const registry = new BackendRegistry().register('local', local); // serves endpoint 'local:8080'
 * const embedder = Process('embedder', async (ctx) => ProcessResult.ok((await modelOf(ctx).embed([ticket]))[0]));
 * ```
 */
export class OpenAICompatibleBackend extends ModelBackend<OpenAICompatibleConfig> {
  protected readonly sdkErrors: SdkErrorClasses;
  readonly #sdk: Sdk;
  #client: Client | undefined;

  /** Options: `baseURL` (default OpenAI's), `apiKey` (default `OPENAI_API_KEY`), `model`, `concurrency` (default 4), `timeout` (s, default 120), `config`, `name` (default `openai-compatible`). */
  constructor(options: OpenAICompatibleBackendOptions = {}) {
    super({
      provider: 'openai-compatible',
      className: 'OpenAICompatibleBackend',
      defaultName: 'openai-compatible',
      options,
      configSchema: openAICompatibleConfigSchema,
      keyVariable: 'OPENAI_API_KEY',
      keyRequired: isOpenAI,
      baseURLVariable: 'OPENAI_BASE_URL',
      defaultBaseURL: OPENAI_BASE_URL,
    });
    this.#sdk = loadPeer<Sdk>('openai', 'OpenAICompatibleBackend');
    this.sdkErrors = this.#sdk;
  }

  /** One SDK client for every run, made on first use. Without a key, no Authorization header is sent. */
  get #openai(): Client {
    return (this.#client ??= new this.#sdk.OpenAI({
      apiKey: this.apiKey ?? 'unused',
      baseURL: this.baseURL,
      maxRetries: 0,
      timeout: this.timeout * 1000,
      ...(this.apiKey === undefined ? { defaultHeaders: { Authorization: null } } : {}),
    }));
  }

  protected async openChatStream(request: ChatRequest<OpenAICompatibleConfig>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>> {
    const { config } = request;
    const chunks = await this.#openai.chat.completions.create(
      {
        model: request.model,
        messages: [...(request.system === undefined ? [] : [{ role: 'system' as const, content: request.system }]), ...request.messages.map(({ role, content }) => ({ role, content }))],
        stream: true,
        stream_options: { include_usage: true },
        ...chatParameters(config),
      },
      { signal },
    );
    return stepsOf(chunks);
  }

  protected async requestEmbeddings(request: EmbeddingsRequest<OpenAICompatibleConfig>, signal: AbortSignal): Promise<Embeddings> {
    const { dimensions } = request.config;
    // `float`: every compatible server speaks it (the SDK would otherwise ask for base64).
    const response = await this.#openai.embeddings.create(
      { model: request.model, input: [...request.texts], encoding_format: 'float', ...(dimensions === undefined ? {} : { dimensions }) },
      { signal },
    );
    const vectors = [...response.data].sort((a, b) => a.index - b.index).map((item) => Array.from(item.embedding));
    return { vectors, usage: { inputTokens: response.usage.prompt_tokens, outputTokens: 0 } };
  }
}
