/**
 * The one table that says what a model API's error means: from the HTTP status, the API's error
 * type and its error code to the kind of `ModelError` and whether running again may help. Every
 * backend (Anthropic, OpenAI-compatible, the AI SDK, yours) and every place an error comes from (an
 * HTTP status, an error event inside a stream, a gateway's own shape) goes through it, so the same
 * failure is the same class with the same `retryable` everywhere.
 */

/** What kind of failure an error is; each kind is one `ModelError` subclass. */
export type ModelErrorKind = 'rateLimit' | 'server' | 'auth' | 'notFound' | 'badRequest';

/** What is known of an error: any of its HTTP status (or a gateway's numeric code), its type and its code. */
export interface ErrorSignature {
  readonly status?: number;
  readonly type?: string;
  readonly code?: string;
}

/** One row: what it matches, and what a match means. */
export interface ClassificationRow {
  /** An exact status, or an inclusive range `[from, to]`. */
  readonly status?: number | readonly [number, number];
  readonly type?: string;
  readonly code?: string;
  readonly kind: ModelErrorKind;
  readonly retryable: boolean;
}

/** What the table says about an error; `kind` is `undefined` when no row matched. */
export interface Classification {
  readonly kind: ModelErrorKind | undefined;
  readonly retryable: boolean;
}

/**
 * The rows, looked up in three passes: the error code first (the most specific: `invalid_api_key`
 * is final even in a 429 or inside a stream), then the status, then the error type (what an error
 * event inside a stream has instead of a status). The first row that matches wins.
 *
 * @example
 * ```ts
 * MODEL_ERROR_TABLE.filter((row) => row.kind === 'rateLimit'); // what counts as a rate limit
 * ```
 */
export const MODEL_ERROR_TABLE: readonly ClassificationRow[] = [
  // Codes (OpenAI and the servers and gateways that copy its shape).
  { code: 'invalid_api_key', kind: 'auth', retryable: false },
  { code: 'insufficient_quota', kind: 'auth', retryable: false },
  { code: 'model_not_found', kind: 'notFound', retryable: false },
  { code: 'unknown_url', kind: 'notFound', retryable: false },
  { code: 'context_length_exceeded', kind: 'badRequest', retryable: false },
  { code: 'rate_limit_exceeded', kind: 'rateLimit', retryable: true },
  // Statuses.
  { status: 429, kind: 'rateLimit', retryable: true },
  { status: 408, kind: 'server', retryable: true },
  { status: 409, kind: 'server', retryable: true },
  { status: [500, 599], kind: 'server', retryable: true },
  { status: 401, kind: 'auth', retryable: false },
  { status: 403, kind: 'auth', retryable: false },
  { status: 404, kind: 'notFound', retryable: false },
  { status: [400, 499], kind: 'badRequest', retryable: false },
  // Types (Anthropic's, OpenAI's, and common gateway ones), for errors without a status.
  { type: 'rate_limit_error', kind: 'rateLimit', retryable: true },
  { type: 'rate_limit_exceeded', kind: 'rateLimit', retryable: true },
  { type: 'requests', kind: 'rateLimit', retryable: true },
  { type: 'tokens', kind: 'rateLimit', retryable: true },
  { type: 'overloaded_error', kind: 'server', retryable: true },
  { type: 'api_error', kind: 'server', retryable: true },
  { type: 'server_error', kind: 'server', retryable: true },
  { type: 'internal_server_error', kind: 'server', retryable: true },
  { type: 'service_unavailable', kind: 'server', retryable: true },
  { type: 'timeout_error', kind: 'server', retryable: true },
  { type: 'authentication_error', kind: 'auth', retryable: false },
  { type: 'permission_error', kind: 'auth', retryable: false },
  { type: 'billing_error', kind: 'auth', retryable: false },
  { type: 'not_found_error', kind: 'notFound', retryable: false },
  { type: 'invalid_request_error', kind: 'badRequest', retryable: false },
  { type: 'request_too_large', kind: 'badRequest', retryable: false },
];

function statusMatches(row: ClassificationRow, status: number): boolean {
  if (row.status === undefined) return false;
  if (typeof row.status === 'number') return row.status === status;
  return status >= row.status[0] && status <= row.status[1];
}

/**
 * What `MODEL_ERROR_TABLE` says about an error. What it does not recognise is final, unless its
 * status is 5xx, 429 or 408 (which the table's status rows already hold): an unknown error shape
 * must never be retried by default.
 *
 * @example
 * ```ts
 * classifyModelError({ type: 'invalid_request_error', code: 'invalid_api_key' }); // { kind: 'auth', retryable: false }
 * classifyModelError({ status: 503 });                                           // { kind: 'server', retryable: true }
 * classifyModelError({ type: 'something_new' });                                 // { kind: undefined, retryable: false }
 * ```
 */
export function classifyModelError(signature: ErrorSignature): Classification {
  const { status, type, code } = signature;
  const row =
    (code === undefined ? undefined : MODEL_ERROR_TABLE.find((candidate) => candidate.code === code)) ??
    (status === undefined ? undefined : MODEL_ERROR_TABLE.find((candidate) => statusMatches(candidate, status))) ??
    (type === undefined ? undefined : MODEL_ERROR_TABLE.find((candidate) => candidate.type === type));
  return row === undefined ? { kind: undefined, retryable: false } : { kind: row.kind, retryable: row.retryable };
}
