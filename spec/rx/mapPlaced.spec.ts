import { Subject, map, of, throwError } from 'rxjs';
import {
  BackendRegistry,
  CancelledError,
  type DeadlineExceededError,
  FailurePolicy,
  ItemFailedError,
  PLACED_PAR,
  Placement,
  Process,
  ProcessResult,
  UsageError,
  mapPlaced,
} from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { marbleScheduler, sleep } from '../support/helpers';

const describeResult = (result: ProcessResult): string => (result.isOk ? String(result.value) : `${result.failure.processName}:${result.failure.error.name}`);

describe('mapPlaced', () => {
  test('emits results in completion order by default', () => {
    marbleScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a-b-|', { a: 5, b: 1 });
      const work = (value: number) => Process(`work${value}`, () => cold(`${value}ms (r|)`, { r: ProcessResult.ok(value * 10) }));
      const results = source.pipe(mapPlaced((value) => work(value)), map(describeResult));
      // a arrives at 1 and takes 5 (settles at 6); b arrives at 3 and takes 1 (settles at 4).
      expectObservable(results).toBe('----x-(y|)', { x: '10', y: '50' });
    });
  });

  test('emits results in source order with { ordered: true }', () => {
    marbleScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a-b-|', { a: 5, b: 1 });
      const work = (value: number) => Process(`work${value}`, () => cold(`${value}ms (r|)`, { r: ProcessResult.ok(value * 10) }));
      const results = source.pipe(mapPlaced((value) => work(value), { ordered: true }), map(describeResult));
      expectObservable(results).toBe('------(xy|)', { x: '50', y: '10' });
    });
  });

  test('passes the index and accepts [process, placement] pairs', async () => {
    const seen: string[] = [];
    const placement = new Placement({ model: 'haiku' });
    const echo = Process('echo', (ctx) => ProcessResult.ok(`${String(ctx.input)}@${ctx.placement.model ?? ''}`));
    await new Promise<void>((resolve) =>
      of('x', 'y')
        .pipe(mapPlaced((value, index) => [echo.withInput(`${value}${index}`), placement] as const))
        .subscribe({ next: (result) => seen.push(String(result.value)), complete: resolve }),
    );
    expect(seen).toEqual(['x0@haiku', 'y1@haiku']);
  });

  test('shares the backend cap with a concurrent PLACED_PAR', async () => {
    const backend = new FakeBackend({ name: 'shared', concurrencyLimit: 2 });
    const registry = new BackendRegistry().register('shared', backend);
    const on = new Placement({ endpoint: 'shared' });
    const work = (name: string) =>
      Process(name, async (ctx) => {
        await sleep(10, ctx.signal);
        return ProcessResult.ok(name);
      });
    const group = PLACED_PAR([work('g1'), on], [work('g2'), on], [work('g3'), on], { registry }).run();
    const streamed: string[] = [];
    const stream = new Promise<void>((resolve) =>
      of('m1', 'm2', 'm3')
        .pipe(mapPlaced((name) => [work(name), on] as const, { registry }))
        .subscribe({ next: (result) => streamed.push(String(result.value)), complete: resolve }),
    );
    const [groupResult] = await Promise.all([group, stream]);
    expect(groupResult.isOk).toBe(true);
    expect(streamed.sort()).toEqual(['m1', 'm2', 'm3']);
    expect(backend.peakConcurrency).toBe(2);
    expect(backend.names).toEqual(['g1', 'g2', 'g3', 'm1', 'm2', 'm3']);
  });

  test('HALT: the first non-optional failure cancels what is in flight, then errors the stream naming the item', () => {
    marbleScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const long = cold<ProcessResult>('10ms (r|)', { r: ProcessResult.ok('long') });
      const broken = cold<ProcessResult>('2ms #', undefined, new Error('boom'));
      const source = hot('-a-b---c|', { a: 'long', b: 'broken', c: 'never' });
      const results = source.pipe(
        mapPlaced((name) => Process(name, () => (name === 'long' ? long : broken))),
        map(describeResult),
      );
      expectObservable(results).toBe('-----#', undefined, expect.objectContaining({ name: 'ItemFailedError', index: 1, processName: 'broken', cause: new Error('boom') }));
      expectSubscriptions(long.subscriptions).toBe('-^---!');
    });
  });

  test('HALT: in-flight processes see their signal abort with a CancelledError', async () => {
    const reasons: unknown[] = [];
    const patient = Process('patient', async (ctx) => {
      ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
      await sleep(5_000, ctx.signal);
      return ProcessResult.ok();
    });
    const failing = Process('failing', async () => {
      await sleep(5);
      throw new Error('nope');
    });
    const error = await new Promise<unknown>((resolve) =>
      of(patient, failing).pipe(mapPlaced((process) => process)).subscribe({ error: resolve }),
    );
    expect((error as Error).cause).toEqual(new Error('nope'));
    expect(reasons).toEqual([expect.any(CancelledError)]);
    expect(reasons[0]).toMatchObject({ reason: 'halt', haltedBy: 'failing' });
  });

  test('HALT: the error says which item failed (index, process, placement), the original error its cause', async () => {
    const opus = new Placement({ model: 'opus', endpoint: 'anthropic' });
    const original = new Error('rate limited');
    const answerer = (question: string) => Process(`answer-${question}`, async () => {
      await sleep(question === 'q2' ? 1 : 50);
      if (question === 'q2') throw original;
      return ProcessResult.ok(question);
    });
    const error = await new Promise<unknown>((resolve) =>
      of('q0', 'q1', 'q2', 'q3').pipe(mapPlaced((question) => [answerer(question), opus])).subscribe({ error: resolve }),
    );
    expect(error).toBeInstanceOf(ItemFailedError);
    if (!(error instanceof ItemFailedError)) return;
    expect(error.index).toBe(2);
    expect(error.processName).toBe('answer-q2');
    expect(error.placement).toBe(opus);
    expect(error.cause).toBe(original);
    expect(error.failure.error).toBe(original);
    expect(error.message).toBe('mapPlaced item 2 (process "answer-q2", placement model=opus, endpoint=anthropic) failed and halted the stream: Error: rate limited');
  });

  test('COLLECT emits failed results and goes on; an optional failure never halts', () => {
    marbleScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a-b-c|', { a: 'ok', b: 'bad', c: 'ok2' });
      const make = (name: string) => Process(name, () => (name === 'bad' ? cold<ProcessResult>('-#') : cold('-(r|)', { r: ProcessResult.ok(name) })));
      expectObservable(source.pipe(mapPlaced(make, { onFailure: FailurePolicy.COLLECT }), map(describeResult))).toBe('--a-b-(c|)', {
        a: 'ok',
        b: 'bad:Error',
        c: 'ok2',
      });
      expectObservable(source.pipe(mapPlaced((name) => make(name).optional()), map(describeResult))).toBe('--a-b-(c|)', {
        a: 'ok',
        b: 'bad:Error',
        c: 'ok2',
      });
    });
  });

  test('retry runs a failed item again after its delay', () => {
    marbleScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a|');
      const flaky = Process('flaky', (ctx) => (ctx.attempt === 1 ? cold<ProcessResult>('-#') : cold('-(r|)', { r: ProcessResult.ok(`attempt ${ctx.attempt}`) })));
      const policy = FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.003 });
      // Arrives at 1, fails at 2, retries at 5, succeeds at 6.
      expectObservable(source.pipe(mapPlaced(() => flaky, { onFailure: policy }), map(describeResult))).toBe('------(r|)', { r: 'attempt 2' });
    });
  });

  test('the deadline is per item, counted from its arrival', () => {
    marbleScheduler().run(({ cold, hot, expectObservable }) => {
      const source = hot('-a-------b|', { a: 3, b: 8 });
      const work = (ms: number) => Process(`work${ms}`, () => cold(`${ms}ms (r|)`, { r: ProcessResult.ok(ms) }));
      const results = source.pipe(
        mapPlaced(work, { deadline: 0.005, onFailure: FailurePolicy.COLLECT }),
        map((result) => (result.isOk ? String(result.value) : `${(result.failure.error as DeadlineExceededError).phase}`)),
      );
      expectObservable(results).toBe('----a---------(b|)', { a: '3', b: 'running' });
    });
  });

  test('unsubscribing cancels what is in flight and frees the slots', async () => {
    const backend = new FakeBackend({ name: 'pool', concurrencyLimit: 1 });
    const registry = new BackendRegistry().register('pool', backend);
    const on = new Placement({ endpoint: 'pool' });
    const aborted: string[] = [];
    const patient = (name: string) =>
      Process(name, async (ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.push(name));
        await sleep(5_000, ctx.signal);
        return ProcessResult.ok();
      });
    const subscription = of('a', 'b').pipe(mapPlaced((name) => [patient(name), on] as const, { registry })).subscribe();
    await sleep(10);
    subscription.unsubscribe();
    expect(aborted).toEqual(['a']);
    expect(backend.inFlight).toBe(0);
    expect(backend.names).toEqual(['a']);
  });

  test('a source error cancels in-flight work and is forwarded', async () => {
    const source = new Subject<string>();
    const aborted: string[] = [];
    const patient = Process('patient', async (ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.push('patient'));
      await sleep(5_000, ctx.signal);
      return ProcessResult.ok();
    });
    const forwarded = new Promise<unknown>((resolve) => source.pipe(mapPlaced(() => patient)).subscribe({ error: resolve }));
    source.next('go');
    await sleep(5);
    source.error(new Error('upstream broke'));
    expect(((await forwarded) as Error).message).toBe('upstream broke');
    expect(aborted).toEqual(['patient']);
  });

  test('a project() that throws or returns no process errors the stream with a clear error', async () => {
    const thrown = await new Promise<unknown>((resolve) =>
      of(1)
        .pipe(
          mapPlaced((): never => {
            throw new Error('project failed');
          }),
        )
        .subscribe({ error: resolve }),
    );
    expect((thrown as Error).message).toBe('project failed');
    const wrong = await new Promise<unknown>((resolve) =>
      of(1)
        .pipe(mapPlaced(() => 'not a process' as never))
        .subscribe({ error: resolve }),
    );
    expect(wrong).toBeInstanceOf(UsageError);
    expect((wrong as UsageError).argument).toBe('mapPlaced project(value, 0) result');
  });

  test('bad options are a UsageError at the call', () => {
    expect(() => mapPlaced(() => Process('x', () => ProcessResult.ok()), { ordered: 'yes' as never })).toThrow(UsageError);
    expect(() => mapPlaced(() => Process('x', () => ProcessResult.ok()), { deadline: 0 })).toThrow(/mapPlaced options.deadline/);
    expect(() => mapPlaced('nope' as never)).toThrow(/mapPlaced\(project\)/);
  });

  test('a source that errors synchronously still reaches the subscriber', async () => {
    const error = await new Promise<unknown>((resolve) =>
      throwError(() => new Error('at once'))
        .pipe(mapPlaced(() => Process('x', () => ProcessResult.ok())))
        .subscribe({ error: resolve }),
    );
    expect((error as Error).message).toBe('at once');
  });
});
