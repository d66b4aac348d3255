import {
  ModelAuthError,
  ModelBadRequestError,
  ModelConnectionError,
  ModelError,
  type ModelErrorFields,
  ModelNotFoundError,
  type ModelProvider,
  ModelRateLimitError,
  ModelServerError,
  ModelStreamError,
} from './errors';

/** The error classes of an SDK (both SDKs export classes of these names). */
export interface SdkErrorClasses {
  readonly APIError: abstract new (...args: never[]) => Error;
  readonly APIConnectionError: abstract new (...args: never[]) => Error;
  readonly APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

/** Where a failed call was going, to say so in the message. */
export interface CallSite {
  readonly backend: string;
  readonly provider: ModelProvider;
  readonly model: string;
  /** The base URL requests go to. */
  readonly baseURL: string;
  /** What to do about a missing or wrong key, e.g. `pass { apiKey } to new AnthropicBackend(...) or set ANTHROPIC_API_KEY`. */
  readonly keyHint: string;
  /** Seconds the backend waits for a response to start, or between two streamed events. */
  readonly timeout: number;
  readonly sdkErrors: SdkErrorClasses;
}

/** How far a call got before it failed. */
export interface CallProgress {
  /** The response had started (a stream was open). */
  readonly opened: boolean;
  /** The text streamed so far. */
  readonly partialText: string;
}

/** The stream sent nothing for the backend's `timeout`. */
export class StreamStalled extends Error {}

/** The stream ended without the provider's end marker (`message_stop`, a `finish_reason`). */
export class StreamIncomplete extends Error {}

/** The shape both SDKs give an HTTP error: the status, the headers and the parsed body. */
interface ApiErrorShape {
  readonly status?: number;
  readonly headers?: Headers;
  readonly error?: unknown;
  readonly requestID?: string | null;
  readonly message: string;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Seconds to wait from `retry-after-ms` (milliseconds), else `retry-after` (seconds, or an HTTP
 * date), else `undefined`.
 *
 * @example
 * ```ts
 * retryAfterSeconds(new Headers({ 'retry-after': '2' }));      // 2
 * retryAfterSeconds(new Headers({ 'retry-after-ms': '250' })); // 0.25
 * ```
 */
export function retryAfterSeconds(headers: Headers | undefined, now: number = Date.now()): number | undefined {
  const milliseconds = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds / 1000;
  const header = headers?.get('retry-after')?.trim();
  if (header === undefined || header === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** The API's own words about an error: its message and its type or code, from either API's body shape. */
function apiDetail(error: ApiErrorShape): { message: string; type: string | undefined } {
  const body = record(error.error);
  // Anthropic: { type: 'error', error: { type, message } }; OpenAI: the SDK keeps { message, type, code, param }.
  const inner = record(body?.['error']) ?? body;
  const message = text(inner?.['message']) ?? error.message;
  const type = text(inner?.['code']) ?? text(inner?.['type']);
  return { message, type };
}

/** `text` ending in a full stop (unless it ends in one, or in `!` or `?`, already). */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trimEnd()) ? text.trimEnd() : `${text.trimEnd()}.`;
}

function describeSite(site: CallSite): string {
  const who = site.provider === 'anthropic' ? 'Anthropic' : `the OpenAI-compatible server at ${site.baseURL}`;
  return `${who} (backend "${site.backend}", model "${site.model}")`;
}

/** What to fix for a permanent HTTP error: the sentence a person needs after the API's own message. */
function fixFor(status: number, site: CallSite): string {
  if (status === 401) return `Check the API key: ${site.keyHint}.`;
  if (status === 403) return `The API key may not use model "${site.model}" or this endpoint: check its permissions.`;
  if (status === 404) return `Check placement.model ("${site.model}"): is it a model this server serves? And check the base URL (${site.baseURL}).`;
  return 'Fix the request: check placement.config and the options given to generate() or stream().';
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

function fromHttpStatus(error: ApiErrorShape, status: number, site: CallSite, progress: CallProgress): ModelError {
  const { message, type } = apiDetail(error);
  const shouldRetry = error.headers?.get('x-should-retry');
  const fields: ModelErrorFields = {
    backend: site.backend,
    provider: site.provider,
    model: site.model,
    status,
    type,
    retryable: shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : isRetryableStatus(status),
    retryAfter: retryAfterSeconds(error.headers),
    requestId: error.requestID ?? undefined,
    partialText: progress.partialText,
    cause: error,
  };
  const said = sentence(`${describeSite(site)} answered ${status}${type === undefined ? '' : ` ${type}`}: ${message}`);
  const wait = fields.retryAfter === undefined ? '' : ` It asked to retry after ${fields.retryAfter} s.`;
  if (status === 429) return new ModelRateLimitError(`${said}${wait}`, fields);
  if (isRetryableStatus(status)) return new ModelServerError(`${said}${wait}`, fields);
  if (status === 401 || status === 403) return new ModelAuthError(`${said} ${fixFor(status, site)}`, fields);
  if (status === 404) return new ModelNotFoundError(`${said} ${fixFor(status, site)}`, fields);
  return new ModelBadRequestError(`${said} ${fixFor(status, site)}`, fields);
}

/** An error event inside a stream says the request is wrong when its type names a client mistake. */
function isClientMistake(type: string | undefined): boolean {
  return type !== undefined && /invalid_request|authentication|permission|not_found/.test(type);
}

/**
 * Turns what an SDK call threw into the `ModelError` of its kind, with the fields a program reads
 * and a message a person can act on. Errors it does not recognise before a response started are
 * returned as they are.
 */
export function toModelError(thrown: unknown, site: CallSite, progress: CallProgress): unknown {
  if (thrown instanceof ModelError) return thrown;
  const base = { backend: site.backend, provider: site.provider, model: site.model, partialText: progress.partialText, cause: thrown };
  const received = progress.partialText === '' ? 'before any text arrived' : `after ${progress.partialText.length} characters of text`;
  if (thrown instanceof StreamStalled && !progress.opened) {
    return new ModelConnectionError(`${describeSite(site)}: no response within ${site.timeout} s.`, { ...base, retryable: true });
  }
  if (thrown instanceof StreamStalled) {
    return new ModelStreamError(`${describeSite(site)}: the stream stalled: nothing arrived for ${site.timeout} s, ${received}.`, { ...base, retryable: true });
  }
  if (thrown instanceof StreamIncomplete) {
    return new ModelStreamError(`${describeSite(site)}: the stream ended ${received}, before the answer was complete (${thrown.message}).`, { ...base, retryable: true });
  }
  const { APIError, APIConnectionError, APIConnectionTimeoutError } = site.sdkErrors;
  if (thrown instanceof APIConnectionTimeoutError) {
    return new ModelConnectionError(`${describeSite(site)}: no response within ${site.timeout} s.`, { ...base, retryable: true });
  }
  if (thrown instanceof APIConnectionError) {
    const cause = record((thrown as { cause?: unknown }).cause);
    const detail = text(cause?.['message']) ?? thrown.message;
    return new ModelConnectionError(`${describeSite(site)}: could not connect to ${site.baseURL} (${detail}). Is the server running, and is the base URL right?`, {
      ...base,
      retryable: true,
    });
  }
  if (thrown instanceof APIError) {
    const apiError = thrown as ApiErrorShape;
    if (typeof apiError.status === 'number') return fromHttpStatus(apiError, apiError.status, site, progress);
    // No status: an error event inside a stream that had started.
    const { message, type } = apiDetail(apiError);
    return new ModelStreamError(sentence(`${describeSite(site)}: the stream broke ${received} with an error event${type === undefined ? '' : ` ${type}`}: ${message}`), {
      ...base,
      type,
      retryable: !isClientMistake(type),
    });
  }
  if (progress.opened) {
    const detail = thrown instanceof Error ? thrown.message : String(thrown);
    return new ModelStreamError(`${describeSite(site)}: the connection dropped mid-stream ${received} (${detail}).`, { ...base, retryable: true });
  }
  return thrown;
}
