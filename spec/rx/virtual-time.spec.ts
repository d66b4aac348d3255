import { from, map, switchMap } from 'rxjs';
import { type RunHelpers, TestScheduler } from 'rxjs/testing';
import { BackendRegistry, CancelledError, type DeadlineExceededError, FailurePolicy, type ParEvent, PLACED_PAR, Placement, Process, ProcessResult, mapPlaced } from '../../lib';
import { FakeBackend, eventCode, processFromMarbles } from '../../lib/testing';

// SPEC 7: under TestScheduler.run, with Observable-based processes and backends, deadlines, retry
// delays, caps and events all run in virtual time. Each test below proves it for one policy with
// marble assertions, and fails if anything reached for a real timer or left a scheduled action behind.
// `npm run test:marbles` runs this file 20 times over to catch any flakiness.

type Body = (helpers: RunHelpers, scheduler: TestScheduler) => void;

/** Runs `body` in virtual time; fails if a real timer was set or a scheduled action is left over. */
function inVirtualTime(body: Body): void {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const realTimers = [jest.spyOn(globalThis, 'setTimeout'), jest.spyOn(globalThis, 'setInterval'), jest.spyOn(globalThis, 'setImmediate')];
  try {
    scheduler.run((helpers) => body(helpers, scheduler));
    for (const spy of realTimers) expect(spy).not.toHaveBeenCalled();
    expect(scheduler.actions).toHaveLength(0);
  } finally {
    for (const spy of realTimers) spy.mockRestore();
  }
}

/** `eventCode`, with the phase of a deadline miss and the delay of a retry (in ms). */
function code(event: ParEvent): string {
  if (event.type === 'settled' && event.result.isFail && event.result.failure.error.name === 'DeadlineExceededError') {
    return `${eventCode(event)}:${(event.result.failure.error as DeadlineExceededError).phase}`;
  }
  if (event.type === 'retrying') return `${eventCode(event)}@${Math.round(event.delay * 1000)}ms`;
  return eventCode(event);
}

const api = new Placement({ model: 'haiku', endpoint: 'api' });
const gpu = new Placement({ model: 'llama', endpoint: 'gpu' });
const registryOf = (backends: Record<string, FakeBackend>): BackendRegistry =>
  Object.entries(backends).reduce((registry, [name, backend]) => registry.register(name, backend), new BackendRegistry());

// The agents: their bodies are the fake backend's script, or marbles of their own.
const classifier = Process('classifier', () => ProcessResult.ok('billing'));
const embedder = Process('embedder', () => ProcessResult.ok([0.1, 0.2]));
const reasonerMarbles = '5ms a 3ms b 20ms (r|)'; // streams at 5 and 9 ms, answers at 30 ms

