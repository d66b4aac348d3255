import type { Observable } from 'rxjs';
import type { ParEvent } from '../par/events';
import { SERVER_SENT_EVENTS_HEADERS, type ServerSentEventsOptions, toServerSentEvents } from './toServerSentEvents';

/**
 * The part of Node's `http.ServerResponse` that an event stream uses, written structurally so
 * that this module imports nothing from Node (an `http2` or a framework's response with these
 * members works as well).
 *
 * @example
 * ```ts
 * const response: ServerResponseLike = nodeResponse; // an http.ServerResponse fits
 * ```
 */
export interface ServerResponseLike {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  flushHeaders?(): void;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  once(event: 'close' | 'drain', listener: () => void): unknown;
  off(event: 'close' | 'drain', listener: () => void): unknown;
}

/**
 * Streams a run's events to a Node `http.ServerResponse` as `text/event-stream` (see
 * `toServerSentEvents` for the frames), honouring back-pressure. When the client goes away the
 * stream is cancelled, and with it the run. Resolves when the stream has ended either way.
 *
 * @example
 * ```ts
 * createServer((request, response) => {
 *   if (request.url === '/run') void sendServerSentEvents(response, PLACED_PAR(a, b).events$);
 * }).listen(8080);
 * ```
 */
export async function sendServerSentEvents<T>(response: ServerResponseLike, events$: Observable<ParEvent<T>>, options: ServerSentEventsOptions = {}): Promise<void> {
  const reader = toServerSentEvents(events$, options).getReader();
  let closed = false;
  const onClose = (): void => {
    closed = true;
    void reader.cancel();
  };
  response.once('close', onClose);
  response.writeHead(200, { ...SERVER_SENT_EVENTS_HEADERS });
  // The page's EventSource opens on the headers; without a flush Node holds them until the first event.
  response.flushHeaders?.();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) break;
      if (!response.write(value)) await drained(response);
    }
  } finally {
    response.off('close', onClose);
    if (!closed) response.end();
  }
}

/** Waits until the response takes writes again, or closes. */
function drained(response: ServerResponseLike): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}
