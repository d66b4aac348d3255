/**
 * Reads what a server said about an error from its body, whatever shape the server chose: OpenAI's
 * `{ error: { message, type, code } }`, Anthropic's `{ type: 'error', error: { type, message } }`,
 * a gateway's `{ error: { code: 502, message } }`, a web framework's `{ error: 'Not Found', message }`
 * or `{ detail }`, plain text, or an HTML error page.
 */
import type { ErrorSignature } from './classification';
import { fieldsOf } from './jsonFields';

/** The server's own words about an error, and what the classification reads. */
export interface ErrorDetail extends ErrorSignature {
  /** The server's message, as short as it can be said (an HTML page's text, not its markup). */
  readonly message: string | undefined;
  /** Seconds the body asks to wait (`retry_after`, or OpenAI's "try again in 1.5s"). */
  readonly retryAfter: number | undefined;
}

/** The longest message taken from a body, in characters. */
const MAX_MESSAGE = 300;


function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function count(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number >= 0 ? number : undefined;
}

function shorten(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}

/** "Please try again in 1.5s" / "in 20ms" / "after 3 seconds": the wait a message states, in seconds. */
function waitInMessage(message: string | undefined): number | undefined {
  const match = /(?:try again|retry) (?:in|after) (\d+(?:\.\d+)?) ?(ms|milliseconds?|s|sec|seconds?)\b/i.exec(message ?? '');
  if (match === null) return undefined;
  const amount = Number(match[1]);
  return (match[2] ?? 's').toLowerCase().startsWith('m') ? amount / 1000 : amount;
}

function htmlText(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

function element(html: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, 'i').exec(html);
  return match === null ? undefined : text(htmlText(match[1] ?? ''));
}

/** Whether a text is an HTML document or fragment rather than plain text. */
function looksLikeHtml(body: string): boolean {
  return /^\s*(?:<!doctype html|<html\b|<head\b|<body\b)/i.test(body);
}

/** An HTML page's `<title>`, or else its first heading. */
export function pageTitle(html: string): string | undefined {
  return element(html, 'title') ?? element(html, 'h1');
}

/** What an HTML error page says: its preformatted text or heading (Express's `Cannot POST /x`), else its title. */
function htmlMessage(html: string): string | undefined {
  return element(html, 'pre') ?? element(html, 'h1') ?? element(html, 'title') ?? text(htmlText(html));
}

/** The message of a JSON body, taking the first field that holds one. */
function jsonMessage(body: Record<string, unknown>, inner: Record<string, unknown> | undefined): string | undefined {
  if (inner !== undefined) return text(inner['message']) ?? (inner['message'] === undefined ? undefined : JSON.stringify(inner['message']));
  const message = text(body['message']) ?? text(body['detail']) ?? text(body['error_description']);
  const error = text(body['error']);
  if (message !== undefined && error !== undefined && error !== message) return `${error}: ${message}`;
  if (message !== undefined || error !== undefined) return message ?? error;
  return body['detail'] === undefined ? undefined : JSON.stringify(body['detail']);
}

/**
 * What a server said about an error, from its parsed JSON body or its text.
 *
 * @example
 * ```ts
 * readErrorBody({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
 * // { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key', ... }
 * readErrorBody('<html><body><pre>Cannot POST /v2/chat/completions</pre></body></html>');
 * // { message: 'Cannot POST /v2/chat/completions', ... }
 * ```
 */
export function readErrorBody(body: unknown): ErrorDetail {
  if (typeof body === 'string') {
    const message = looksLikeHtml(body) ? htmlMessage(body) : text(body);
    return { message: message === undefined ? undefined : shorten(message), type: undefined, code: undefined, status: undefined, retryAfter: waitInMessage(message) };
  }
  const outer = fieldsOf(body);
  if (outer === undefined) return { message: undefined, type: undefined, code: undefined, status: undefined, retryAfter: undefined };
  const inner = fieldsOf(outer['error']);
  const fields = inner ?? outer;
  const message = jsonMessage(outer, inner);
  const rawCode = fields['code'];
  const type = text(fields['type']);
  return {
    message: message === undefined ? undefined : shorten(message),
    type: type === 'error' ? undefined : type,
    code: typeof rawCode === 'string' ? text(rawCode) : undefined,
    // A gateway's numeric `code` is the status its upstream answered.
    status: typeof rawCode === 'number' ? rawCode : (count(fields['status']) ?? count(fields['statusCode']) ?? count(outer['statusCode'])),
    retryAfter: count(fields['retry_after']) ?? count(fields['retryAfter']) ?? count(fieldsOf(fields['metadata'])?.['retry_after']) ?? waitInMessage(message),
  };
}