describe('virtual time: every policy runs on the TestScheduler, with no real timer', () => {
  describe('HALT', () => {
    test('the failure at 10 ms cancels a streaming process and a hanging call at that frame', () => {
      inVirtualTime(({ expectObservable, expectSubscriptions }, scheduler) => {
        const reasoner = processFromMarbles('reasoner', reasonerMarbles, { a: 'Re', b: 'fund', r: 'Refund' });
        const backend = new FakeBackend({ name: 'api', script: { classifier: { error: new Error('429'), delay: 0.01 }, embedder: { hang: true } } });
        const group = PLACED_PAR(reasoner, [classifier, api], [embedder, api], { registry: registryOf({ api: backend }), scheduler });
        expectObservable(group.events$.pipe(map(code))).toBe('(abc)d 3ms d(efgh|)', {
          a: 'started:reasoner#1',
          b: 'started:classifier#1',
          c: 'started:embedder#1',
          d: 'partial:reasoner',
          e: 'settled:classifier:Error',
          f: 'settled:reasoner:CancelledError',
          g: 'settled:embedder:CancelledError',
          h: 'done:fail',
        });
        expectSubscriptions(reasoner.subscriptions).toBe('^ 9ms !');
        scheduler.flush();
        expect(backend.cancelled).toEqual(['embedder']);
        expect(backend.calls[1]?.cancelReason).toMatchObject({ reason: 'halt', haltedBy: 'classifier' });
      });
    });

    test('an optional failure does not halt: the others run to their end', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const reasoner = processFromMarbles('reasoner', reasonerMarbles);
        const backend = new FakeBackend({ name: 'api', script: { classifier: { error: new Error('429'), delay: 0.01 }, embedder: { result: [1], delay: 0.02 } } });
        const group = PLACED_PAR(reasoner, [classifier.optional(), api], [embedder, api], { registry: registryOf({ api: backend }), scheduler });
        expectObservable(group.events$.pipe(map(code))).toBe('(abc)d 3ms de 9ms f 9ms (gh|)', {
          a: 'started:reasoner#1',
          b: 'started:classifier#1',
          c: 'started:embedder#1',
          d: 'partial:reasoner',
          e: 'settled:classifier:Error',
          f: 'settled:embedder:ok',
          g: 'settled:reasoner:ok',
          h: 'done:fail',
        });
      });
    });

    test('mapPlaced: the first failure cancels what is in flight and errors the stream at that frame', () => {
      inVirtualTime(({ hot, expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'api', script: { a: { result: 'A', delay: 0.01 }, b: { error: new Error('boom'), delay: 0.002 } } });
        const source = hot('-a-b---c|');
        const results = source.pipe(mapPlaced((name) => [Process(name, () => ProcessResult.ok(name)), api] as const, { registry: registryOf({ api: backend }), scheduler }));
        expectObservable(results).toBe('-----#', undefined, expect.objectContaining({ name: 'ItemFailedError', index: 1, processName: 'b', cause: new Error('boom') }));
        scheduler.flush();
        expect(backend.names).toEqual(['a', 'b']);
        expect(backend.cancelled).toEqual(['a']);
      });
    });
  });

  describe('COLLECT', () => {
    test('every process runs to its end; the result comes with the last one', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const reasoner = processFromMarbles('reasoner', reasonerMarbles, { r: 'Refund' });
        const backend = new FakeBackend({ name: 'api', script: { classifier: { error: new Error('429'), delay: 0.01 }, embedder: { result: [1], delay: 0.02 } } });
        const group = PLACED_PAR(reasoner, [classifier, api], [embedder, api], { registry: registryOf({ api: backend }), scheduler, onFailure: FailurePolicy.COLLECT });
        const outcome = group.result$.pipe(map((result) => result.results.map((r) => (r.isOk ? r.value : r.failure.summary))));
        expectObservable(outcome).toBe('30ms (x|)', { x: ['Refund', '[classifier] Error: 429', [1]] });
        // The group is an InteropObservable of its events: from(group) is one more run.
        expectObservable(from(group).pipe(map(code))).toBe('(abc)d 3ms de 9ms f 9ms (gh|)', {
          a: 'started:reasoner#1',
          b: 'started:classifier#1',
          c: 'started:embedder#1',
          d: 'partial:reasoner',
          e: 'settled:classifier:Error',
          f: 'settled:embedder:ok',
          g: 'settled:reasoner:ok',
          h: 'done:fail',
        });
      });
    });

    test('mapPlaced emits failures and goes on, in completion or source order', () => {
      inVirtualTime(({ hot, expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'api', script: { slow: { result: 'slow', delay: 0.006 }, bad: { error: new Error('bad'), delay: 0.001 }, fast: { result: 'fast', delay: 0.001 } } });
        const registry = registryOf({ api: backend });
        const source = hot('-a-b-c|', { a: 'slow', b: 'bad', c: 'fast' });
        const project = (name: string) => [Process(name, () => ProcessResult.ok(name)), api] as const;
        const describe = map((result: ProcessResult) => (result.isOk ? String(result.value) : result.failure.error.message));
        expectObservable(source.pipe(mapPlaced(project, { registry, scheduler, onFailure: FailurePolicy.COLLECT }), describe)).toBe('----b-x(s|)', {
          b: 'bad',
          x: 'fast',
          s: 'slow',
        });
        expectObservable(source.pipe(mapPlaced(project, { registry, scheduler, onFailure: FailurePolicy.COLLECT, ordered: true }), describe)).toBe('-------(sbx|)', {
          b: 'bad',
          x: 'fast',
          s: 'slow',
        });
      });
    });
  });

  describe('retry', () => {
    test('exponential backoff of 5 then 10 ms, success on the third attempt', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const error = new Error('503');
        const backend = new FakeBackend({ name: 'api', script: { classifier: [{ error, delay: 0.001 }, { error, delay: 0.001 }, { result: 'billing', delay: 0.001 }] } });
        const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'exponential', baseDelay: 0.005 });
        const group = PLACED_PAR([classifier, api], { registry: registryOf({ api: backend }), scheduler, onFailure: policy });
        // Fails at 1 and 7; the attempts start at 0, 6 (1 + 5) and 17 (7 + 10); it answers at 18.
        expectObservable(group.events$.pipe(map(code))).toBe('ab 4ms cd 9ms e(fg|)', {
          a: 'started:classifier#1',
          b: 'retrying:classifier#2@5ms',
          c: 'started:classifier#2',
          d: 'retrying:classifier#3@10ms',
          e: 'started:classifier#3',
          f: 'settled:classifier:ok',
          g: 'done:ok',
        });
        scheduler.flush();
        expect(backend.calls.map((call) => [call.attempt, call.startedAt])).toEqual([
          [1, 0],
          [2, 6],
          [3, 17],
        ]);
      });
    });

    test('no attempt starts past the deadline: the last real failure is the answer', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'api', script: { classifier: { error: new Error('503'), delay: 0.001 } } });
        const policy = FailurePolicy.retry({ maxAttempts: 5, backoff: 'exponential', baseDelay: 0.005 });
        const group = PLACED_PAR([classifier, api], { registry: registryOf({ api: backend }), scheduler, onFailure: policy, deadline: 0.012 });
        // Attempts at 0 and 6; the third would start at 17, past the deadline at 12, so it settles at 7.
        const outcome = group.result$.pipe(map((result) => `${result.failures[0]?.summary ?? ''} after ${result.failures[0]?.attempts ?? 0}`));
        expectObservable(outcome).toBe('7ms (x|)', { x: '[classifier] Error: 503 after 2' });
      });
    });
  });

  describe('deadline', () => {
    test('at the deadline the running process is "running" and the queued one "waiting"', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'gpu', concurrencyLimit: 1, defaultBehaviour: { delay: 0.01 } });
        const step = (name: string) => [Process(name, () => ProcessResult.ok(name)), gpu] as const;
        const group = PLACED_PAR(step('a'), step('b'), step('c'), { registry: registryOf({ gpu: backend }), scheduler, deadline: 0.015 });
        expectObservable(group.events$.pipe(map(code))).toBe('(abc) 5ms (de) 1ms (fgh|)', {
          a: 'started:a#1',
          b: 'queued:b',
          c: 'queued:c',
          d: 'settled:a:ok',
          e: 'started:b#1',
          f: 'settled:b:DeadlineExceededError:running',
          g: 'settled:c:DeadlineExceededError:waiting',
          h: 'done:fail',
        });
        scheduler.flush();
        expect(backend.names).toEqual(['a', 'b']);
        expect(backend.cancelled).toEqual(['b']);
      });
    });

    test('a nested group gets the earlier of its own deadline and the outer one', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'api', script: { embedder: { hang: true } } });
        const registry = registryOf({ api: backend });
        const inner = PLACED_PAR([embedder, api], { registry, scheduler, deadline: 0.02 }).withName('inner');
        const outer = PLACED_PAR(inner, { registry, scheduler, deadline: 0.01 });
        expectObservable(outer.events$.pipe(map(code))).toBe('a 9ms (bc|)', {
          a: 'started:inner#1',
          b: 'settled:inner:DeadlineExceededError:running',
          c: 'done:fail',
        });
        scheduler.flush();
        expect(backend.cancelled).toEqual(['embedder']);
        expect(backend.calls[0]?.ctx.deadline?.getTime()).toBe(10);
      });
    });

    test('mapPlaced: the deadline is per item, from its arrival', () => {
      inVirtualTime(({ hot, expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'api', script: { quick: { result: 'quick', delay: 0.003 }, stuck: { hang: true } } });
        const source = hot('-a---b|', { a: 'quick', b: 'stuck' });
        const results = source.pipe(
          mapPlaced((name) => [Process(name, () => ProcessResult.ok(name)), api] as const, { registry: registryOf({ api: backend }), scheduler, deadline: 0.005, onFailure: FailurePolicy.COLLECT }),
          map((result) => (result.isOk ? String(result.value) : result.failure.error.name)),
        );
        expectObservable(results).toBe('----a 5ms (b|)', { a: 'quick', b: 'DeadlineExceededError' });
      });
    });
  });

  describe('caps', () => {
    test('two runs share a capped backend first come, first served, and the cap holds', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'gpu', concurrencyLimit: 2, defaultBehaviour: { delay: 0.01 } });
        const registry = registryOf({ gpu: backend });
        const step = (name: string) => [Process(name, () => ProcessResult.ok(name)), gpu] as const;
        const first = PLACED_PAR(step('a1'), step('a2'), step('a3'), { registry, scheduler });
        const second = PLACED_PAR(step('b1'), step('b2'), { registry, scheduler });
        expectObservable(first.result$.pipe(map((result) => result.value))).toBe('20ms (x|)', { x: ['a1', 'a2', 'a3'] });
        expectObservable(second.result$.pipe(map((result) => result.value))).toBe('30ms (x|)', { x: ['b1', 'b2'] });
        scheduler.flush();
        expect(backend.peakConcurrency).toBe(2);
        expect(backend.calls.map((call) => `${call.name}@${call.startedAt}`)).toEqual(['a1@0', 'a2@0', 'a3@10', 'b1@10', 'b2@20']);
      });
    });

    test('mapPlaced and PLACED_PAR share the same cap', () => {
      inVirtualTime(({ hot, expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'gpu', concurrencyLimit: 1, defaultBehaviour: { delay: 0.01 } });
        const registry = registryOf({ gpu: backend });
        const step = (name: string) => [Process(name, () => ProcessResult.ok(name)), gpu] as const;
        expectObservable(PLACED_PAR(step('group'), { registry, scheduler }).result$.pipe(map((result) => result.value))).toBe('10ms (x|)', { x: ['group'] });
        // Arrives at 1 but waits for the group's slot until 10, then takes 10 ms.
        expectObservable(hot('-s|').pipe(mapPlaced(() => step('stream'), { registry, scheduler }), map((result) => result.value))).toBe('20ms (x|)', { x: 'stream' });
        scheduler.flush();
        expect(backend.peakConcurrency).toBe(1);
      });
    });
  });

  describe('cancellation', () => {
    test('unsubscribing at 7 ms cancels what runs, withdraws what waits, and frees the slot', () => {
      inVirtualTime(({ expectObservable, expectSubscriptions }, scheduler) => {
        const backend = new FakeBackend({ name: 'gpu', concurrencyLimit: 1, script: { writer: { hang: true, delay: 0.015, partials: ['t1', 't2'] } } });
        const registry = registryOf({ gpu: backend });
        const reasoner = processFromMarbles('reasoner', reasonerMarbles);
        const writer = Process('writer', () => ProcessResult.ok('never'));
        const reader = Process('reader', () => ProcessResult.ok('read'));
        const group = PLACED_PAR(reasoner, [writer, gpu], [reader, gpu], { registry, scheduler });
        expectObservable(group.events$.pipe(map(code)), '^ 6ms !').toBe('(abc)(de)', {
          a: 'started:reasoner#1',
          b: 'started:writer#1',
          c: 'queued:reader',
          d: 'partial:reasoner',
          e: 'partial:writer', // the first of two, spread over 15 ms: the second (at 10) never comes
        });
        expectSubscriptions(reasoner.subscriptions).toBe('^ 6ms !');
        // A later run gets the slot at once.
        expectObservable(PLACED_PAR([reader, gpu], { registry, scheduler }).events$.pipe(map(code)), '10ms ^').toBe('10ms (abc|)', {
          a: 'started:reader#1',
          b: 'settled:reader:ok',
          c: 'done:ok',
        });
        scheduler.flush();
        expect(backend.cancelled).toEqual(['writer']);
        expect(backend.calls[0]?.cancelReason).toEqual(expect.any(CancelledError));
        expect(backend.calls[0]?.cancelReason).toMatchObject({ reason: 'unsubscribed' });
        expect(backend.names).toEqual(['writer', 'reader']);
        expect(backend.inFlight).toBe(0);
      });
    });

    test('switchMap: a new question cancels the run of the previous one', () => {
      inVirtualTime(({ hot, expectObservable }, scheduler) => {
        const backend = new FakeBackend({ name: 'api', defaultBehaviour: { delay: 0.01 } });
        const registry = registryOf({ api: backend });
        const questions = hot('-a-----b------|');
        const answers = questions.pipe(switchMap((question) => PLACED_PAR([Process(`answer-${question}`, () => ProcessResult.ok(question)), api], { registry, scheduler }).events$));
        expectObservable(answers.pipe(map(code))).toBe('-a-----b 9ms (cd|)', {
          a: 'started:answer-a#1',
          b: 'started:answer-b#1',
          c: 'settled:answer-b:ok',
          d: 'done:ok',
        });
        scheduler.flush();
        expect(backend.cancelled).toEqual(['answer-a']);
        expect(backend.calls[0]?.endedAt).toBe(7);
      });
    });
  });
});
