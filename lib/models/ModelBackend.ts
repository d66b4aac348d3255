import { type Observable, defer, lastValueFrom, reduce } from 'rxjs';
import { z } from 'zod';
import { ExecutionBackend } from '../backends/ExecutionBackend';
import { EXPECTED_TOKENS_KEY, type RateLimit, rateLimitSchema } from '../backends/rateLimit';
import type { Process } from '../process/Process';
import type { ProcessContext } from '../process/ProcessContext';
import type { ProcessResult } from '../process/ProcessResult';
import { UsageError } from '../errors';
import { concurrencyLimitOf, concurrencyLimitShape } from '../validation/concurrencyLimit';
import { nameSchema } from '../validation/schemas';
import { type ModelProvider, ModelUsageError } from './errors';
import { type EmbedOptions, type GenerateRequest, type ModelClient, provideModel } from './ModelClient';
import { type ChatMessage, type ConfigSchema, type RequestSchema, messagesOf, parseModelArgument, refuseWireNames, requestSchemaFor, snakeCase, tokenCountSchema } from './request';
import type { TokenUsage } from '../process/usage';
import { type StreamStep, UsageMeter, textStream } from './textStream';
import { type CallSite, type ModelFailure, toModelError } from './toModelError';
import { modelCall } from '../telemetry/modelCall';
import { subclassDefines } from '../backends/subclassDefines';

/** Seconds a backend waits, by default, for a response to start or for the next streamed event. */
const DEFAULT_TIMEOUT = 120;
/** The longest `timeout`, in seconds: a larger number is almost surely milliseconds. */
const MAX_TIMEOUT = 3600;
/** Processes a model backend runs at once, by default: polite to a rate limit or a local server's slots. */
const DEFAULT_CONCURRENCY = 4;

const timeoutSchema = z
  .number({ error: 'a number of seconds > 0' })
  .positive({ error: 'a number of seconds > 0' })
  .max(MAX_TIMEOUT, {
    error: (issue) => `a number of seconds from 0 to ${MAX_TIMEOUT} (seconds, not milliseconds: ${String(issue.input)} ms would be ${Number(issue.input) / 1000})`,
  });

const baseURLSchema = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

/**
 * @internal The options every model backend takes after its name and model (the cap, the timeout, the
 * rate and the request config), spread by each backend's schema after the keys of its own, so that a
 * new one is added here once.
 */
export const limitsAndConfigShape = {
  ...concurrencyLimitShape,
  /** Seconds to wait for a response to start, and between two streamed events, before failing (at most 3600). */
  timeout: timeoutSchema.optional(),
  /** How fast processes may start on this backend, across every run (default: none; see `RateLimit`). */
  rateLimit: rateLimitSchema.optional(),
  /** Whether a 429's `retry-after` pauses new starts on this backend for every run (default `true`). */
  pauseOnRateLimit: z.boolean({ error: 'a boolean' }).optional(),
  /** Request options every placement starts from (the same keys as `placement.config`). */
  config: z.record(z.string(), z.unknown(), { error: 'an object of request options' }).optional(),
};

/** @internal The options every model backend takes, for a backend that checks options of its own beside them. */
export const commonOptionsShape = {
  /** The backend's name in events, results and failures. */
  name: nameSchema.optional(),
  /** The model for placements that name none. */
  model: nameSchema.optional(),
  ...limitsAndConfigShape,
};

/** The options of a model backend without a connection of its own (the AI SDK's provider has it). */
const modelBackendOptionsSchema = z.strictObject(commonOptionsShape, { error: 'an object { name?, model?, concurrencyLimit?, timeout?, rateLimit?, pauseOnRateLimit?, config? }' });

/** The options of a model backend that talks to an API over HTTP: the common ones, and its key and base URL. */
const connectedOptionsSchema = z.strictObject(
  {
    name: commonOptionsShape.name,
    /** The API key; default: the provider's environment variable. */
    apiKey: z.string({ error: 'a non-empty string' }).min(1, { error: 'a non-empty string' }).optional(),
    /** Where requests go: the API's own URL by default. */
    baseURL: baseURLSchema.optional(),
    model: commonOptionsShape.model,
    ...limitsAndConfigShape,
  },
  { error: 'an object { name?, apiKey?, baseURL?, model?, concurrencyLimit?, timeout?, rateLimit?, pauseOnRateLimit?, config? }' },
);

