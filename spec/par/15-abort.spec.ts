import { getEventListeners } from 'node:events';
import { NEVER, type SchedulerLike, Subject, map } from 'rxjs';
import { BackendRegistry, CancelledError, FailurePolicy, PAR, type PARResult, PLACED_PAR, Placement, Process, ProcessResult, UsageError, mapPlaced } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { eventCode, marbleScheduler } from '../support/helpers';

// SPEC 5 (issue 12): run({ signal }) and a `signal` option. Aborting cancels every unsettled
// process as unsubscribing does, but the run still ends with its PARResult, every unsettled entry a
// CancelledError with reason `aborted`; a signal already aborted runs nothing.
const api = new Placement({ model: 'opus', endpoint: 'api' });

function fake(scheduler: SchedulerLike): FakeBackend {
  return new FakeBackend({ name: 'api', concurrencyLimit: 1, scheduler, script: { quick: { result: 'q', delay: 0.001 }, slow: { result: 's', delay: 0.01 }, waiting: { result: 'w', delay: 0.01 } } });
}

function aborted(result: ProcessResult): CancelledError | undefined {
  const error = result.failureOrUndefined?.error;
  return error instanceof CancelledError && error.reason === 'aborted' ? error : undefined;
}

describe('SPEC 5 run({ signal })', () => {
  test('in virtual time: an abort at 3 ms resolves run() with the settled results kept and the rest cancelled (reason aborted)', async () => {
    const scheduler = marbleScheduler();
    const controller = new AbortController();
    let backend: FakeBackend | undefined;
    let pending: Promise<PARResult> | undefined;
    scheduler.run(() => {
      backend = fake(scheduler);
      const registry = new BackendRegistry().register('api', backend);
      const group = PLACED_PAR({ quick: [Process('quick', () => NEVER), api], slow: [Process('slow', () => NEVER), api], waiting: [Process('waiting', () => NEVER), api] }, { registry, scheduler });
      pending = group.run({ signal: controller.signal });
      scheduler.schedule(() => controller.abort(new Error('user pressed stop')), 3);
    });
    const result = await pending;
    expect(result?.get('quick').value).toBe('q');
    const slow = result?.get('slow');
    const waiting = result?.get('waiting');
    expect(slow && aborted(slow)).toBeDefined();
    expect(waiting && aborted(waiting)).toBeDefined();
    expect((slow && aborted(slow))?.cause).toEqual(new Error('user pressed stop'));
    expect(slow?.failure.key).toBe('slow');
    expect(slow?.failure.failedAt.getTime()).toBe(3);
    // The running one was cancelled on its backend (its signal aborted); the waiting one never ran.
    expect(backend?.names).toEqual(['quick', 'slow']);
    expect(backend?.cancelled).toEqual(['slow']);
    expect(backend?.calls[1]?.cancelReason).toBeInstanceOf(CancelledError);
    expect(result?.report().failureTypes).toEqual({ CancelledError: 2 });
  });

  test('a signal already aborted runs nothing: no health check, no call, every entry aborted', async () => {
    const backend = new FakeBackend({ name: 'api' });
    const registry = new BackendRegistry().register('api', backend);
    const controller = new AbortController();
    controller.abort('too late');
    const result = await PLACED_PAR([Process('a', () => ProcessResult.ok(1)), api], [Process('b', () => ProcessResult.ok(2)), api], { registry }).run({ signal: controller.signal });
    expect(result.results.map((entry) => aborted(entry)?.cause)).toEqual(['too late', 'too late']);
    expect(result.entries.map((entry) => entry.attempts)).toEqual([0, 0]);
    expect(backend.calls).toHaveLength(0);
    expect(backend.healthChecks).toBe(0);
  });

  test('the signal is removed from after the run: a long-lived signal keeps no listener of it', async () => {
    const controller = new AbortController();
    const group = PAR(Process('a', () => ProcessResult.ok(1)), { signal: controller.signal });
    await group.run({ signal: controller.signal });
    await group.run();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  test('under HALT an abort halts nothing: every unsettled one is aborted, none halted', async () => {
    const controller = new AbortController();
    const waits = (name: string) => Process(name, (ctx) => new Promise<ProcessResult>((resolve) => ctx.signal.addEventListener('abort', () => resolve(ProcessResult.fail(ctx.signal.reason)))));
    const pending = PAR({ a: waits('a'), b: waits('b') }).run({ signal: controller.signal });
    controller.abort();
    const result = await pending;
    expect(result.results.map((entry) => aborted(entry) !== undefined)).toEqual([true, true]);
  });

  test('under retry an aborted process is not run again', async () => {
    let runs = 0;
    const controller = new AbortController();
    const hanging = Process('hanging', () => {
      runs += 1;
      return NEVER;
    });
    const pending = PAR(hanging, { onFailure: FailurePolicy.retry({ maxAttempts: 5, baseDelay: 0 }) }).run({ signal: controller.signal });
    controller.abort();
    const result = await pending;
    expect(runs).toBe(1);
    expect(result.failures[0]?.attempts).toBe(1);
  });

  test('a bad signal is a UsageError naming it', () => {
    expect(() => PAR().run({ signal: 'stop' } as never)).toThrow(UsageError);
    expect(() => PAR().run({ signal: 'stop' } as never)).toThrow(/run\(options\)\.signal: expected an AbortSignal/);
    expect(() => PAR({ signal: {} } as never)).toThrow(/PAR options\.signal: expected an AbortSignal/);
  });
});

describe('SPEC 5 the signal option', () => {
  test('in virtual time: events$ settles the unsettled ones at the abort, then done', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold }) => {
      const controller = new AbortController();
      const quick = Process('quick', () => cold('-(r|)', { r: ProcessResult.ok('q') }));
      const slow = Process('slow', () => cold('----------(r|)', { r: ProcessResult.ok('s') }));
      const group = PLACED_PAR(quick, slow, { scheduler, signal: controller.signal });
      scheduler.schedule(() => controller.abort(), 3);
      const seen: string[] = [];
      group.events$.pipe(map(eventCode)).subscribe({ next: (code) => seen.push(`${scheduler.now()} ${code}`), complete: () => seen.push(`${scheduler.now()} |`) });
      scheduler.flush();
      expect(seen).toEqual(['0 started:quick#1', '0 started:slow#1', '1 settled:quick:ok', '3 settled:slow:CancelledError', '3 done:fail', '3 |']);
    });
  });

  test('either signal aborts the run: the option for every run, the call for its own', async () => {
    const forGroup = new AbortController();
    const forCall = new AbortController();
    const group = PAR(Process('hanging', () => NEVER), { signal: forGroup.signal });
    const first = group.run({ signal: forCall.signal });
    forCall.abort();
    expect(aborted((await first).at(0))).toBeDefined();
    const second = group.run();
    forGroup.abort();
    expect(aborted((await second).at(0))).toBeDefined();
    // The group's signal stays aborted: every later run starts aborted and runs nothing.
    expect(aborted((await group.run()).at(0))?.message).toMatch(/aborted/);
  });

  test('a nested group is cancelled with its parent; its own signal aborts only it', async () => {
    const outer = new AbortController();
    const inner = new AbortController();
    const reasons: unknown[] = [];
    const hanging = (name: string) =>
      Process(name, (ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
        return NEVER;
      });
    const nested = PAR(hanging('deep'), { signal: inner.signal }).withName('nested');
    const pending = PAR({ nested, sibling: hanging('sibling') }, { signal: outer.signal, onFailure: FailurePolicy.COLLECT }).run();
    inner.abort();
    await new Promise((resolve) => setImmediate(resolve));
    outer.abort();
    const result = await pending;
    expect(result.get('nested').failure.error).toMatchObject({ name: 'CancelledError', reason: 'aborted' });
    expect(result.get('sibling').failure.error).toMatchObject({ name: 'CancelledError', reason: 'aborted' });
    expect(reasons).toHaveLength(2);
  });
});

