import { type Observable, defer, map } from 'rxjs';
import { FailurePolicy, Process, ProcessResult } from '../../../lib';
import { retryBy } from '../../../lib/par/retryBy';
import { type EngineEvent, type PlacedTask, failed } from '../../../lib/par/task';
import { marbleScheduler } from '../../support/helpers';
import { runSettings, tasksOf } from './support';

const code = (event: EngineEvent<unknown>): string => (event.type === 'retrying' ? `retry${event.attempt}@${event.delay}` : event.type === 'settled' ? (event.result.isOk ? 'ok' : 'fail') : event.type);

/** An attempt that fails until attempt `okOn`, each after 1 ms. */
function attempts(task: PlacedTask<unknown>, okOn: number, cold: (marbles: string, values: Record<string, EngineEvent<unknown>>) => Observable<EngineEvent<unknown>>, error = new Error('flaky')) {
  return defer(() => {
    task.attempts += 1;
    const result = task.attempts >= okOn ? ProcessResult.ok(task.attempts) : failed(task, error);
    return cold('-(s|)', { s: { type: 'settled', task, result } });
  });
}

describe('retryBy: a failed attempt runs again by the policy', () => {
  test('waits the backoff on the scheduler, announcing each retry, until an attempt succeeds', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const [task] = tasksOf<unknown>(runSettings(scheduler), Process('p', () => ProcessResult.ok(1)));
      if (task === undefined) throw new Error('no task');
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.002 });
      expectObservable(attempts(task, 3, cold).pipe(retryBy(task, policy), map(code))).toBe('-a--b--(c|)', { a: 'retry2@0.002', b: 'retry3@0.002', c: 'ok' });
    });
  });

  test('after maxAttempts the last failure is the settlement', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const [task] = tasksOf<unknown>(runSettings(scheduler), Process('p', () => ProcessResult.ok(1)));
      if (task === undefined) throw new Error('no task');
      const policy = FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.001 });
      expectObservable(attempts(task, 5, cold).pipe(retryBy(task, policy), map(code))).toBe('-a-(b|)', { a: 'retry2@0.001', b: 'fail' });
    });
  });

  test("an error's retryAfter lengthens the wait; retryable: false is final", () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const settings = runSettings(scheduler);
      const [slow, final] = tasksOf<unknown>(settings, Process('slow', () => ProcessResult.ok(1)), Process('final', () => ProcessResult.ok(1)));
      if (slow === undefined || final === undefined) throw new Error('no task');
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.001 });
      const limited = Object.assign(new Error('429'), { retryAfter: 0.005 });
      const permanent = Object.assign(new Error('401'), { retryable: false });
      expectObservable(attempts(slow, 2, cold, limited).pipe(retryBy(slow, policy), map(code))).toBe('-a-----(b|)', { a: 'retry2@0.005', b: 'ok' });
      expectObservable(attempts(final, 2, cold, permanent).pipe(retryBy(final, policy), map(code))).toBe('-(b|)', { b: 'fail' });
    });
  });

  test('no retry is scheduled that could only start after the deadline', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const [task] = tasksOf<unknown>(runSettings(scheduler, { deadlineAt: 3 }), Process('p', () => ProcessResult.ok(1)));
      if (task === undefined) throw new Error('no task');
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0.005 });
      expectObservable(attempts(task, 3, cold).pipe(retryBy(task, policy), map(code))).toBe('-(b|)', { b: 'fail' });
      scheduler.flush();
      expect(scheduler.actions).toHaveLength(0);
    });
  });
});

describe('retryBy: what is final', () => {
  test('a settlement that no attempt made (a failed health check) is not retried', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const [task] = tasksOf<unknown>(runSettings(scheduler), Process('p', () => ProcessResult.ok(1)));
      if (task === undefined) throw new Error('no task');
      const unhealthy = defer(() => cold('(s|)', { s: { type: 'settled' as const, task, result: failed(task, new Error('its health check threw')) } }));
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 0 });
      expectObservable(unhealthy.pipe(retryBy(task, policy), map(code))).toBe('(b|)', { b: 'fail' });
    });
  });
});
