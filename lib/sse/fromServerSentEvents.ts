// Runs in the browser: it imports rxjs and type-only modules, nothing of Node and no zod, so a page
// can load it as an ES module.
import { Observable } from 'rxjs';
import { UsageError } from '../errors';
import { END_EVENT, type WireEvent } from './wire';

/**
 * What `fromServerSentEvents` needs of an EventSource (a polyfill with these members works too).
 *
 * @example
 * ```ts
 * fromServerSentEvents(new EventSource('/run', { withCredentials: true }));
 * ```
 */
export interface EventSourceLike {
  readonly url: string;
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string> | Event) => void): void;
  removeEventListener(type: string, listener: (event: MessageEvent<string> | Event) => void): void;
  close(): void;
}

/**
 * Options of `fromServerSentEvents` when it opens the EventSource itself.
 *
 * @example
 * ```ts
 * fromServerSentEvents('https://api.example.com/run', { withCredentials: true });
 * ```
 */
export interface FromServerSentEventsOptions {
  /** Send cookies to another origin (EventSource's own option). */
  readonly withCredentials?: boolean;
}

function isEventSourceLike(value: unknown): value is EventSourceLike {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof EventSourceLike, unknown>>;
  return typeof candidate.addEventListener === 'function' && typeof candidate.removeEventListener === 'function' && typeof candidate.close === 'function';
}

function parse(data: unknown, url: string): unknown {
  if (typeof data !== 'string') throw new Error(`the event stream at ${url} sent a message without text data`);
  try {
    return JSON.parse(data);
  } catch {
    throw new Error(`the event stream at ${url} sent data that is not JSON: ${data.slice(0, 80)}`);
  }
}

/**
 * Whether a message is an event: an object with a string `type`. Its other fields are the server's
 * (`toServerSentEvents`) to get right; a type this client does not know is still an event.
 */
function isWireEvent(value: unknown): value is WireEvent {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

/** The error an `end` event carries, if any. */
function endError(value: unknown): { name: string; message: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const error = (value as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message } = error as { name?: unknown; message?: unknown };
  return { name: typeof name === 'string' ? name : 'Error', message: typeof message === 'string' ? message : '' };
}

/**
 * The events of a run streamed by `toServerSentEvents`, back as an Observable in the browser, so a
 * UI uses the same RxJS operators on them as the server does on `events$`.
 *
 * Given a URL, each subscription opens its own EventSource (and so, on a server that starts a run
 * per request, its own run); given an EventSource, it listens to that one. It completes after the
 * stream's `end` event, errors when the connection is lost before it, and closes the EventSource
 * either way and on unsubscribing, so the browser never reconnects (a reconnect would start a new
 * run) and the server sees the client go, which cancels the run.
 *
 * @example
 * ```ts
 * fromServerSentEvents('/run')
 *   .pipe(filter((event) => event.type === 'partial'), scan((text, event) => text + String(event.value), ''))
 *   .subscribe((text) => (output.textContent = text));
 * ```
 */
export function fromServerSentEvents(source: string | URL | EventSourceLike, options: FromServerSentEventsOptions = {}): Observable<WireEvent> {
  if (typeof source !== 'string' && !(typeof URL === 'function' && source instanceof URL) && !isEventSourceLike(source)) {
    throw new UsageError('source', 'a URL (string or URL) or an EventSource', source);
  }
  return new Observable<WireEvent>((subscriber) => {
    const events: EventSourceLike =
      typeof source === 'string' || source instanceof URL ? new EventSource(source, { withCredentials: options.withCredentials === true }) : source;
    const url = events.url;
    const onMessage = (event: MessageEvent<string> | Event): void => {
      try {
        const message = parse('data' in event ? event.data : undefined, url);
        if (!isWireEvent(message)) throw new Error(`the event stream at ${url} sent a message that is not an event (no "type"): ${JSON.stringify(message).slice(0, 80)}`);
        subscriber.next(message);
      } catch (error) {
        subscriber.error(error);
      }
    };
    const onEnd = (event: MessageEvent<string> | Event): void => {
      try {
        const error = endError(parse('data' in event ? event.data : undefined, url));
        if (error === undefined) subscriber.complete();
        else subscriber.error(new Error(`the event stream at ${url} ended with ${error.name}: ${error.message}`));
      } catch (error) {
        subscriber.error(error);
      }
    };
    // EventSource says no more than "error": the server refused, went away, or the network broke.
    const onError = (): void => subscriber.error(new Error(`the event stream at ${url} was lost before its end`));
    events.addEventListener('message', onMessage);
    events.addEventListener(END_EVENT, onEnd);
    events.addEventListener('error', onError);
    return () => {
      events.removeEventListener('message', onMessage);
      events.removeEventListener(END_EVENT, onEnd);
      events.removeEventListener('error', onError);
      events.close();
    };
  });
}
