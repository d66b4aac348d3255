import { type Observable, type Subscription, catchError, endWith, interval, isObservable, map, of } from 'rxjs';
import { z } from 'zod';
import { UsageError } from '../errors';
import type { ParEvent } from '../par/events';
import { parseArgument } from '../validation/parse';
import { HEARTBEAT_FRAME, endFrame, errorFields, frame } from './frames';
import { toWireEvent } from './toWireEvent';

const optionsSchema = z.strictObject(
  {
    /** Seconds between heartbeat comments while no event comes (default 15). */
    heartbeat: z
      .number({ error: 'a finite number of seconds > 0' })
      .finite({ error: 'a finite number of seconds > 0' })
      .gt(0, { error: 'a finite number of seconds > 0' })
      .default(15),
  },
  { error: 'an options object { heartbeat? }' },
);

/**
 * Options of `toServerSentEvents` (and `sendServerSentEvents`).
 *
 * @example
 * ```ts
 * toServerSentEvents(group.events$, { heartbeat: 5 }); // a comment every 5 s of silence
 * ```
 */
export type ServerSentEventsOptions = z.input<typeof optionsSchema>;

/**
 * The response headers of an event stream.
 *
 * @example
 * ```ts
 * return new Response(toServerSentEvents(group.events$), { headers: SERVER_SENT_EVENTS_HEADERS });
 * ```
 */
export const SERVER_SENT_EVENTS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  // nginx buffers responses unless told not to, which would hold every event back.
  'x-accel-buffering': 'no',
});

/** The frame for one event: its JSON, or a `serialization-failed` event saying why there is none. */
function eventFrame(event: ParEvent | { readonly type: string }, id: number): string {
  try {
    return frame({ id, data: JSON.stringify(toWireEvent(event)) });
  } catch (error) {
    const { name, message } = errorFields(error);
    const where = 'index' in event && typeof event.index === 'number' && 'name' in event && typeof event.name === 'string' ? { index: event.index, name: event.name } : {};
    const failed = { type: 'serialization-failed', of: event.type, ...where, error: { name, message: `the ${event.type} event could not be serialised: ${message}` } };
    return frame({ id, data: JSON.stringify(failed) });
  }
}

/**
 * A run's events as a web-standard `ReadableStream` of `text/event-stream` bytes, for
 * `new Response(...)` in any runtime (Node, Deno, Bun, edge functions, service workers).
 *
 * Each event is one `message` frame with an `id:` and its JSON (`type` inside it, so EventSource's
 * `onmessage` receives every type, later ones included); placements carry their `summary`, failures
 * are `Failure.toJSON()`, the final `PARResult` is JSON. A value that does not serialise (a cyclic
 * object, a BigInt) becomes a `serialization-failed` event in its place. A comment goes out every
 * `heartbeat` seconds, and an `end` event closes the stream after `done`.
 *
 * The stream subscribes when it starts; cancelling it (the client went away) unsubscribes, which
 * cancels the run: every unsettled process's `ctx.signal` aborts.
 *
 * @example
 * ```ts
 * // A fetch handler (edge runtime, Deno, Bun, Node 20 with a fetch-style router):
 * export function GET(): Response {
 *   const group = PLACED_PAR(researcher, writer, { deadline: 30 });
 *   return new Response(toServerSentEvents(group.events$), { headers: SERVER_SENT_EVENTS_HEADERS });
 * }
 * ```
 */
export function toServerSentEvents<T>(events$: Observable<ParEvent<T>>, options: ServerSentEventsOptions = {}): ReadableStream<Uint8Array> {
  if (!isObservable(events$)) throw new UsageError('events$', 'an Observable of ParEvent (a group or its events$)', events$);
  const { heartbeat } = parseArgument(optionsSchema, options, 'toServerSentEvents options');
  const encoder = new TextEncoder();
  let subscription: Subscription | undefined;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string): void => controller.enqueue(encoder.encode(text));
      let id = 0;
      const heartbeats = interval(heartbeat * 1000).subscribe(() => send(HEARTBEAT_FRAME));
      subscription = events$
        .pipe(
          map((event) => eventFrame(event, ++id)),
          endWith(endFrame()),
          // events$ of a group never errors (spec 5.8); any other source may, and the page must learn of it.
          catchError((error: unknown) => of(endFrame(error))),
        )
        .subscribe({
          next: send,
          complete: () => {
            heartbeats.unsubscribe();
            controller.close();
          },
        });
      subscription.add(heartbeats);
    },
    cancel() {
      subscription?.unsubscribe();
    },
  });
}
