import { serverSentEvents } from '../../lib/models';

/** A body that delivers `chunks` one by one, as a network would. */
function bodyOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function eventsOf(...chunks: string[]) {
  const events = [];
  for await (const event of serverSentEvents(bodyOf(...chunks))) events.push(event);
  return events;
}

describe('serverSentEvents', () => {
  test('events with names, data joined across lines, comments skipped, whatever the chunk boundaries', async () => {
    const stream = ': keep-alive\n\nevent: message_start\ndata: {"a":1}\n\ndata: line one\ndata: line two\n\n';
    const expected = [
      { event: 'message_start', data: '{"a":1}', unterminated: false },
      { event: undefined, data: 'line one\nline two', unterminated: false },
    ];
    expect(await eventsOf(stream)).toEqual(expected);
    expect(await eventsOf(...stream.split(''))).toEqual(expected);
  });

  test('CRLF and CR line ends, a split CRLF included', async () => {
    expect(await eventsOf('data: a\r', '\n\r\ndata: b\r\r')).toEqual([
      { event: undefined, data: 'a', unterminated: false },
      { event: undefined, data: 'b', unterminated: false },
    ]);
  });

  test('an event the body ends inside is given, marked unterminated', async () => {
    expect(await eventsOf('data: {"done":true}\n\ndata: {"choices":[{"del')).toEqual([
      { event: undefined, data: '{"done":true}', unterminated: false },
      { event: undefined, data: '{"choices":[{"del', unterminated: true },
    ]);
    expect(await eventsOf('data: [DONE]\n')).toEqual([{ event: undefined, data: '[DONE]', unterminated: true }]);
  });

  test('leaving the loop early cancels the body', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of serverSentEvents(body)) if (event.data === 'x') break;
    expect(cancelled).toBe(true);
  });
});
