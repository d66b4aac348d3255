/**
 * Reads the body of a streamed chat request, whatever the server sent: an event stream (the usual
 * case), a whole JSON answer (a server that ignores `stream: true`), an error body, or an HTML page
 * (a base URL that points at a web page). The backend's decoder says what each event of its API
 * means; what every API shares — `[DONE]`, error events, events cut off or not valid JSON — is here.
 */
import { pageTitle } from './errorBody';
import { serverSentEvents } from './serverSentEvents';
import type { StreamStep } from './textStream';
import { ErrorEventReceived, MalformedEvent, UnexpectedResponse } from './toModelError';
import { fieldsOf } from './jsonFields';

/** What a backend knows of its API's stream. */
export interface ResponseDecoder {
  /** What one event says (`name` is its `event:` field). Error events never reach it. */
  event(data: unknown, name: string | undefined): StreamStep;
  /** What a whole JSON answer says, or `undefined` when the body is not an answer of this API. */
  answer(body: unknown): StreamStep | undefined;
}


/** Whether parsed data is an error rather than an answer: `{ error: ... }` (OpenAI, gateways) or `{ type: 'error' }` (Anthropic). */
function isError(data: unknown): boolean {
  const fields = fieldsOf(data);
  return fields !== undefined && ((fields['error'] !== undefined && fields['error'] !== null) || fields['type'] === 'error');
}

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/**
 * The steps of a streamed response. Ends after `[DONE]`; throws `ErrorEventReceived` for an error
 * event or body, `MalformedEvent` for an event that is not JSON, and `UnexpectedResponse` for a
 * body that is not the API's.
 *
 * @example
 * ```ts
 * const response = await client.chat.completions.create({ ...request, stream: true }).asResponse();
 * for await (const step of responseSteps(response, openAIDecoder)) if (step.text) ctx.emit(step.text);
 * ```
 */
export async function* responseSteps(response: Response, decoder: ResponseDecoder): AsyncGenerator<StreamStep> {
  const contentType = response.headers.get('content-type') ?? '';
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === 'text/html' || mediaType === 'application/xhtml+xml') {
    const title = pageTitle(await response.text());
    throw new UnexpectedResponse(`an HTML page (${contentType})${title === undefined ? '' : ` titled "${title}"`}`);
  }
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new UnexpectedResponse(`a ${mediaType} body that is not valid JSON (${excerpt(text)})`);
    }
    if (isError(body)) throw new ErrorEventReceived(body);
    const step = decoder.answer(body);
    if (step === undefined) throw new UnexpectedResponse(`a JSON body that is not an answer (${excerpt(text)})`);
    yield step;
    return;
  }
  if (response.body === null) return;
  for await (const { event, data, unterminated } of serverSentEvents(response.body)) {
    if (data.trim() === '[DONE]') {
      yield { finished: true };
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      throw new MalformedEvent(data, unterminated);
    }
    if (event === 'error' || isError(parsed)) throw new ErrorEventReceived(parsed);
    yield decoder.event(parsed, event);
  }
}
