import { type SchedulerAction, type SchedulerLike, type Subscription, asyncScheduler, map, take } from 'rxjs';
import { BackendRegistry, CancelledError, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { marbleScheduler, sleep } from '../support/helpers';

// SPEC 5.9: unsubscribing from events$ or result$ cancels every unsettled process and frees its
// slot. After a run settles no timer, subscription or listener of it remains.
describe('SPEC 5.9 unsubscribing cancels; a settled run leaves nothing behind', () => {
  test('unsubscribing from events$ aborts running processes and frees their slots', async () => {
    const backend = new FakeBackend({ name: 'pool', concurrencyLimit: 2 });
    const registry = new BackendRegistry().register('pool', backend);
    const on = new Placement({ endpoint: 'pool' });
    const reasons: unknown[] = [];
    const patient = (name: string) =>
      Process(name, async (ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
        await sleep(10_000, ctx.signal);
        return ProcessResult.ok();
      });
    const subscription = PLACED_PAR([patient('a'), on], [patient('b'), on], [patient('c'), on], { registry }).events$.subscribe();
    await sleep(10);
    expect(backend.inFlight).toBe(2);
    subscription.unsubscribe();
    expect(reasons).toEqual([expect.any(CancelledError), expect.any(CancelledError)]);
    expect(reasons[0]).toMatchObject({ reason: 'unsubscribed' });
    expect(backend.inFlight).toBe(0);
    // The third never started, and the slots serve the next run at once.
    expect(backend.names).toEqual(['a', 'b']);
    const next = await PLACED_PAR([Process('next', () => ProcessResult.ok(1)), on], { registry }).run();
    expect(next.value).toEqual([1]);
  });

  test('take(1) on events$ cancels the started process and starts no other', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const long = cold<ProcessResult>('----(r|)', { r: ProcessResult.ok('long') });
      const second = cold<ProcessResult>('----(r|)', { r: ProcessResult.ok('second') });
      const group = PLACED_PAR(Process('long', () => long), Process('second', () => second), { scheduler });
      expectObservable(group.events$.pipe(take(1), map((event) => event.type))).toBe('(s|)', { s: 'started' });
      expectSubscriptions(long.subscriptions).toBe('(^!)');
      // The consumer left on the first event: the second process is never started.
      expectSubscriptions(second.subscriptions).toBe([]);
    });
  });

  test('in virtual time: a run that settles before its deadline leaves no scheduled action', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold }) => {
      const policy = FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0.002 });
      const flaky = Process('flaky', (ctx) => (ctx.attempt === 1 ? cold<ProcessResult>('-#') : cold('-(r|)', { r: ProcessResult.ok(1) })));
      let settled = false;
      PLACED_PAR(flaky, { scheduler, onFailure: policy, deadline: 60 }).result$.subscribe(() => (settled = true));
      scheduler.flush();
      expect(settled).toBe(true);
      expect(scheduler.actions).toHaveLength(0);
      expect(scheduler.now()).toBeLessThan(10);
    });
  });

  test('in real time: no engine timer is left after runs with deadlines, retries and HALT', async () => {
    // A scheduler that counts the timers the engine has scheduled and not yet run or cancelled.
    const live = new Set<Subscription>();
    const scheduler: SchedulerLike = {
      now: () => asyncScheduler.now(),
      schedule<S>(work: (this: SchedulerAction<S>, state?: S) => void, delay?: number, state?: S): Subscription {
        const action = asyncScheduler.schedule<S>(function (this: SchedulerAction<S>, inner?: S) {
          live.delete(action);
          work.call(this, inner);
        }, delay, state);
        live.add(action);
        action.add(() => live.delete(action));
        return action;
      },
    };
    const policy = FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0.001 });
    let calls = 0;
    const flaky = Process('flaky', () => {
      calls += 1;
      if (calls % 3 !== 0) throw new Error('flaky');
      return ProcessResult.ok();
    });
    const slow = Process('slow', async (ctx) => {
      await sleep(5_000, ctx.signal);
      return ProcessResult.ok();
    });
    const broken = Process('broken', () => Promise.reject(new Error('x')));
    await PLACED_PAR(flaky, { onFailure: policy, deadline: 30, scheduler }).run();
    expect(calls).toBe(3);
    expect(live.size).toBe(0);
    await PLACED_PAR(slow, broken, { deadline: 30, scheduler }).run();
    expect(live.size).toBe(0);
    await PLACED_PAR(slow, { deadline: 0.02, scheduler }).run();
    expect(live.size).toBe(0);
  });
});
