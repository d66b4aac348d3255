import { UsageError } from '../errors';

/** Which API a model backend speaks: `anthropic`, `openai-compatible`, `ai-sdk`, or a backend of your own's name for its API. */
export type ModelProvider = 'anthropic' | 'openai-compatible' | 'ai-sdk' | (string & {});

/** What every model error carries, for programs to read (and the engine's retry to honour). */
export interface ModelErrorFields {
  /** The backend's name, e.g. `anthropic` or `local`. */
  readonly backend: string;
  readonly provider: ModelProvider;
  /** The model the request was for. */
  readonly model: string;
  /** The HTTP status, when the server answered with one. */
  readonly status?: number;
  /** The API's error type or code, e.g. `rate_limit_error`, `model_not_found`. */
  readonly type?: string;
  /** Whether running the process again may succeed; the retry policy skips errors that say no. */
  readonly retryable: boolean;
  /** Seconds the server asked to wait before the next request (`retry-after`); the retry policy waits at least this long. */
  readonly retryAfter?: number;
  /** The server's request id, for a support ticket. */
  readonly requestId?: string;
  /** The text streamed before the failure (empty when none arrived). */
  readonly partialText?: string;
  readonly cause?: unknown;
}

/**
 * A model API call failed. The subclass says what kind of failure it was; the fields say what a
 * program needs to act on it: `status`, `type`, `retryable`, `retryAfter`, `partialText`.
 *
 * @example
 * ```ts
 * const error = result.failures[0]?.error;
 * if (error instanceof ModelError) console.log(error.status, error.retryable, error.partialText);
 * ```
 */
export class ModelError extends Error {
  readonly backend: string;
  readonly provider: ModelProvider;
  readonly model: string;
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly retryable: boolean;
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;
  readonly partialText: string;

  constructor(message: string, fields: ModelErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
    this.backend = fields.backend;
    this.provider = fields.provider;
    this.model = fields.model;
    this.status = fields.status;
    this.type = fields.type;
    this.retryable = fields.retryable;
    this.retryAfter = fields.retryAfter;
    this.requestId = fields.requestId;
    this.partialText = fields.partialText ?? '';
  }
}

/**
 * HTTP 429, or a rate-limit error event inside a stream: the API's rate limit was hit. Retryable;
 * `retryAfter` says how long the server asked to wait.
 */
export class ModelRateLimitError extends ModelError {}

/** HTTP 5xx (529 overloaded included), 408 or 409, or an overloaded or server error event inside a stream: the server could not serve the request now. Retryable. */
export class ModelServerError extends ModelError {}

/** HTTP 401 or 403, `invalid_api_key`, `insufficient_quota`: the API key is missing, wrong, or may not do this. Not retried; the message says what to fix. */
export class ModelAuthError extends ModelError {}

/** HTTP 404: the model (or the endpoint) does not exist there. Not retried; check `placement.model` and the base URL. */
export class ModelNotFoundError extends ModelError {}

/** HTTP 400, 413, 422 and other 4xx: the server rejected the request as written. Not retried. */
export class ModelBadRequestError extends ModelError {}

/** The server could not be reached, or sent no response in time. Retryable. */
export class ModelConnectionError extends ModelError {}

/**
 * The response stream broke after it started: the connection dropped, it stalled, it ended before
 * the answer was complete, an event was cut off or not valid JSON (all retryable), or the server
 * sent an error event of a kind the classification does not know (final). `partialText` keeps
 * what arrived (it is also the process's last checkpoint, `{ partialText }`). An error event of a
 * known kind is that kind's class instead (`ModelRateLimitError`, `ModelAuthError`, ...).
 */
export class ModelStreamError extends ModelError {}

/**
 * The server answered, but not with the API's answer: an HTML page where an event stream was
 * expected, a JSON body of another shape, an error status the classification does not know. Not
 * retried: it usually means the base URL points at something other than the API.
 *
 * @example
 * ```ts
 * if (error instanceof ModelResponseError) console.log(error.message); // "... answered with an HTML page (text/html) titled "Sign in" ..."
 * ```
 */
export class ModelResponseError extends ModelError {}

/**
 * A model backend was used wrongly: an unknown or mistyped `placement.config` key or request
 * option, a request with neither `prompt` nor `messages`, `modelOf(ctx)` outside a model backend.
 * A `UsageError`, and so final: a retry would fail the same way.
 */
export class ModelUsageError extends UsageError {
  /** The same error as a `ModelUsageError`. */
  static from(error: UsageError): ModelUsageError {
    return new ModelUsageError(error.argument, error.expected, undefined, { receivedText: error.received });
  }
}
