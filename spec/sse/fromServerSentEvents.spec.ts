import { toArray, firstValueFrom, lastValueFrom, take } from 'rxjs';
import { UsageError } from '../../lib';
import { fromServerSentEvents } from '../../lib/sse';

/**
 * A stand-in for the browser's EventSource, which Node 20 lacks: the real one is driven in
 * Chromium by spec/sse/browser. It dispatches what a real one dispatches for each frame.
 */
class ScriptedEventSource extends EventTarget {
  static opened: ScriptedEventSource[] = [];
  readyState = 0;
  closed = false;
  readonly url: string;

  constructor(url: string | URL) {
    super();
    this.url = String(url);
    ScriptedEventSource.opened.push(this);
  }

  message(data: unknown, type = 'message'): void {
    this.dispatchEvent(new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data) }));
  }

  fail(): void {
    this.dispatchEvent(new Event('error'));
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
}

const started = { type: 'started', index: 0, name: 'writer', placement: { summary: 'unspecified' }, backend: 'local', attempt: 1 };
const partial = { type: 'partial', index: 0, name: 'writer', placement: { summary: 'unspecified' }, value: 'Hel' };

afterEach(() => {
  ScriptedEventSource.opened = [];
  delete (globalThis as { EventSource?: unknown }).EventSource;
});

describe('fromServerSentEvents', () => {
  it('emits each message as its event, completes on the end event and closes the source', async () => {
    const source = new ScriptedEventSource('/run');
    const all = lastValueFrom(fromServerSentEvents(source).pipe(toArray()));
    source.message(started);
    source.message(partial);
    source.message({ type: 'a-later-type', index: 0 });
    source.message({}, 'end');
    expect(await all).toEqual([started, partial, { type: 'a-later-type', index: 0 }]);
    expect(source.closed).toBe(true);
  });

  it('errors when the server ends the stream with an error', async () => {
    const source = new ScriptedEventSource('/run');
    const all = lastValueFrom(fromServerSentEvents(source));
    source.message({ error: { name: 'RangeError', message: 'source broke' } }, 'end');
    await expect(all).rejects.toThrow('the event stream at /run ended with RangeError: source broke');
    expect(source.closed).toBe(true);
  });

  it('errors when the connection is lost before the end, and closes the source so it never reconnects', async () => {
    const source = new ScriptedEventSource('/run');
    const all = lastValueFrom(fromServerSentEvents(source));
    source.message(started);
    source.fail();
    await expect(all).rejects.toThrow('the event stream at /run was lost before its end');
    expect(source.closed).toBe(true);
  });

  it('errors on data that is not JSON, saying what came', async () => {
    const source = new ScriptedEventSource('/run');
    const all = lastValueFrom(fromServerSentEvents(source));
    source.message('<html>');
    await expect(all).rejects.toThrow('the event stream at /run sent data that is not JSON: <html>');
  });

  it('errors on JSON that is not an event', async () => {
    const source = new ScriptedEventSource('/run');
    const all = lastValueFrom(fromServerSentEvents(source));
    source.message('[1,2]');
    await expect(all).rejects.toThrow('the event stream at /run sent a message that is not an event (no "type"): [1,2]');
  });

  it('opens an EventSource per subscription when given a URL, and closes it on unsubscribing', async () => {
    (globalThis as { EventSource?: unknown }).EventSource = ScriptedEventSource;
    const events$ = fromServerSentEvents('/run?id=1');
    expect(ScriptedEventSource.opened).toHaveLength(0);
    const first = firstValueFrom(events$.pipe(take(1)));
    const second = events$.subscribe();
    expect(ScriptedEventSource.opened.map((source) => source.url)).toEqual(['/run?id=1', '/run?id=1']);
    ScriptedEventSource.opened[0]?.message(partial);
    expect(await first).toEqual(partial);
    expect(ScriptedEventSource.opened[0]?.closed).toBe(true);
    expect(ScriptedEventSource.opened[1]?.closed).toBe(false);
    second.unsubscribe();
    expect(ScriptedEventSource.opened[1]?.closed).toBe(true);
  });

  it('rejects what is neither a URL nor an EventSource with a UsageError', () => {
    expect(() => fromServerSentEvents(42 as never)).toThrow(new UsageError('source', 'a URL (string or URL) or an EventSource', 42));
  });
});
