import { EMPTY, map, of, throwError } from 'rxjs';
import { BackendRegistry, CancelledError, InvalidResultError, Placement, Process, ProcessResult, type Backend } from '../../../lib';
import { attempt$ } from '../../../lib/par/attempt';
import { BackendSlots } from '../../../lib/par/slots';
import { type EngineEvent, placeTask } from '../../../lib/par/task';
import { marbleScheduler } from '../../support/helpers';
import { runSettings } from './support';

const code = (event: EngineEvent<unknown>): string =>
  event.type === 'settled' ? (event.result.isOk ? `ok:${String(event.result.value)}` : `${event.result.failure.error.name}`) : event.type === 'partial' ? `partial:${String(event.value)}` : event.type;

function setup(scheduler: ReturnType<typeof marbleScheduler>, execute: Backend['execute']) {
  const backend: Backend = { name: 'b', execute };
  const settings = runSettings(scheduler, { registry: new BackendRegistry({ default: backend }) });
  const task = placeTask(0, Process('p', (ctx) => (ctx.emit('tok'), ProcessResult.ok('body'))), new Placement({}), settings);
  const lease = new BackendSlots(backend).tryAcquire();
  if (lease === undefined) throw new Error('no lease');
  return { task, backend, lease };
}

describe('attempt$: one attempt on the backend, as events', () => {
  test('started, the partials, then the settlement of what the backend gave', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      const { task, backend, lease } = setup(scheduler, (process, ctx) => process.execute$(ctx));
      expectObservable(attempt$(task, backend, lease).pipe(map(code))).toBe('(spr|)', { s: 'started', p: 'partial:tok', r: 'ok:body' });
    });
  });

  test('an error, an empty completion, a string or an array from the backend is a failure, never an error', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      const outcome = (execute: Backend['execute']) => {
        const { task, backend, lease } = setup(scheduler, execute);
        return attempt$(task, backend, lease).pipe(map(code));
      };
      expectObservable(outcome(() => throwError(() => new Error('x')))).toBe('(se|)', { s: 'started', e: 'Error' });
      expectObservable(outcome(() => EMPTY)).toBe('(se|)', { s: 'started', e: 'InvalidResultError' });
      expectObservable(outcome(() => 'ok' as never)).toBe('(se|)', { s: 'started', e: 'InvalidResultError' });
      expectObservable(outcome(() => [ProcessResult.ok(1), ProcessResult.ok(2)] as never)).toBe('(se|)', { s: 'started', e: 'InvalidResultError' });
      expectObservable(outcome(() => of(42) as never)).toBe('(se|)', { s: 'started', e: 'InvalidResultError' });
    });
  });

  test('a string returned by the backend is shown as the string, not read as characters', () => {
    const scheduler = marbleScheduler();
    const { task, backend, lease } = setup(scheduler, () => 'i am not a result' as never);
    let error: unknown;
    attempt$(task, backend, lease).subscribe((event) => {
      if (event.type === 'settled') error = event.result.failure.error;
    });
    expect(error).toBeInstanceOf(InvalidResultError);
    expect((error as InvalidResultError).received).toBe('i am not a result');
  });

  test('unsubscribed before it settles, it aborts the signal with the cut reason and unsubscribes the backend', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectSubscriptions }) => {
      const hanging = cold<ProcessResult>('-');
      let signal: AbortSignal | undefined;
      const { task, backend, lease } = setup(scheduler, (_process, ctx) => ((signal = ctx.signal), hanging));
      const subscription = attempt$(task, backend, lease).subscribe();
      const reason = new CancelledError('halt');
      scheduler.schedule(() => {
        task.cutReason = reason;
        subscription.unsubscribe();
      }, 3);
      scheduler.flush();
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBe(reason);
      expectSubscriptions(hanging.subscriptions).toBe('^--!');
    });
  });

  test('an attempt whose deadline has passed does not start and gives its slot back', () => {
    const scheduler = marbleScheduler();
    scheduler.run(() => {
      let calls = 0;
      const backend: Backend = { name: 'b', execute: () => ((calls += 1), of(ProcessResult.ok(1))) };
      const settings = runSettings(scheduler, { registry: new BackendRegistry({ default: backend }), deadlineAt: 0 });
      const task = placeTask(0, Process('late', () => ProcessResult.ok(1)), new Placement({}), settings);
      const slots = new BackendSlots(backend);
      const lease = slots.tryAcquire();
      if (lease === undefined) throw new Error('no lease');
      const events: string[] = [];
      attempt$(task, backend, lease).subscribe((event) => events.push(event.type));
      expect(events).toEqual([]);
      expect(calls).toBe(0);
      expect(slots.inFlight).toBe(0);
    });
  });
});
