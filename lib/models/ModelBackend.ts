import { type Observable, defer, lastValueFrom, reduce } from 'rxjs';
import { z } from 'zod';
import { ExecutionBackend } from '../backends/ExecutionBackend';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import type { ProcessResult } from '../process/ProcessResult';
import { concurrencySchema, nameSchema } from '../validation/schemas';
import { type ModelProvider, ModelUsageError } from './errors';
import { type EmbedOptions, type GenerateRequest, type ModelClient, provideModel } from './ModelClient';
import { type ChatMessage, type ConfigSchema, type RequestSchema, messagesOf, parseModelArgument, requestSchemaFor, tokenCountSchema } from './request';
import type { TokenUsage } from '../process/usage';
import { type StreamStep, UsageMeter, textStream } from './textStream';
import { type CallSite, type SdkErrorClasses, toModelError } from './toModelError';

/** Seconds a backend waits, by default, for a response to start or for the next streamed event. */
const DEFAULT_TIMEOUT = 120;
/** Processes a model backend runs at once, by default: polite to a rate limit or a local server's slots. */
const DEFAULT_CONCURRENCY = 4;

/** The options of a model backend; `config` is checked against the backend's own schema. */
const modelBackendOptionsSchema = z.strictObject(
  {
    /** The backend's name in events, results and failures. */
    name: nameSchema.optional(),
    /** The API key; default: the provider's environment variable. */
    apiKey: z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' }).optional(),
    /** Where requests go: the API's own URL by default. */
    baseURL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
    /** The model for placements that name none. */
    model: nameSchema.optional(),
    /** The most processes in flight on this backend at once, across every run that shares it. */
    concurrency: concurrencySchema.optional(),
    /** Seconds to wait for a response to start, and between two streamed events, before failing. */
    timeout: z.number({ error: 'a number of seconds > 0' }).positive({ error: 'a number of seconds > 0' }).optional(),
    /** Request options every placement starts from (the same keys as `placement.config`). */
    config: z.record(z.string(), z.unknown(), { error: 'an object of request options' }).optional(),
  },
  { error: 'an object { name?, apiKey?, baseURL?, model?, concurrency?, timeout?, config? }' },
);

/** Options of a model backend whose `placement.config` is `Config`. */
export type ModelBackendOptions<Config> = Omit<z.input<typeof modelBackendOptionsSchema>, 'config'> & {
  /** Request options every placement starts from (the keys of `placement.config`). */
  readonly config?: Config;
};

/** One chat request, as a backend sends it. */
export interface ChatRequest<Config> {
  readonly model: string;
  readonly system: string | undefined;
  readonly messages: readonly ChatMessage[];
  readonly config: Config;
}

/** One embeddings request, as a backend sends it. */
export interface EmbeddingsRequest<Config> {
  readonly model: string;
  readonly texts: readonly string[];
  readonly config: Config;
}

/** What an embeddings request answers. */
export interface Embeddings {
  readonly vectors: number[][];
  readonly usage?: TokenUsage;
}

/** How a backend subclass describes itself to the shared machinery. */
export interface ModelBackendSettings<Config> {
  readonly provider: ModelProvider;
  /** The constructor's name, for error messages: `AnthropicBackend`. */
  readonly className: string;
  readonly defaultName: string;
  /** The options as given, to be validated here. */
  readonly options: unknown;
  readonly configSchema: ConfigSchema & z.ZodType<Config>;
  /** The environment variable that holds the key, e.g. `ANTHROPIC_API_KEY`. */
  readonly keyVariable: string;
  /** Whether requests to `baseURL` need a key (an OpenAI-compatible server of your own may not). */
  readonly keyRequired: (baseURL: string) => boolean;
  /** The environment variable that may hold the base URL, e.g. `ANTHROPIC_BASE_URL`. */
  readonly baseURLVariable: string;
  /** The base URL when neither the `baseURL` option nor the environment gives one. */
  readonly defaultBaseURL: string;
}

