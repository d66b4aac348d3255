import { map, of, take, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  BackendRegistry,
  BackendUnavailableError,
  CancelledError,
  DeadlineExceededError,
  FailurePolicy,
  InvalidResultError,
  PLACED_PAR,
  Placement,
  Process,
  ProcessContext,
  ProcessResult,
  UsageError,
} from '../../lib';
import { FakeBackend, eventCode } from '../../lib/testing';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

// Processes whose own bodies the fake replaces (or runs, for the default behaviour).
const reader = Process('reader', () => ProcessResult.ok('read'));
const writer = Process('writer', () => ProcessResult.ok('written'));
const classifier = Process('classifier', () => ProcessResult.ok('billing'));

describe('FakeBackend', () => {
  test('a scripted backend in a marble test: answers, streams partials and records what it was given', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const api = new FakeBackend({
        name: 'api',
        script: {
          reader: { result: 'the docs', delay: 0.01 },
          writer: { result: 'a draft', delay: 0.03, partials: ['a', ' draft'] },
        },
      });
      const registry = new BackendRegistry().register('api', api);
      const opus = new Placement({ model: 'opus', endpoint: 'api' });
      const group = PLACED_PAR([reader, opus], [writer, opus], { registry, scheduler });

      // The writer's partials are spread over its 30 ms: at 10 and 20 ms (after the reader's answer at 10).
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 6ms (dc) 6ms c 9ms (ef|)', {
        a: 'started:reader#1',
        b: 'started:writer#1',
        c: 'partial:writer',
        d: 'settled:reader:ok',
        e: 'settled:writer:ok',
        f: 'done:ok',
      });
      scheduler.flush();
      expect(api.names).toEqual(['reader', 'writer']);
      expect(api.placements).toEqual([opus, opus]);
      expect(api.contexts.map((ctx) => ctx.backend)).toEqual(['api', 'api']);
      expect(api.calls.map((call) => [call.status, call.startedAt, call.endedAt])).toEqual([
        ['finished', 0, 10],
        ['finished', 0, 30],
      ]);
      expect(api.inFlight).toBe(0);
    });
  });

  test('the default behaviour runs the process itself, after the default delay if any', async () => {
    const plain = new FakeBackend();
    const registry = new BackendRegistry().register('fake', plain);
    const on = new Placement({ endpoint: 'fake' });
    const result = await PLACED_PAR([reader, on], [writer, on], { registry }).run();
    expect(result.value).toEqual(['read', 'written']);
    expect(plain.name).toBe('fake');
    expect(plain.calls.map((call) => call.behaviour)).toEqual([{}, {}]);

    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const slow = new FakeBackend({ name: 'slow', scheduler, defaultBehaviour: { delay: 0.005 } });
      const group = PLACED_PAR([reader, on], { registry: new BackendRegistry().register('fake', slow), scheduler });
      expectObservable(group.result$.pipe(map((done) => done.value))).toBe('5ms (v|)', { v: ['read'] });
    });
  });

  test('caps: under PLACED_PAR the peak concurrency never passes the cap', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const gpu = new FakeBackend({ name: 'gpu', concurrencyLimit: 2, defaultBehaviour: { result: 'done', delay: 0.01 } });
      const registry = new BackendRegistry().register('gpu', gpu);
      const on = new Placement({ endpoint: 'gpu' });
      const group = PLACED_PAR(...['a', 'b', 'c', 'd', 'e'].map((name) => [Process(name, () => ProcessResult.ok(name)), on] as const), { registry, scheduler });
      // Five 10 ms calls, two at a time: 10, 20 and 30 ms.
      expectObservable(group.result$.pipe(map((result) => result.isOk))).toBe('30ms (x|)', { x: true });
      scheduler.flush();
      expect(gpu.peakConcurrency).toBe(2);
      expect(gpu.inFlight).toBe(0);
      expect(gpu.calls.map((call) => call.startedAt)).toEqual([0, 0, 10, 10, 20]);
    });
  });

  test('HALT: the calls cancelled by the failure are recorded, with the signal\'s reason', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const api = new FakeBackend({
        name: 'api',
        script: {
          reader: { hang: true },
          writer: { result: 'late', delay: 0.02, partials: ['never seen'] },
          classifier: { error: new Error('429'), delay: 0.005 },
        },
      });
      const registry = new BackendRegistry().register('api', api);
      const on = new Placement({ endpoint: 'api' });
      const group = PLACED_PAR([reader, on], [writer, on], [classifier, on], { registry, scheduler });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(abc) (defg|)', {
        a: 'started:reader#1',
        b: 'started:writer#1',
        c: 'started:classifier#1',
        d: 'settled:classifier:Error',
        e: 'settled:reader:CancelledError',
        f: 'settled:writer:CancelledError',
        g: 'done:fail',
      });
      scheduler.flush();
      expect(api.cancelled).toEqual(['reader', 'writer']);
      const [first] = api.calls;
      expect(first?.cancelReason).toBeInstanceOf(CancelledError);
      expect(first?.cancelReason).toMatchObject({ reason: 'halt', haltedBy: 'classifier' });
      expect(first?.endedAt).toBe(5);
      expect(api.calls[2]?.status).toBe('finished');
      expect(api.inFlight).toBe(0);
    });
  });

  test('health false: the process is never given to the backend and fails with BackendUnavailableError', async () => {
    const down = new FakeBackend({ name: 'down', healthy: false });
    const registry = new BackendRegistry().register('down', down);
    const result = await PLACED_PAR([reader, new Placement({ endpoint: 'down' })], { registry }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(BackendUnavailableError);
    expect(result.failures[0]?.backend).toBe('down');
    expect(down.calls).toEqual([]);
    expect(down.healthChecks).toBe(1);
  });

  test('a health check that answers with an Observable stays in virtual time', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const warming = new FakeBackend({ name: 'warming', healthy: () => timer(3).pipe(map(() => true)) });
      const registry = new BackendRegistry().register('warming', warming);
      const group = PLACED_PAR([reader, new Placement({ endpoint: 'warming' })], { registry, scheduler });
      expectObservable(group.result$.pipe(map((result) => result.value))).toBe('3ms (v|)', { v: ['read'] });
    });
  });

  test('hang + deadline: the call is cancelled at the deadline and the pair fails as running', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const stuck = new FakeBackend({ name: 'stuck', script: { reader: { hang: true, partials: ['still here'] } } });
      const registry = new BackendRegistry().register('stuck', stuck);
      const on = new Placement({ endpoint: 'stuck' });
      const group = PLACED_PAR([reader, on], [writer, on], { registry, scheduler, deadline: 0.05, onFailure: FailurePolicy.COLLECT });
      const outcome = group.result$.pipe(map((result) => result.results.map((r) => (r.isOk ? r.value : `${r.failure.error.name}:${(r.failure.error as DeadlineExceededError).phase}`))));
      expectObservable(outcome).toBe('50ms (x|)', { x: ['DeadlineExceededError:running', 'written'] });
      scheduler.flush();
      expect(stuck.cancelled).toEqual(['reader']);
      expect(stuck.calls[0]?.cancelReason).toBeInstanceOf(DeadlineExceededError);
      expect(stuck.calls[0]?.endedAt).toBe(50);
    });
  });

  test('scripts by name and call order: an array per name, byCall by position, or a function', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const flaky = new FakeBackend({ name: 'flaky', script: { reader: [{ error: new Error('first') }, { error: new Error('second') }, { result: 'third' }] } });
      const registry = new BackendRegistry().register('flaky', flaky);
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.005 });
      const group = PLACED_PAR([reader, new Placement({ endpoint: 'flaky' })], { registry, scheduler, onFailure: policy });
      // Fails at 0 and 5, answers at 10: a group (ab) takes 4 frames, so 1ms more reaches frame 5.
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 1ms (cd) 1ms (efg|)', {
        a: 'started:reader#1',
        b: 'retrying:reader#2',
        c: 'started:reader#2',
        d: 'retrying:reader#3',
        e: 'started:reader#3',
        f: 'settled:reader:ok',
        g: 'done:ok',
      });
      scheduler.flush();
      expect(flaky.calls.map((call) => [call.nameIndex, call.attempt])).toEqual([
        [0, 1],
        [1, 2],
        [2, 3],
      ]);
    });
  });

  test('byCall comes before the script; a script function sees the call', async () => {
    const backend = new FakeBackend({ byCall: [undefined, { result: 'second call' }], script: ({ name, index }) => ({ result: `${name} @${index}` }) });
    const registry = new BackendRegistry().register('fake', backend);
    const on = new Placement({ endpoint: 'fake' });
    const result = await PLACED_PAR([reader, on], [writer, on], [classifier, on], { registry }).run();
    expect(result.value).toEqual(['reader @0', 'second call', 'classifier @2']);
  });

  test('an array past its end falls back to the default behaviour', async () => {
    const backend = new FakeBackend({ script: { reader: [{ result: 'scripted' }] } });
    const registry = new BackendRegistry().register('fake', backend);
    const group = PLACED_PAR([reader, new Placement({ endpoint: 'fake' })], { registry });
    expect((await group.run()).value).toEqual(['scripted']);
    expect((await group.run()).value).toEqual(['read']);
  });

  test('misbehaviours become failures: throwSync, error, emptyCompletion, a failed result', async () => {
    const failed = ProcessResult.fail(new RangeError('scripted failure'));
    const backend = new FakeBackend({
      script: {
        a: { throwSync: new TypeError('at the call') },
        b: { throwSync: true },
        c: { error: new SyntaxError('stream broke') },
        d: { emptyCompletion: true },
        e: { result: failed },
        f: { result: undefined },
      },
    });
    const registry = new BackendRegistry().register('fake', backend);
    const on = new Placement({ endpoint: 'fake' });
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const result = await PLACED_PAR(...names.map((name) => [Process(name, () => ProcessResult.ok(name)), on] as const), { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(result.results.map((r) => (r.isOk ? r.value : r.failure.error.constructor.name))).toEqual(['TypeError', 'Error', 'SyntaxError', 'InvalidResultError', 'RangeError', undefined]);
    expect(result.failures[3]?.error).toBeInstanceOf(InvalidResultError);
    expect(result.failures.every((failure) => failure.backend === 'fake')).toBe(true);
    expect(backend.calls.map((call) => call.status)).toEqual(['threw', 'threw', 'finished', 'finished', 'finished', 'finished']);
    expect(backend.inFlight).toBe(0);
  });

  test('unsubscribing from events$ records the running calls as cancelled', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const backend = new FakeBackend({ defaultBehaviour: { hang: true } });
      const registry = new BackendRegistry().register('fake', backend);
      const on = new Placement({ endpoint: 'fake' });
      const group = PLACED_PAR([reader, on], [writer, on], { registry, scheduler });
      expectObservable(group.events$.pipe(map(eventCode)), '^ 9ms !').toBe('(ab)', { a: 'started:reader#1', b: 'started:writer#1' });
      scheduler.flush();
      expect(backend.cancelled).toEqual(['reader', 'writer']);
      expect(backend.calls[0]?.cancelReason).toMatchObject({ reason: 'unsubscribed' });
      expect(backend.calls.map((call) => call.endedAt)).toEqual([10, 10]);
      expect(backend.inFlight).toBe(0);
    });
  });

  test('direct use: execute() is an Observable you can subscribe to yourself', () => {
    const backend = new FakeBackend({ script: { reader: { result: 'direct', partials: ['p'] } } });
    const emitted: unknown[] = [];
    const ctx = new ProcessContext({ processName: 'reader', onEmit: (value) => emitted.push(value) });
    const results: unknown[] = [];
    backend.execute(reader, ctx).subscribe((result) => results.push(result.value));
    expect(results).toEqual(['direct']);
    expect(emitted).toEqual(['p']);
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    let error: unknown;
    backend.execute(reader, new ProcessContext({ processName: 'reader', signal: aborted.signal })).subscribe({ error: (e: unknown) => (error = e) });
    expect((error as Error).message).toBe('gone');
    expect(backend.cancelled).toEqual(['reader']);
  });

  test('reset() forgets the records and restarts the script', () => {
    const backend = new FakeBackend({ script: { reader: [{ result: 1 }, { result: 2 }] } });
    const ctx = (): ProcessContext => new ProcessContext({ processName: 'reader' });
    const values: unknown[] = [];
    backend.execute(reader, ctx()).pipe(take(1)).subscribe((result) => values.push(result.value));
    backend.reset();
    expect(backend.calls).toEqual([]);
    expect(backend.peakConcurrency).toBe(0);
    backend.execute(reader, ctx()).subscribe((result) => values.push(result.value));
    expect(values).toEqual([1, 1]);
  });

  test('bad options are a UsageError naming the option', () => {
    expect(() => new FakeBackend({ name: '' })).toThrow(UsageError);
    expect(() => new FakeBackend({ concurrencyLimit: 0 })).toThrow(/FakeBackend options.concurrencyLimit/);
    expect(() => new FakeBackend({ script: { reader: { delay: -1 } } })).toThrow(/FakeBackend options.script.reader.delay/);
    expect(() => new FakeBackend({ script: { reader: [{ partials: 'x' as never }] } })).toThrow(/script.reader\[0\].partials/);
    expect(() => new FakeBackend({ scheduler: {} as never })).toThrow(/options.scheduler/);
    expect(() => new FakeBackend({ healthy: 'yes' as never })).toThrow(/options.healthy/);
    expect(() => new FakeBackend({ byCall: [null as never] })).toThrow(/byCall\[0\]/);
    // of() is here only to show that a health function may answer with any HealthAnswer.
    expect(new FakeBackend({ healthy: () => of(true) }).healthCheck()).toBeDefined();
  });

  test('unknown keys are a UsageError naming the key and listing the known ones, in options, scripts, byCall and the default', () => {
    expect(() => new FakeBackend({ nme: 'x' } as never)).toThrow(UsageError);
    expect(() => new FakeBackend({ nme: 'x' } as never)).toThrow(
      'FakeBackend options.nme: expected one of the known options (name, concurrencyLimit, rateLimit, pauseOnRateLimit, scheduler, healthy, script, byCall, defaultBehaviour), received the string "x"',
    );
    expect(() => new FakeBackend({ script: { a: { reslt: 1 } as never } })).toThrow(
      'FakeBackend options.script.a.reslt: expected one of the known options (result, error, delay, partials, hang, emptyCompletion, throwSync), received the number 1',
    );
    expect(() => new FakeBackend({ script: { a: [{ result: 1 }, { dealy: 2 } as never] } })).toThrow(/FakeBackend options\.script\.a\[1\]\.dealy: expected one of the known options/);
    expect(() => new FakeBackend({ byCall: [undefined, { hange: true } as never] })).toThrow(/FakeBackend options\.byCall\[1\]\.hange/);
    expect(() => new FakeBackend({ defaultBehaviour: { delay: 0.1, partial: [] } as never })).toThrow(/FakeBackend options\.defaultBehaviour\.partial/);
    expect(() => new FakeBackend({ script: 'reader' as never })).toThrow(/FakeBackend options\.script: expected an object of behaviours by process name, or a function/);
    expect(() => new FakeBackend({ hang: true } as never)).toThrow(/FakeBackend options\.hang/);
  });

  test('a behaviour a function script returns is checked at the call: an unknown key fails that pair, naming it', async () => {
    const api = new FakeBackend({ name: 'api', script: () => ({ reslt: 'x' }) as never });
    const registry = new BackendRegistry().register('api', api);
    const result = await PLACED_PAR([reader, new Placement({ endpoint: 'api' })], { registry }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(UsageError);
    expect(result.failures[0]?.error.message).toMatch(/FakeBackend script\(call 0, "reader"\)\.reslt: expected one of the known options/);
  });
});

