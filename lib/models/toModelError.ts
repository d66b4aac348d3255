import { type ModelErrorKind, classifyModelError } from './classification';
import { type ErrorDetail, readErrorBody } from './errorBody';
import {
  ModelAuthError,
  ModelBadRequestError,
  ModelConnectionError,
  ModelError,
  type ModelErrorFields,
  ModelNotFoundError,
  ModelRateLimitError,
  ModelResponseError,
  ModelServerError,
  ModelStreamError,
} from './errors';

/**
 * What a backend can tell about a call that failed, in terms the shared classification reads. A
 * backend's `describeFailure` turns what its SDK threw into one of these; the rest (the class, the
 * message, `retryable`, `retryAfter`) is worked out the same way for every backend.
 */
export type ModelFailure =
  /** The server answered an error status; `body` is its parsed JSON body, or its text. */
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Headers; readonly body?: unknown; readonly requestId?: string }
  /** An error arrived inside a stream that had started (an error event, or an error part); `body` is what it said. */
  | { readonly kind: 'event'; readonly body: unknown }
  /** The server could not be reached; `detail` says why (`ECONNREFUSED`, a DNS failure). */
  | { readonly kind: 'connection'; readonly detail: string }
  /** No response arrived in time. */
  | { readonly kind: 'timeout' }
  /** The call could not be authenticated before it was sent (no key found); `detail` is the SDK's message. */
  | { readonly kind: 'credentials'; readonly detail: string }
  /** The server answered, but with something that is not the API's answer; `detail` says what it was. */
  | { readonly kind: 'response'; readonly detail: string };