const textsSchema = z.array(z.string({ error: 'a string' }), { error: 'an array of strings' });
const embedOptionsSchema = z.strictObject({ dimensions: tokenCountSchema.optional() }, { error: 'an object { dimensions? }' });

/**
 * What `AnthropicBackend` and `OpenAICompatibleBackend` share: options, the concurrency cap, the
 * key check, validation of `placement.config`, and giving each process its `ctx.model`. A
 * subclass speaks its provider's wire protocol through its SDK.
 */
export abstract class ModelBackend<Config extends object> extends ExecutionBackend {
  readonly name: string;
  override readonly concurrencyLimit: number;
  /** The base URL requests go to. */
  readonly baseURL: string;
  readonly #provider: ModelProvider;
  readonly #configSchema: ConfigSchema & z.ZodType<Config>;
  readonly #requestSchema: RequestSchema;
  readonly #defaults: Config;
  readonly #model: string | undefined;
  readonly #className: string;
  readonly #missingKey: string | undefined;
  readonly #keyHint: string;
  /** Seconds; see the `timeout` option. */
  protected readonly timeout: number;
  /** The API key, when one was given or found in the environment. */
  protected readonly apiKey: string | undefined;

  protected constructor(settings: ModelBackendSettings<Config>) {
    super();
    const options = parseModelArgument(modelBackendOptionsSchema, settings.options ?? {}, `${settings.className} options`);
    this.#provider = settings.provider;
    this.#className = settings.className;
    this.name = options.name ?? settings.defaultName;
    this.concurrencyLimit = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.baseURL = options.baseURL ?? (process.env[settings.baseURLVariable] || settings.defaultBaseURL);
    this.#model = options.model;
    this.#configSchema = settings.configSchema;
    this.#requestSchema = requestSchemaFor(settings.configSchema);
    this.#defaults = parseModelArgument(settings.configSchema, options.config ?? {}, `${settings.className} options.config`);
    this.apiKey = options.apiKey ?? (process.env[settings.keyVariable] || undefined);
    this.#keyHint = `pass { apiKey } to new ${settings.className}(...) or set ${settings.keyVariable}`;
    this.#missingKey =
      this.apiKey === undefined && settings.keyRequired(this.baseURL)
        ? `${settings.className} "${this.name}" has no API key: ${this.#keyHint}`
        : undefined;
  }