describe('SPEC 7 mapPlaced with a signal', () => {
  test('in virtual time: the abort settles what is in flight as aborted failures, then the stream completes; later values never run', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const controller = new AbortController();
      const source = hot('-a-b------c|', { a: 2, b: 10, c: 1 });
      const work = (frames: number) => Process(`work${frames}`, () => cold(`${'-'.repeat(frames)}(r|)`, { r: ProcessResult.ok(frames) }));
      const results = source.pipe(
        mapPlaced((frames) => work(frames), { scheduler, signal: controller.signal }),
        map((result) => (result.isOk ? String(result.value) : `${result.failure.processName}:${aborted(result) ? 'aborted' : result.failure.error.name}`)),
      );
      scheduler.schedule(() => controller.abort(), 5);
      expectObservable(results).toBe('---a-(b|)', { a: '2', b: 'work10:aborted' });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  test('under HALT too an abort completes the stream (it is no failure of a process)', async () => {
    const controller = new AbortController();
    const input = new Subject<number>();
    const seen: string[] = [];
    const done = new Promise<string>((resolve) =>
      input.pipe(mapPlaced(() => Process('hanging', () => NEVER), { signal: controller.signal })).subscribe({
        next: (result) => seen.push(result.failure.error.name),
        error: () => resolve('error'),
        complete: () => resolve('complete'),
      }),
    );
    input.next(1);
    input.next(2);
    controller.abort();
    expect(await done).toBe('complete');
    expect(seen).toEqual(['CancelledError', 'CancelledError']);
    expect(input.observed).toBe(false);
  });

  test('a signal already aborted completes at once without subscribing to the source', () => {
    const controller = new AbortController();
    controller.abort();
    const input = new Subject<number>();
    let completed = false;
    input.pipe(mapPlaced(() => Process('never', () => NEVER), { signal: controller.signal })).subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(input.observed).toBe(false);
  });
});
