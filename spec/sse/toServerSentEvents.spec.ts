import { Observable, Subject, of, throwError } from 'rxjs';
import { FailurePolicy, PLACED_PAR, type ParEvent, Placement, Process, ProcessResult, UsageError } from '../../lib';
import { SERVER_SENT_EVENTS_HEADERS, toServerSentEvents } from '../../lib/sse';
import { sleep } from '../support/helpers';
import { messages, parseFrames, readAll } from './support/frames';

const opus = new Placement({ model: 'claude-opus', endpoint: 'local' });

describe('toServerSentEvents', () => {
  it('sends one message per event with an id, in order, then an end event; the stream closes with the run', async () => {
    const writer = Process('writer', (ctx) => {
      ctx.emit('Hel');
      ctx.emit('lo');
      return ProcessResult.ok('Hello');
    });
    const frames = parseFrames(await readAll(toServerSentEvents(PLACED_PAR([writer, opus]).events$)));
    const events = messages(frames);
    expect(events.map((event) => event['type'])).toEqual(['started', 'partial', 'partial', 'settled', 'done']);
    expect(frames.filter((frame) => frame.data !== undefined).map((frame) => frame.id)).toEqual(['1', '2', '3', '4', '5', undefined]);
    expect(frames.at(-1)).toEqual({ event: 'end', data: '{}' });
    expect(events[0]).toEqual({
      type: 'started',
      index: 0,
      name: 'writer',
      backend: 'local',
      attempt: 1,
      placement: { summary: 'model=claude-opus, endpoint=local', model: 'claude-opus', endpoint: 'local' },
    });
    expect(events.slice(1, 3).map((event) => event['value'])).toEqual(['Hel', 'lo']);
    expect(events[3]).toMatchObject({ type: 'settled', result: { ok: true, value: 'Hello' } });
  });

  it('sends the key of a keyed group on every event, on each entry and failure of the result', async () => {
    const writer = Process('writer', (ctx) => {
      ctx.emit('Hel');
      return ProcessResult.ok('Hello');
    });
    const broken = Process('broken', () => ProcessResult.fail(new Error('no')));
    const events = messages(parseFrames(await readAll(toServerSentEvents(PLACED_PAR({ draft: [writer, opus], audit: broken }, { onFailure: FailurePolicy.COLLECT }).events$))));
    expect(events.filter((event) => event['type'] !== 'done').map((event) => `${String(event['type'])}:${String(event['key'])}`)).toEqual([
      'started:draft',
      'partial:draft',
      'settled:draft',
      'started:audit',
      'settled:audit',
    ]);
    const done = events.find((event) => event['type'] === 'done') as { result: { entries: { key: string; result: { failure?: { key?: string } } }[] } } | undefined;
    expect(done?.result.entries.map((entry) => entry.key)).toEqual(['draft', 'audit']);
    expect(done?.result.entries[1]?.result.failure?.key).toBe('audit');
  });

  it('sends failures as Failure.toJSON(), retries with their failure, and the PARResult as JSON', async () => {
    let attempt = 0;
    const flaky = Process('flaky', () => {
      attempt += 1;
      if (attempt === 1) throw new Error('rate limited');
      return ProcessResult.ok(attempt);
    });
    const broken = Process('broken', () => ProcessResult.fail(new Error('no route')));
    const group = PLACED_PAR([flaky, opus], [broken, opus], { onFailure: FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0 }) });
    const events = messages(parseFrames(await readAll(toServerSentEvents(group.events$))));

    const retrying = events.find((event) => event['type'] === 'retrying');
    expect(retrying).toMatchObject({ name: 'flaky', attempt: 2, delay: 0, failure: { processName: 'flaky', summary: '[flaky] Error: rate limited', error: { name: 'Error', message: 'rate limited' } } });
    const settledBroken = events.find((event) => event['type'] === 'settled' && event['name'] === 'broken');
    expect(settledBroken).toMatchObject({ result: { ok: false, failure: { summary: '[broken] Error: no route', placement: { model: 'claude-opus', endpoint: 'local' }, backend: 'local', attempts: 2 } } });
    const done = events.at(-1);
    expect(done).toMatchObject({
      type: 'done',
      result: {
        isOk: false,
        value: [2],
        report: { total: 2, succeeded: 1, failed: 1, failureTypes: { Error: 1 } },
        entries: [
          { index: 0, name: 'flaky', backend: 'local', attempts: 2, result: { ok: true, value: 2 }, placement: { summary: 'model=claude-opus, endpoint=local' } },
          { index: 1, name: 'broken', attempts: 2, result: { ok: false } },
        ],
      },
    });
    expect(typeof (done?.['result'] as { entries: { settledAt: unknown }[] }).entries[0]?.settledAt).toBe('string');
  });

  it('sends event types it does not know, with their placements and failures readable', async () => {
    const later = { type: 'fallback', index: 0, name: 'writer', placement: opus, from: opus, to: new Placement({ model: 'claude-haiku' }) };
    const events = messages(parseFrames(await readAll(toServerSentEvents(of(later as unknown as ParEvent)))));
    expect(events).toEqual([
      {
        type: 'fallback',
        index: 0,
        name: 'writer',
        placement: { summary: 'model=claude-opus, endpoint=local', model: 'claude-opus', endpoint: 'local' },
        from: { summary: 'model=claude-opus, endpoint=local', model: 'claude-opus', endpoint: 'local' },
        to: { summary: 'model=claude-haiku', model: 'claude-haiku' },
      },
    ]);
  });

  it('turns a value that does not serialise into a serialization-failed event and goes on', async () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const odd = Process('odd', (ctx) => {
      ctx.emit(10n);
      ctx.emit(cyclic);
      ctx.emit('fine');
      return ProcessResult.ok(cyclic);
    });
    const frames = parseFrames(await readAll(toServerSentEvents(PLACED_PAR([odd, opus]).events$)));
    const events = messages(frames);
    expect(events.map((event) => [event['type'], event['of']])).toEqual([
      ['started', undefined],
      ['serialization-failed', 'partial'],
      ['serialization-failed', 'partial'],
      ['partial', undefined],
      ['serialization-failed', 'settled'],
      ['serialization-failed', 'done'],
    ]);
    expect(events[1]).toMatchObject({ index: 0, name: 'odd', error: { name: 'TypeError', message: expect.stringMatching(/^the partial event could not be serialised: .*BigInt/) } });
    expect(events[2]).toMatchObject({ error: { message: expect.stringMatching(/circular/i) } });
    expect(events[5]).not.toHaveProperty('index');
    // The stream still ends properly, so the page knows the run is over.
    expect(frames.at(-1)).toEqual({ event: 'end', data: '{}' });
  });

  it('sends heartbeat comments while no event comes', async () => {
    const slow = Process('slow', async () => {
      await sleep(200);
      return ProcessResult.ok(1);
    });
    const frames = parseFrames(await readAll(toServerSentEvents(PLACED_PAR([slow, opus]).events$, { heartbeat: 0.02 })));
    const started = frames.findIndex((frame) => frame.data?.includes('"started"'));
    const settled = frames.findIndex((frame) => frame.data?.includes('"settled"'));
    // A 20 ms interval fires before a 200 ms timeout that was set after it.
    expect(frames.slice(started, settled).some((frame) => frame.comment === 'heartbeat')).toBe(true);
  });

  it('cancels the run when the stream is cancelled: the processes see their signal abort', async () => {
    const aborted: string[] = [];
    const waiter = (name: string) =>
      Process(name, (ctx) => {
        ctx.emit('working');
        return new Promise<ProcessResult>((resolve) => ctx.signal.addEventListener('abort', () => (aborted.push(name), resolve(ProcessResult.ok()))));
      });
    const reader = toServerSentEvents(PLACED_PAR([waiter('a'), opus], [waiter('b'), opus]).events$).getReader();
    const seen = [];
    for (let i = 0; i < 4; i += 1) seen.push(await reader.read());
    expect(aborted).toEqual([]);
    await reader.cancel();
    expect(aborted).toEqual(['a', 'b']);
  });

  it('ends the stream with the error when a source other than a group errors', async () => {
    const frames = parseFrames(await readAll(toServerSentEvents(throwError(() => new RangeError('source broke')))));
    expect(frames).toEqual([{ event: 'end', data: JSON.stringify({ error: { name: 'RangeError', message: 'source broke' } }) }]);
  });

  it('keeps sending when events come after a slow start, and does not subscribe twice', async () => {
    let subscriptions = 0;
    const source = new Subject<ParEvent>();
    const counted = new Observable<ParEvent>((subscriber) => {
      subscriptions += 1;
      return source.subscribe(subscriber);
    });
    const text = readAll(toServerSentEvents(counted));
    await sleep(5);
    source.next({ type: 'partial', index: 0, name: 'w', placement: opus, value: 'late', attempt: 1 });
    source.complete();
    expect(messages(parseFrames(await text)).map((event) => event['value'])).toEqual(['late']);
    expect(subscriptions).toBe(1);
  });

  it('takes the group itself, which is an Observable of its events', async () => {
    const group = PLACED_PAR([Process('one', () => ProcessResult.ok(1)), opus]);
    expect(messages(parseFrames(await readAll(toServerSentEvents(group)))).map((event) => event['type'])).toEqual(['started', 'settled', 'done']);
  });

  it('offers the response headers of an event stream', () => {
    expect(SERVER_SENT_EVENTS_HEADERS['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(SERVER_SENT_EVENTS_HEADERS['cache-control']).toContain('no-cache');
  });

  it('rejects what is not an Observable, and bad options, with a UsageError that names them', () => {
    const group = PLACED_PAR();
    expect(() => toServerSentEvents(group.run() as never)).toThrow(new UsageError('events$', 'an Observable of ParEvent (a group or its events$)', Promise.resolve()));
    expect(() => toServerSentEvents(of(), { heartbeat: 0 })).toThrow(/toServerSentEvents options\.heartbeat.*a finite number of seconds > 0.*the number 0/);
    expect(() => toServerSentEvents(of(), { heartbat: 1 } as never)).toThrow(/toServerSentEvents options\.heartbat.*heartbeat/);
  });
});
