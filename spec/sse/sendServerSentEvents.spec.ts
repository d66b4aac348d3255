import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PLACED_PAR, type PlacedPar, Placement, Process, ProcessResult } from '../../lib';
import { type ServerResponseLike, sendServerSentEvents } from '../../lib/sse';
import { messages, parseFrames } from './support/frames';

const here = new Placement({ endpoint: 'local' });

/** A real Node HTTP server whose every request streams `group()`'s events; `done` settles with each stream. */
async function serve(group: () => PlacedPar): Promise<{ url: string; streams: Promise<void>[]; fullWrites: () => number; close: () => Promise<void> }> {
  const streams: Promise<void>[] = [];
  let fullWrites = 0;
  const server: Server = createServer((_request, response) => {
    // The response as the helper sees it (its structural type), counting the writes that filled the buffer.
    const counted: ServerResponseLike = {
      writeHead: (status, headers) => response.writeHead(status, headers),
      flushHeaders: () => response.flushHeaders(),
      write: (chunk) => {
        const more = response.write(chunk);
        if (!more) fullWrites += 1;
        return more;
      },
      end: () => response.end(),
      once: (event, listener) => response.once(event, listener),
      off: (event, listener) => response.off(event, listener),
    };
    streams.push(sendServerSentEvents(counted, group().events$));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    streams,
    fullWrites: () => fullWrites,
    close: () =>
      new Promise<void>((resolve) => {
        // fetch keeps its connections alive; a test's server must not wait for them.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('sendServerSentEvents', () => {
  it('answers with the event-stream headers and streams every event to the end', async () => {
    const writer = Process('writer', async (ctx) => {
      for (const word of ['one ', 'two ', 'three']) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        ctx.emit(word);
      }
      return ProcessResult.ok('done');
    });
    const server = await serve(() => PLACED_PAR([writer, here]));
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
      const frames = parseFrames(await response.text());
      expect(messages(frames).map((event) => event['type'])).toEqual(['started', 'partial', 'partial', 'partial', 'settled', 'done']);
      expect(frames.at(-1)?.event).toBe('end');
      await Promise.all(server.streams);
    } finally {
      await server.close();
    }
  });

  it('cancels the run when the client goes away: signals abort and the returned promise settles', async () => {
    const aborted: string[] = [];
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const endless = Process('endless', (ctx) => {
      ctx.emit('first');
      started();
      return new Promise<ProcessResult>((resolve) => ctx.signal.addEventListener('abort', () => (aborted.push('endless'), resolve(ProcessResult.ok()))));
    });
    const server = await serve(() => PLACED_PAR([endless, here]));
    try {
      const client = new AbortController();
      const response = await fetch(server.url, { signal: client.signal });
      const reader = response.body?.getReader();
      await reader?.read();
      await running;
      client.abort();
      await Promise.all(server.streams);
      expect(aborted).toEqual(['endless']);
    } finally {
      await server.close();
    }
  });

  it('waits for the client to drain when it reads slowly, and loses nothing', async () => {
    const big = 'x'.repeat(64 * 1024);
    const chatty = Process('chatty', (ctx) => {
      for (let i = 0; i < 200; i += 1) ctx.emit(`${i}:${big}`);
      return ProcessResult.ok(200);
    });
    const server = await serve(() => PLACED_PAR([chatty, here]));
    try {
      const response = await fetch(server.url);
      const reader = response.body?.getReader();
      if (reader === undefined) throw new Error('no body');
      const decoder = new TextDecoder();
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        // A slow page: let the server's socket buffer fill up.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const partials = messages(parseFrames(text)).filter((event) => event['type'] === 'partial');
      expect(partials.map((event) => String(event['value']).split(':')[0])).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
      expect(server.fullWrites()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});
