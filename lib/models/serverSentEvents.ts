/**
 * The events of a `text/event-stream` body, as the HTML standard's parser reads them: `event:` and
 * `data:` fields, data lines joined with `\n`, comments and other fields skipped, an event sent at
 * each blank line. Unlike that parser, an event the body ends inside is not dropped silently: it is
 * given with `unterminated: true`, so a caller can tell a stream that was cut off mid-event.
 */

/** One event of an SSE stream. */
export interface ServerSentEvent {
  /** The `event:` field, when the event had one. */
  readonly event: string | undefined;
  /** The `data:` lines, joined with `\n`. */
  readonly data: string;
  /** The body ended before the blank line that closes this event. */
  readonly unterminated: boolean;
}

const LINE_END = /\r\n|\r|\n/;

/**
 * Reads `body` as server-sent events. Leaving the loop early cancels the body.
 *
 * @example
 * ```ts
 * for await (const { event, data } of serverSentEvents(response.body)) if (data !== '[DONE]') console.log(event, JSON.parse(data));
 * ```
 */
export async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | undefined;
  let data: string[] = [];
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const match = LINE_END.exec(buffer);
        // A `\r` at the end of what has arrived may be the first half of `\r\n`.
        if (match === null || (!done && match[0] === '\r' && match.index === buffer.length - 1)) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0) yield { event, data: data.join('\n'), unterminated: false };
          event = undefined;
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(fieldValue);
        else if (field === 'event') event = fieldValue;
      }
      if (done) break;
    }
    if (buffer !== '' && buffer.startsWith('data:')) data.push(buffer.slice(5).replace(/^ /, ''));
    if (data.length > 0) yield { event, data: data.join('\n'), unterminated: true };
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