describe('FakeBackend reports the scripted entries no call followed', () => {
  const on = new Placement({ endpoint: 'api' });

  test('a misspelt name, the unused end of a list and an unused byCall entry are listed; assertAllScriptsUsed throws naming them', async () => {
    const api = new FakeBackend({
      name: 'api',
      script: { clasifier: { error: new Error('429') }, reader: [{ result: 'once' }, { result: 'twice' }], writer: { result: 'draft' } },
      byCall: [undefined, undefined, undefined, { result: 'fourth call' }],
    });
    const registry = new BackendRegistry().register('api', api);
    const result = await PLACED_PAR([reader, on], [writer, on], [classifier, on], { registry }).run();
    // The misspelt script never applied: the classifier ran itself and the run succeeded.
    expect(result.isOk).toBe(true);
    expect(api.unusedScripts()).toEqual(['clasifier', 'reader[1]', 'byCall[3]']);
    expect(() => api.assertAllScriptsUsed()).toThrow(
      'FakeBackend "api": scripted entries no call followed: clasifier, reader[1], byCall[3] (the calls were of: reader, writer, classifier)',
    );
  });

  test('with every entry followed (a retry using the second of a list) there is nothing to report', async () => {
    const api = new FakeBackend({ name: 'api', script: { reader: [{ error: new Error('once') }, { result: 'second time' }], writer: { result: 'draft' } } });
    const registry = new BackendRegistry().register('api', api);
    const result = await PLACED_PAR([reader, on], [writer, on], { registry, onFailure: FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0 }) }).run();
    expect(result.value).toEqual(['second time', 'draft']);
    expect(api.unusedScripts()).toEqual([]);
    expect(() => api.assertAllScriptsUsed()).not.toThrow();
  });

  test('reset() starts the count over; a function script has nothing to report', async () => {
    const api = new FakeBackend({ name: 'api', script: { reader: { result: 'r' } } });
    const registry = new BackendRegistry().register('api', api);
    await PLACED_PAR([reader, on], { registry }).run();
    expect(api.unusedScripts()).toEqual([]);
    api.reset();
    expect(api.unusedScripts()).toEqual(['reader']);
    expect(new FakeBackend({ script: () => undefined }).unusedScripts()).toEqual([]);
  });
});
