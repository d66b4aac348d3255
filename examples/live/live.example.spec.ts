/**
 * The live demo's server over real HTTP on loopback, without a browser (the browser suite is
 * spec/sse/browser): its routes, and 200 clients at once, each receiving every event of its own run.
 */
import { messages, parseFrames } from '../../spec/sse/support/frames';
import { type LiveServer, startLiveServer } from './server';

let server: LiveServer;

beforeAll(async () => {
  server = await startLiveServer();
});

afterAll(() => server.close());

const get = (path: string): Promise<Response> => fetch(new URL(path, server.url));

test('GET /health answers 200 once the server listens; the page and its modules are served', async () => {
  expect((await get('/health')).status).toBe(200);
  expect(await (await get('/')).text()).toContain('<button type="button" id="start">Start run</button>');
  const client = await get('/modules/lib/sse/fromServerSentEvents.js');
  expect(client.headers.get('content-type')).toMatch(/^text\/javascript/);
  // Compiled to an ES module that a browser loads as it is: no type annotations, no require.
  const code = await client.text();
  expect(code).toContain('export function fromServerSentEvents(source, options = {})');
  expect(code).not.toContain('require(');
  expect((await get('/vendor/rxjs/internal/Observable')).status).toBe(200);
  expect((await get('/modules/examples/live/server.js')).status).toBe(404);
  expect((await get('/modules/../package.json')).status).toBe(404);
});

test('a bad query is a 400 that says what was wrong', async () => {
  const response = await get('/run?run=x&deadline=soon');
  expect(response.status).toBe(400);
  expect(await response.text()).toBe('deadline must be a number > 0, got "soon"');
  expect(await (await get('/run?run=a%20b')).text()).toBe('run must be an id of letters, digits, - and _');
});

test('200 clients at once: each gets every event of its own run, and only those', async () => {
  const clients = Array.from({ length: 200 }, (_, i) => `c${i}`);
  // pace=4 makes each run last about 1.5 s, longer than 200 connections take to open on a loaded
  // machine, so that the runs really stream at the same time (the peak is printed below).
  const began = performance.now();
  const texts = await Promise.all(clients.map(async (id) => (await get(`/run?run=${id}&scenario=quick&pace=4&label=${id}`)).text()));
  clients.forEach((id, i) => {
    const frames = parseFrames(texts[i] ?? '');
    const events = messages(frames);
    const record = server.runs.get(id);
    if (record === undefined) throw new Error(`no run ${id}`);
    expect(record.status).toBe('done');
    // Every event, numbered without a gap, then done, then the end of the stream.
    expect(frames.filter((frame) => frame.id !== undefined).map((frame) => Number(frame.id))).toEqual(events.map((_, n) => n + 1));
    expect(events.at(-1)?.['type']).toBe('done');
    expect(frames.at(-1)?.event).toBe('end');
    // Every partial that this run's processes emitted, in order, and none of another run's.
    const partials = events.filter((event) => event['type'] === 'partial').map((event) => `${String(event['name'])}:${String(event['value'])}`);
    expect(partials).toEqual(record.emits.map((emit) => `${emit.name}:${emit.text}`));
    for (const name of ['planner', 'researcher']) expect(partials.find((text) => text.startsWith(`${name}:`))).toBe(`${name}:${id}: `);
  });
  // How many runs were streaming at the same moment: the most emit spans that overlap.
  const spans = clients.map((id) => {
    const times = server.runs.get(id)?.emits.map((emit) => emit.at) ?? [];
    return [Math.min(...times), Math.max(...times)] as const;
  });
  const peak = Math.max(...spans.map(([at]) => spans.filter(([from, to]) => from <= at && at <= to).length));
  const events = texts.reduce((sum, text) => sum + messages(parseFrames(text)).length, 0);
  process.stdout.write(`200 SSE clients: ${events} events in all, every one delivered; ${peak} runs streaming at once at the peak; ${(performance.now() - began).toFixed(0)} ms\n`);
});
