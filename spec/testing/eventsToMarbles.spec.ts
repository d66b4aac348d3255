import { Subject, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BackendRegistry, FailurePolicy, PARResult, type ParEvent, PLACED_PAR, Placement, ProcessResult } from '../../lib';
import { FakeBackend, type MarbleDiagram, type TimedEvent, eventCode, eventsToMarbles, processFromMarbles, toMarbles } from '../../lib/testing';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const placement = new Placement({});
const started = (name: string, attempt = 1): ParEvent => ({ type: 'started', index: 0, name, placement, backend: 'local', attempt });
const settled = (name: string, result: ProcessResult): ParEvent => ({ type: 'settled', index: 0, name, placement, result });
const done = (ok: boolean): ParEvent => ({ type: 'done', result: new PARResult(ok ? [] : [{ index: 0, name: 'x', placement, backend: 'local', result: ProcessResult.fail(new Error('x')), attempts: 1, startedAt: undefined, settledAt: new Date(0) }]) });

describe('toMarbles and eventsToMarbles', () => {
  test('a run rendered as marbles, for a snapshot, and the same diagram checked with expectObservable', () => {
    const build = (scheduler: TestScheduler) => {
      const api = new FakeBackend({ name: 'api', concurrencyLimit: 1, script: { reader: { result: 'docs', delay: 0.01 }, writer: { error: new Error('429'), delay: 0.02 } } });
      const registry = new BackendRegistry().register('api', api);
      const on = new Placement({ endpoint: 'api' });
      const reader = processFromMarbles('reader', '(r|)');
      const writer = processFromMarbles('writer', '(w|)');
      return PLACED_PAR([reader, on], [writer, on], { registry, scheduler, onFailure: FailurePolicy.COLLECT });
    };

    const scheduler = marbles();
    let diagram: MarbleDiagram | undefined;
    scheduler.run(() => {
      build(scheduler).events$.pipe(toMarbles(scheduler)).subscribe((rendered) => (diagram = rendered));
    });
    expect(diagram).toEqual({
      marbles: '(ab) 6ms (cd) 16ms (ef|)',
      values: {
        a: 'started:reader#1',
        b: 'queued:writer',
        c: 'settled:reader:ok',
        d: 'started:writer#1',
        e: 'settled:writer:Error',
        f: 'done:fail',
      },
    });

    // The rendered diagram is a valid expectation for the same run.
    const again = marbles();
    again.run(({ expectObservable }) => {
      const { marbles: expected, values } = diagram as MarbleDiagram;
      expectObservable(build(again).events$.pipe(map(eventCode))).toBe(expected, values);
    });
  });

  test('frames are counted from the subscription', () => {
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const events = cold<ParEvent>('a-b-(c|)', { a: started('x'), b: settled('x', ProcessResult.ok(1)), c: done(true) });
      expectObservable(events.pipe(toMarbles(scheduler)), '5ms ^').toBe('5ms 4ms (d|)', {
        d: { marbles: 'a-b-(c|)', values: { a: 'started:x#1', b: 'settled:x:ok', c: 'done:ok' } },
      });
    });
  });

  test('a repeated code keeps its letter; long and fractional gaps are time progressions', () => {
    const events: TimedEvent[] = [
      { frame: 0, event: started('a') },
      { frame: 2, event: { type: 'partial', index: 0, name: 'a', placement, value: 't1', attempt: 1 } },
      { frame: 3, event: { type: 'partial', index: 0, name: 'a', placement, value: 't2', attempt: 1 } },
      { frame: 40, event: settled('a', ProcessResult.ok(1)) },
      { frame: 41.5, event: done(true) },
    ];
    expect(eventsToMarbles(events)).toEqual({
      marbles: 'a-bb 36ms c 0.5ms (d|)',
      values: { a: 'started:a#1', b: 'partial:a', c: 'settled:a:ok', d: 'done:ok' },
    });
  });

  test('completion: at done by default, at completeAt when given, none without either', () => {
    expect(eventsToMarbles([{ frame: 3, event: started('a') }]).marbles).toBe('---a');
    expect(eventsToMarbles([{ frame: 3, event: started('a') }], { completeAt: 5 }).marbles).toBe('---a-|');
    expect(eventsToMarbles([], { completeAt: 0 })).toEqual({ marbles: '|', values: {} });
    expect(eventsToMarbles([{ frame: 12, event: done(false) }], { origin: 2 })).toEqual({ marbles: ' 10ms (a|)'.trim(), values: { a: 'done:fail' } });
    expect(() => eventsToMarbles([{ frame: 3, event: started('a') }], { completeAt: 2 })).toThrow(RangeError);
  });

  test('a custom code names the events', () => {
    const diagram = eventsToMarbles([{ frame: 0, event: started('a', 2) }], { code: (event) => event.type.toUpperCase() });
    expect(diagram).toEqual({ marbles: 'a', values: { a: 'STARTED' } });
  });

  test('events too close to write as marbles are a RangeError that says why', () => {
    const tooClose: TimedEvent[] = [
      { frame: 0, event: started('a') },
      { frame: 0, event: started('b') },
      { frame: 2, event: settled('a', ProcessResult.ok(1)) },
    ];
    expect(() => eventsToMarbles(tooClose)).toThrow(/frame 2 cannot be written.*n \+ 2 frames/);
    // Through the operator, the error reaches the subscriber.
    const source = new Subject<ParEvent>();
    let error: unknown;
    let frame = 0;
    source.pipe(toMarbles({ now: () => frame, schedule: () => { throw new Error('unused'); } })).subscribe({ error: (e: unknown) => (error = e) });
    source.next(started('a'));
    source.next(started('b'));
    frame = 2;
    source.next(settled('a', ProcessResult.ok(1)));
    source.complete();
    expect(error).toBeInstanceOf(RangeError);
  });

  test('more than 52 distinct codes go on past ASCII letters, never into marble syntax', () => {
    const events: TimedEvent[] = Array.from({ length: 60 }, (_, index) => ({ frame: index, event: started(`p${index}`) }));
    const { marbles: rendered, values } = eventsToMarbles(events);
    expect([...rendered]).toHaveLength(60);
    expect(rendered).not.toMatch(/[-|#^!() 0-9]/);
    expect(Object.keys(values)).toHaveLength(60);
  });

  test('eventCode names each event type', () => {
    const failure = ProcessResult.fail(new TypeError('x')).failure;
    expect(
      [
        { type: 'queued', index: 0, name: 'n', placement, backend: 'b' },
        started('n', 2),
        { type: 'partial', index: 0, name: 'n', placement, value: 1 },
        { type: 'retrying', index: 0, name: 'n', placement, attempt: 3, delay: 1, failure },
        settled('n', ProcessResult.ok()),
        settled('n', ProcessResult.fail(new TypeError('x'))),
        done(true),
        done(false),
        { type: 'fallback', index: 0, name: 'n', placement, from: placement, to: placement, reason: 'hedge', failure: undefined },
        { type: 'restarted', index: 0, name: 'n', placement },
        { type: 'paused', index: 0, name: 'n', placement } as unknown as ParEvent,
        { type: 'heartbeat' } as unknown as ParEvent,
      ].map((event) => eventCode(event as ParEvent)),
    ).toEqual(['queued:n', 'started:n#2', 'partial:n', 'retrying:n#3', 'settled:n:ok', 'settled:n:TypeError', 'done:ok', 'done:fail', 'fallback:n:hedge', 'restarted:n', 'paused:n', 'heartbeat']);
  });
});