  /** Opens one streamed chat request; resolves once the response has started. */
  protected abstract openChatStream(request: ChatRequest<Config>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>>;

  /** Sends one embeddings request. */
  protected abstract requestEmbeddings(request: EmbeddingsRequest<Config>, signal: AbortSignal): Promise<Embeddings>;

  /** The SDK's error classes, to tell its failures apart. */
  protected abstract readonly sdkErrors: SdkErrorClasses;

  /** Whether the backend can take work: it can unless it needs an API key and has none (then it throws, saying which). */
  override healthCheck(): boolean {
    if (this.#missingKey !== undefined) throw new Error(this.#missingKey);
    return true;
  }

  /**
   * Runs the process with `ctx.model` bound to the pair's placement. A `placement.config` the
   * backend does not accept fails the process with a `ModelUsageError` before it runs.
   */
  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return defer(() => {
      provideModel(ctx, this.modelFor(ctx));
      return process.execute$(ctx);
    });
  }

  /** The model client for one execution of a process: what `execute` gives it as `ctx.model`. */
  modelFor(ctx: ProcessContext): ModelClient {
    // A run checks the key in healthCheck; a direct call is stopped here, before the SDK looks elsewhere for credentials.
    if (this.#missingKey !== undefined) throw new Error(this.#missingKey);
    const { placement } = ctx;
    const model = placement.model ?? this.#model;
    if (model === undefined) {
      throw new ModelUsageError('placement.model', `a model name (or give new ${this.#className}({ model }) a default)`, undefined, {
        receivedText: `a placement without one (${placement.summary})`,
      });
    }
    // A copy: `placement.config` is frozen, and may come from another realm (a structured clone).
    const placed = parseModelArgument(this.#configSchema, { ...placement.config }, 'placement.config');
    const config = Object.freeze({ ...this.#defaults, ...placed });
    const site: CallSite = {
      backend: this.name,
      provider: this.#provider,
      model,
      baseURL: this.baseURL,
      keyHint: this.#keyHint,
      timeout: this.timeout,
      sdkErrors: this.sdkErrors,
    };
    return new BoundModel(site, config, ctx, this.#requestSchema, {
      openChatStream: (request, signal) => this.openChatStream(request, signal),
      requestEmbeddings: (request, signal) => this.requestEmbeddings(request, signal),
    });
  }
}

/** The provider calls a `BoundModel` makes. */
interface ModelCalls<Config> {
  openChatStream(request: ChatRequest<Config>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>>;
  requestEmbeddings(request: EmbeddingsRequest<Config>, signal: AbortSignal): Promise<Embeddings>;
}

/** `ctx.model`: one execution's model, tied to its context's signal, `emit`, `checkpoint` and `recordUsage`. */
class BoundModel<Config extends object> implements ModelClient {
  readonly #site: CallSite;
  readonly #ctx: ProcessContext;
  readonly #requestSchema: RequestSchema;
  readonly #calls: ModelCalls<Config>;
  readonly config: Readonly<Config>;

  constructor(site: CallSite, config: Readonly<Config>, ctx: ProcessContext, requestSchema: RequestSchema, calls: ModelCalls<Config>) {
    this.#site = site;
    this.#ctx = ctx;
    this.#requestSchema = requestSchema;
    this.#calls = calls;
    this.config = config;
  }

  get backend(): string {
    return this.#site.backend;
  }

  get model(): string {
    return this.#site.model;
  }

  generate(request: string | GenerateRequest): Promise<string> {
    return lastValueFrom(this.stream(request).pipe(reduce((text, piece) => text + piece, '')));
  }

  stream(request: string | GenerateRequest): Observable<string> {
    return defer(() => {
      const chat = this.#chatRequest(request);
      const ctx = this.#ctx;
      let partialText = '';
      return textStream((signal) => this.#calls.openChatStream(chat, signal), {
        signal: ctx.signal,
        idleTimeout: this.#site.timeout * 1000,
        onText: (text) => {
          ctx.emit(text);
          // The text so far is the checkpoint, so a failure for any reason (a broken stream, the deadline, HALT) shows it.
          partialText += text;
          ctx.checkpoint({ partialText });
        },
        usage: new UsageMeter((usage) => ctx.recordUsage(usage)),
        failure: (error, progress) => toModelError(error, this.#site, progress),
      });
    });
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<number[][]> {
    const inputs = parseModelArgument(textsSchema, texts, 'embed(texts)');
    const { dimensions } = parseModelArgument(embedOptionsSchema, options, 'embed(texts, options)');
    const { signal } = this.#ctx;
    if (signal.aborted) throw signal.reason;
    const config = (dimensions === undefined ? this.config : { ...this.config, dimensions }) as Config;
    try {
      const embeddings = await this.#calls.requestEmbeddings({ model: this.model, texts: inputs, config }, signal);
      if (embeddings.usage !== undefined) this.#ctx.recordUsage(embeddings.usage);
      return embeddings.vectors;
    } catch (error) {
      throw signal.aborted ? signal.reason : toModelError(error, this.#site, { opened: false, partialText: '' });
    }
  }

  /** Validates a request against the backend's schema and merges its overrides over the config. */
  #chatRequest(request: string | GenerateRequest): ChatRequest<Config> {
    const given = typeof request === 'string' ? { prompt: request } : request;
    const { system, prompt, messages, ...overrides } = parseModelArgument(this.#requestSchema, given, 'request');
    return { model: this.model, system, messages: messagesOf({ prompt, messages }), config: { ...this.config, ...overrides } };
  }
}