/** Options of a model backend whose `placement.config` is `Config`: `name`, `model`, `concurrencyLimit` (`concurrency` is its deprecated alias), `timeout`, `config`, and for one with a `connection`, `apiKey` and `baseURL`. */
export type ModelBackendOptions<Config> = Omit<z.input<typeof connectedOptionsSchema>, 'config'> & {
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

/** How a backend that talks to an API over HTTP finds its key and base URL. */
export interface ModelConnection {
  /** The environment variable that holds the key, e.g. `ANTHROPIC_API_KEY`. */
  readonly keyVariable: string;
  /** Whether requests to `baseURL` need a key (an OpenAI-compatible server of your own may not). */
  readonly keyRequired: (baseURL: string) => boolean;
  /** The environment variable that may hold the base URL, e.g. `ANTHROPIC_BASE_URL`. */
  readonly baseURLVariable: string;
  /** The base URL when neither the `baseURL` option nor the environment gives one. */
  readonly defaultBaseURL: string;
}

/** How a backend subclass describes itself to the shared machinery. */
export interface ModelBackendSettings<Config> {
  /** The API it speaks, in `ModelError.provider`: `anthropic`, `openai-compatible`, or your own name. */
  readonly provider: ModelProvider;
  /** The constructor's name, for error messages: `AnthropicBackend`. */
  readonly className: string;
  /** The backend's name when the options give none. */
  readonly defaultName: string;
  /** The options as given, to be validated here (see `ModelBackendOptions`). */
  readonly options: unknown;
  /** The schema of `placement.config`: a `z.strictObject` whose keys are the request options. */
  readonly configSchema: ConfigSchema & z.ZodType<Config>;
  /**
   * Each config key's name in the API's own request (`maxTokens: 'max_tokens'`), so that a key
   * written the API's way is refused with the name to use instead.
   */
  readonly wireNames?: Readonly<Record<string, string>>;
  /** For a backend that talks HTTP to an API: enables the `apiKey` and `baseURL` options and the key check. */
  readonly connection?: ModelConnection;
}

const textsSchema = z.array(z.string({ error: 'a string' }), { error: 'an array of strings' });
const embedOptionsSchema = z.strictObject({ dimensions: tokenCountSchema.optional() }, { error: 'an object { dimensions? }' });

/** The cap of the options, a conflict of its two names a `ModelUsageError` as every other bad model option. */
function concurrencyLimitOfModel(options: Parameters<typeof concurrencyLimitOf>[0], argument: string): number | undefined {
  try {
    return concurrencyLimitOf(options, argument);
  } catch (error) {
    throw error instanceof UsageError ? ModelUsageError.from(error) : error;
  }
}

/** The base URL from the environment, checked as the `baseURL` option is. */
function baseURLFromEnvironment(variable: string): string | undefined {
  const value = process.env[variable];
  if (value === undefined || value === '') return undefined;
  return parseModelArgument(baseURLSchema, value, variable);
}

/**
 * The base of every model backend, and the extension point for a new provider: it holds the
 * options, the concurrency cap, the key check, validation of `placement.config`, and gives each
 * process its `ctx.model`, with streaming as `partial` events, usage, cancellation and error
 * classification done once for all. A subclass says how to talk to its API: `openChatStream`
 * (one streamed chat request, as `StreamStep`s), `requestEmbeddings`, and `describeFailure`
 * (what its SDK's errors mean, as a `ModelFailure`).
 *
 * @example
 * ```ts
 * class EchoBackend extends ModelBackend<{ maxTokens?: number }> {
 *   constructor(options: ModelBackendOptions<{ maxTokens?: number }> = {}) {
 *     super({ provider: 'echo', className: 'EchoBackend', defaultName: 'echo', options, configSchema: z.strictObject({ maxTokens: z.number().optional() }) });
 *   }
 *   protected async openChatStream(request: ChatRequest<{ maxTokens?: number }>): Promise<AsyncIterable<StreamStep>> {
 *     return [{ text: request.messages.at(-1)?.content ?? '' }, { finished: true }];
 *   }
 *   protected async requestEmbeddings(): Promise<Embeddings> {
 *     throw new Error('EchoBackend has no embeddings');
 *   }
 * }
 * ```
 */
export abstract class ModelBackend<Config extends object> extends ExecutionBackend {
  // These four are declared, not defined: a field would hide a subclass's getter (the seed's
  // `@property`). The constructor sets each from the options unless a subclass defines it.
  declare readonly name: string;
  declare readonly concurrencyLimit: number;
  /**
   * The `rateLimit` option: none by default, since a provider's limits depend on the account's tier
   * (Anthropic's tier 1 allows 50 requests a minute, higher tiers thousands); the 429 pause below
   * adapts to whatever the account allows. A request here is a process started on the backend.
   */
  declare readonly rateLimit: RateLimit | undefined;
  /** On by default: a 429's `retry-after` pauses new starts for every run, so 30 queued calls do not all get 429s too. */
  declare readonly pauseOnRateLimit: boolean;
  /** The base URL requests go to, for a backend with a connection. */
  readonly baseURL: string | undefined;
  readonly #provider: ModelProvider;
  readonly #configSchema: ConfigSchema & z.ZodType<Config>;
  readonly #requestSchema: RequestSchema;
  readonly #defaults: Config;
  readonly #model: string | undefined;
  readonly #className: string;
  readonly #wireNames: Readonly<Record<string, string>>;
  readonly #missingKey: string | undefined;
  readonly #keyHint: string;
  /** Seconds; see the `timeout` option. */
  protected readonly timeout: number;
  /** The API key, when one was given or found in the environment. */
  protected readonly apiKey: string | undefined;

  protected constructor(settings: ModelBackendSettings<Config>) {
    super();
    const { connection, className } = settings;
    const schema = connection === undefined ? modelBackendOptionsSchema : connectedOptionsSchema;
    const options: z.output<typeof connectedOptionsSchema> = parseModelArgument(schema, settings.options ?? {}, `${className} options`);
    this.#provider = settings.provider;
    this.#className = className;
    this.#wireNames = { ...Object.fromEntries(Object.keys(settings.configSchema.shape).map((key) => [key, snakeCase(key)])), ...settings.wireNames };
    const name = options.name ?? settings.defaultName;
    const concurrencyLimit = concurrencyLimitOfModel(options, `${className} options`) ?? DEFAULT_CONCURRENCY;
    if (!subclassDefines(this, ModelBackend, 'name')) this.name = name;
    if (!subclassDefines(this, ModelBackend, 'concurrencyLimit')) this.concurrencyLimit = concurrencyLimit;
    if (!subclassDefines(this, ModelBackend, 'rateLimit')) this.rateLimit = options.rateLimit;
    if (!subclassDefines(this, ModelBackend, 'pauseOnRateLimit')) this.pauseOnRateLimit = options.pauseOnRateLimit ?? true;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT;
    this.#model = options.model;
    this.#configSchema = settings.configSchema;
    this.#requestSchema = requestSchemaFor(settings.configSchema);
    this.#defaults = this.#parseConfig(options.config ?? {}, `${className} options.config`);
    if (connection === undefined) {
      this.baseURL = undefined;
      this.apiKey = undefined;
      this.#keyHint = `check the credentials of the model given to new ${className}(...)`;
      this.#missingKey = undefined;
      return;
    }
    this.baseURL = options.baseURL ?? baseURLFromEnvironment(connection.baseURLVariable) ?? connection.defaultBaseURL;
    this.apiKey = options.apiKey ?? (process.env[connection.keyVariable] || undefined);
    this.#keyHint = `pass { apiKey } to new ${className}(...) or set ${connection.keyVariable}`;
    this.#missingKey =
      this.apiKey === undefined && connection.keyRequired(this.baseURL) ? `${className} "${name}" has no API key: ${this.#keyHint}` : undefined;
  }

  /**
   * Opens one streamed chat request; resolves once the response has started. Each step may carry a
   * piece of text, the usage so far, and whether the answer is complete: a stream that ends before
   * a step says `finished` is reported as broken. Pass `signal` to the request: it aborts when the
   * process is cancelled, the stream stalls, or its reader stops early.
   */
  protected abstract openChatStream(request: ChatRequest<Config>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>>;

  /** Sends one embeddings request. */
  protected abstract requestEmbeddings(request: EmbeddingsRequest<Config>, signal: AbortSignal): Promise<Embeddings>;

  /**
   * What a thrown error means, as a `ModelFailure` (an error status, an error event, a failed
   * connection, a timeout, an answer that is not the API's), for the shared classification; or
   * `undefined` for an error this backend does not recognise. The default recognises none.
   */
  protected describeFailure(thrown: unknown): ModelFailure | undefined {
    void thrown;
    return undefined;
  }

  /** Who answers, for error messages: `Anthropic`, `the OpenAI-compatible server at http://…`. */
  protected get server(): string {
    return this.baseURL === undefined ? `${this.#className} "${this.name}"` : `the server at ${this.baseURL}`;
  }

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
    // `expectedTokens` is the engine's (the rate limit's), not a request option.
    const { [EXPECTED_TOKENS_KEY]: _expected, ...requestConfig } = { ...placement.config };
    const placed = this.#parseConfig(requestConfig, 'placement.config');
    const config = Object.freeze({ ...this.#defaults, ...placed });
    const site: CallSite = {
      backend: this.name,
      provider: this.#provider,
      model,
      server: this.server,
      baseURL: this.baseURL,
      keyHint: this.#keyHint,
      timeout: this.timeout,
      describe: (thrown) => this.describeFailure(thrown),
    };
    return new BoundModel(site, config, ctx, (request, argument) => this.#parseRequest(request, argument), {
      openChatStream: (request, signal) => this.openChatStream(request, signal),
      requestEmbeddings: (request, signal) => this.requestEmbeddings(request, signal),
    });
  }

  #parseConfig(value: unknown, argument: string): Config {
    refuseWireNames(value, this.#wireNames, argument);
    return parseModelArgument(this.#configSchema, value, argument);
  }

  #parseRequest(value: unknown, argument: string): z.output<RequestSchema> {
    refuseWireNames(value, this.#wireNames, argument);
    return parseModelArgument(this.#requestSchema, value, argument);
  }
}

/** Validates a `generate` / `stream` request. */
type RequestParser = (request: unknown, argument: string) => z.output<RequestSchema>;

/** The provider calls a `BoundModel` makes. */
interface ModelCalls<Config> {
  openChatStream(request: ChatRequest<Config>, signal: AbortSignal): Promise<AsyncIterable<StreamStep>>;
  requestEmbeddings(request: EmbeddingsRequest<Config>, signal: AbortSignal): Promise<Embeddings>;
}

/** `ctx.model`: one execution's model, tied to its context's signal, `emit`, `checkpoint` and `recordUsage`. */
class BoundModel<Config extends object> implements ModelClient {
  readonly #site: CallSite;
  readonly #ctx: ProcessContext;
  readonly #parseRequest: RequestParser;
  readonly #calls: ModelCalls<Config>;
  readonly config: Readonly<Config>;

  constructor(site: CallSite, config: Readonly<Config>, ctx: ProcessContext, parseRequest: RequestParser, calls: ModelCalls<Config>) {
    this.#site = site;
    this.#ctx = ctx;
    this.#parseRequest = parseRequest;
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
      // The request's span (lib/telemetry), when traced.
      const call = modelCall({ operation: 'chat', model: chat.model, provider: this.#site.provider, backend: this.#site.backend });
      let partialText = '';
      const text$ = textStream((signal) => this.#calls.openChatStream(chat, signal), {
        signal: ctx.signal,
        idleTimeout: this.#site.timeout * 1000,
        onText: (text) => {
          ctx.emit(text);
          // The text so far is the checkpoint, so a failure for any reason (a broken stream, the deadline, HALT) shows it.
          partialText += text;
          ctx.checkpoint({ partialText });
        },
        usage: new UsageMeter((usage) => {
          ctx.recordUsage(usage);
          call?.usage(usage);
        }),
        failure: (error, progress) => toModelError(error, this.#site, progress),
      });
      return call === undefined ? text$ : call.traced(text$);
    });
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<number[][]> {
    const inputs = parseModelArgument(textsSchema, texts, 'embed(texts)');
    const { dimensions } = parseModelArgument(embedOptionsSchema, options, 'embed(texts, options)');
    const { signal } = this.#ctx;
    if (signal.aborted) throw signal.reason;
    const config = (dimensions === undefined ? this.config : { ...this.config, dimensions }) as Config;
    try {
      const call = modelCall({ operation: 'embeddings', model: this.model, provider: this.#site.provider, backend: this.#site.backend });
      const request = (): Promise<Embeddings> => this.#calls.requestEmbeddings({ model: this.model, texts: inputs, config }, signal);
      const embeddings = await (call === undefined ? request() : call.tracedPromise(request, (answer) => answer.usage));
      if (embeddings.usage !== undefined) this.#ctx.recordUsage(embeddings.usage);
      return embeddings.vectors;
    } catch (error) {
      throw signal.aborted ? signal.reason : toModelError(error, this.#site, { opened: false, partialText: '' });
    }
  }

  /** Validates a request against the backend's schema and merges its overrides over the config. */
  #chatRequest(request: string | GenerateRequest): ChatRequest<Config> {
    const given = typeof request === 'string' ? { prompt: request } : request;
    const { system, prompt, messages, ...overrides } = this.#parseRequest(given, 'request');
    return { model: this.model, system, messages: messagesOf({ prompt, messages }), config: { ...this.config, ...overrides } };
  }
}