/** Where a failed call was going, to say so in the message. */
export interface CallSite {
  readonly backend: string;
  readonly provider: string;
  readonly model: string;
  /** Who answered, for messages: `Anthropic`, `the OpenAI-compatible server at http://…`. */
  readonly server: string;
  /** The base URL requests go to, when the backend has one. */
  readonly baseURL: string | undefined;
  /** What to do about a missing or wrong key, e.g. `pass { apiKey } to new AnthropicBackend(...) or set ANTHROPIC_API_KEY`. */
  readonly keyHint: string;
  /** Seconds the backend waits for a response to start, or between two streamed events. */
  readonly timeout: number;
  /** The backend's reading of what its SDK threw. */
  readonly describe: (thrown: unknown) => ModelFailure | undefined;
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

/** The stream ended without the provider's end marker (`message_stop`, `[DONE]`, a `finish_reason`). */
export class StreamIncomplete extends Error {}

/** An event whose data is not valid JSON: cut off by the end of the body (`unterminated`), or malformed. */
export class MalformedEvent extends Error {
  constructor(
    readonly data: string,
    readonly unterminated: boolean,
  ) {
    super(unterminated ? 'the stream ended inside an event' : 'an event that is not valid JSON');
  }
}

/** An error event inside a stream, or an error body where an answer was expected. */
export class ErrorEventReceived extends Error {
  constructor(readonly body: unknown) {
    super('the server sent an error event');
  }
}

/** The server answered with something that is not the API's answer (an HTML page, a JSON body of another shape). */
export class UnexpectedResponse extends Error {}

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

/** `text` ending in a full stop (unless it ends in one, or in `!` or `?`, already). */
function sentence(text: string): string {
  return /[.!?]$/.test(text.trimEnd()) ? text.trimEnd() : `${text.trimEnd()}.`;
}

function describeSite(site: CallSite): string {
  return `${site.server} (backend "${site.backend}", model "${site.model}")`;
}

/** What to fix for a final error: the sentence a person needs after the server's own message. */
function fixFor(kind: ModelErrorKind | undefined, detail: ErrorDetail, site: CallSite): string {
  const where = site.baseURL === undefined ? '' : ` And check the base URL (${site.baseURL}).`;
  if (detail.code === 'insufficient_quota') return "The account behind the API key has no quota left: check its plan and billing.";
  if (kind === 'auth' && detail.status !== 403 && detail.type !== 'permission_error') return `Check the API key: ${site.keyHint}.`;
  if (kind === 'auth') return `The API key may not use model "${site.model}" or this endpoint: check its permissions.`;
  if (kind === 'notFound') return `Check placement.model ("${site.model}"): is it a model this server serves?${where}`;
  if (kind === 'badRequest') return 'Fix the request: check placement.config and the options given to generate() or stream().';
  return `The error is not one this backend knows, so it is not retried.${where}`;
}

const CLASSES = {
  rateLimit: ModelRateLimitError,
  server: ModelServerError,
  auth: ModelAuthError,
  notFound: ModelNotFoundError,
  badRequest: ModelBadRequestError,
} as const satisfies Record<ModelErrorKind, typeof ModelError>;

/** The class, fields and message of a failure the server described: an error status, or an error event in a stream. */
function fromServer(failure: Extract<ModelFailure, { kind: 'status' | 'event' }>, site: CallSite, progress: CallProgress, base: Omit<ModelErrorFields, 'retryable'>): ModelError {
  const read = readErrorBody(failure.body);
  const status = failure.kind === 'status' ? failure.status : read.status;
  const detail: ErrorDetail = { ...read, status };
  const headers = failure.kind === 'status' ? failure.headers : undefined;
  const { kind, retryable: tableSays } = classifyModelError(detail);
  const shouldRetry = headers?.get('x-should-retry');
  const retryable = shouldRetry === 'true' ? true : shouldRetry === 'false' ? false : tableSays;
  const fields: ModelErrorFields = {
    ...base,
    status,
    type: detail.code ?? detail.type,
    retryable,
    retryAfter: retryAfterSeconds(headers) ?? (retryable ? detail.retryAfter : undefined),
    requestId: failure.kind === 'status' ? failure.requestId : undefined,
  };
  const name = fields.type === undefined ? '' : ` ${fields.type}`;
  const said = detail.message === undefined ? '' : `: ${detail.message}`;
  const received = progress.partialText === '' ? 'before any text arrived' : `after ${progress.partialText.length} characters of text`;
  const what =
    failure.kind === 'status'
      ? sentence(`${describeSite(site)} answered ${status}${name}${said}`)
      : sentence(`${describeSite(site)}: the stream broke ${received} with an error event${status === undefined ? '' : ` (${status})`}${name}${said}`);
  const next = retryable ? (fields.retryAfter === undefined ? '' : ` It asked to retry after ${fields.retryAfter} s.`) : ` ${fixFor(kind, detail, site)}`;
  if (kind !== undefined) return new CLASSES[kind](`${what}${next}`, fields);
  return failure.kind === 'status' ? new ModelResponseError(`${what}${next}`, fields) : new ModelStreamError(`${what}${next}`, fields);
}

/**
 * Turns what a call threw into the `ModelError` of its kind, with the fields a program reads and a
 * message a person can act on. Errors it does not recognise before a response started are
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
  if (thrown instanceof MalformedEvent) {
    const shown = thrown.data.length > 80 ? `${thrown.data.slice(0, 79)}…` : thrown.data;
    const what = thrown.unterminated ? 'the stream ended inside an event, which was cut off' : 'an event was not valid JSON';
    return new ModelStreamError(`${describeSite(site)}: ${what} ${received}: ${shown}`, { ...base, retryable: true });
  }
  if (thrown instanceof UnexpectedResponse) return fromFailure({ kind: 'response', detail: thrown.message }, site, progress, base);
  if (thrown instanceof ErrorEventReceived) return fromFailure({ kind: 'event', body: thrown.body }, site, progress, base);
  const failure = site.describe(thrown);
  if (failure !== undefined) return fromFailure(failure, site, progress, base);
  if (progress.opened) {
    const detail = thrown instanceof Error ? thrown.message : String(thrown);
    return new ModelStreamError(`${describeSite(site)}: the connection dropped mid-stream ${received} (${detail}).`, { ...base, retryable: true });
  }
  return thrown;
}

function fromFailure(failure: ModelFailure, site: CallSite, progress: CallProgress, base: Omit<ModelErrorFields, 'retryable'>): ModelError {
  switch (failure.kind) {
    case 'status':
    case 'event':
      return fromServer(failure, site, progress, base);
    case 'timeout':
      return new ModelConnectionError(`${describeSite(site)}: no response within ${site.timeout} s.`, { ...base, retryable: true });
    case 'credentials':
      return new ModelAuthError(`${describeSite(site)}: ${sentence(failure.detail)} Check the API key: ${site.keyHint}.`, { ...base, retryable: false });
    case 'connection': {
      const where = site.baseURL === undefined ? '' : ` to ${site.baseURL}`;
      const check = site.baseURL === undefined ? 'Is the server running?' : 'Is the server running, and is the base URL right?';
      return new ModelConnectionError(`${describeSite(site)}: could not connect${where} (${failure.detail}). ${check}`, { ...base, retryable: true });
    }
    case 'response': {
      const check = site.baseURL === undefined ? 'Check where the model is served.' : `Check the base URL (${site.baseURL}): it may point at something other than the API.`;
      return new ModelResponseError(`${describeSite(site)} answered with ${failure.detail}, where the API's answer was expected. ${check}`, { ...base, retryable: false });
    }
  }
}
