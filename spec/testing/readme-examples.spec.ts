// The test examples of the README's "Testing your orchestration", verbatim (but for the imports), so
// that they keep compiling and passing.
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BackendRegistry, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { FakeBackend, type MarbleDiagram, eventCode, processFromMarbles, toMarbles } from '../../lib/testing';

const classifier = Process('classifier', () => ProcessResult.ok('billing'));

test('HALT: the classifier failing at 10 ms cancels the writer mid-stream', () => {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.run(({ expectObservable, expectSubscriptions }) => {
    const api = new FakeBackend({ name: 'api', script: { classifier: { error: new Error('429'), delay: 0.01 } } });
    const registry = new BackendRegistry().register('api', api);
    // Streams 'Dear' at 5 ms and ' customer' at 15 ms, answers at 21 ms.
    const writer = processFromMarbles('writer', '5ms a 9ms b 5ms (r|)', { a: 'Dear', b: ' customer', r: 'Dear customer' });
    const group = PLACED_PAR(writer, [classifier, new Placement({ endpoint: 'api' })], { registry, scheduler });

    expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 1ms c 4ms (def|)', {
      a: 'started:writer#1',
      b: 'started:classifier#1',
      c: 'partial:writer',
      d: 'settled:classifier:Error',
      e: 'settled:writer:CancelledError',
      f: 'done:fail',
    });
    expectSubscriptions(writer.subscriptions).toBe('^ 9ms !'); // unsubscribed by HALT at 10 ms
  });
});

test('the HALT run, as a snapshot', () => {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  let diagram: MarbleDiagram | undefined;
  scheduler.run(() => {
    const group = PLACED_PAR(processFromMarbles('writer', '20ms (r|)'), processFromMarbles('checker', '10ms #'), { scheduler });
    group.events$.pipe(toMarbles(scheduler)).subscribe((rendered) => (diagram = rendered));
  });
  expect(diagram).toEqual({
    marbles: '(ab) 6ms (cde|)',
    values: { a: 'started:writer#1', b: 'started:checker#1', c: 'settled:checker:Error', d: 'settled:writer:CancelledError', e: 'done:fail' },
  });
});

test('the FakeBackend options of the README are valid', () => {
  const api = new FakeBackend({
    name: 'api',                  // default 'fake'
    concurrencyLimit: 2,          // default Infinity
    healthy: true,                // or false, or a function returning a boolean, an Observable or a promise
    script: {
      classifier: { error: new Error('429'), delay: 0.005 },              // fails after 5 ms
      writer: { result: 'draft', delay: 0.03, partials: ['dr', 'aft'] },  // ctx.emit at 10 and 20 ms, answers at 30
      flaky: [{ error: new Error('503') }, { result: 'second time' }],   // by call: the first fails, the second answers
      stuck: { hang: true },                                              // never finishes: for deadlines and cancellation
    },
    defaultBehaviour: { delay: 0.002 }, // any other process runs itself (process.execute$(ctx)) after 2 ms
  });
  expect(api.name).toBe('api');
});
