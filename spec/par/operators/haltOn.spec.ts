import { map } from 'rxjs';
import { FailurePolicy, Process, ProcessResult } from '../../../lib';
import { haltOn } from '../../../lib/par/haltOn';
import type { Stop } from '../../../lib/par/mergePlaced';
import { type EngineEvent, failed } from '../../../lib/par/task';
import { marbleScheduler } from '../../support/helpers';
import { runSettings, tasksOf } from './support';

describe('haltOn: the first non-optional failure stops the run', () => {
  const setup = (scheduler: ReturnType<typeof marbleScheduler>) => {
    const [ok, bad, optional] = tasksOf(runSettings(scheduler), Process('ok', () => ProcessResult.ok(1)), Process('bad', () => ProcessResult.ok(1)), Process('opt', () => ProcessResult.ok(1)).optional());
    if (ok === undefined || bad === undefined || optional === undefined) throw new Error('no tasks');
    const values: Record<string, EngineEvent<unknown>> = {
      o: { type: 'settled', task: ok, result: ProcessResult.ok(1) },
      f: { type: 'settled', task: bad, result: failed(bad, new Error('boom')) },
      p: { type: 'settled', task: optional, result: failed(optional, new Error('meh')) },
      s: { type: 'settled', task: bad, result: failed(bad, new Error('deadline')), byStop: true },
    };
    return values;
  };
  const name = (event: EngineEvent<unknown>) => (event.type === 'settled' ? event.task.process.name : event.type);

  test('passes the failure on, then stops with a CancelledError naming the failed process; later failures stop nothing', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const values = setup(scheduler);
      const stops: Error[] = [];
      const [task] = tasksOf(runSettings(scheduler), Process('other', () => ProcessResult.ok(1)));
      if (task === undefined) throw new Error('no task');
      const result = hot('-o-f-f|', values).pipe(haltOn(FailurePolicy.HALT, (stop: Stop) => stops.push(stop(task))), map(name));
      expectObservable(result).toBe('-a-b-b|', { a: 'ok', b: 'bad' });
      scheduler.flush();
      expect(stops).toHaveLength(1);
      expect(stops[0]).toMatchObject({ name: 'CancelledError', reason: 'halt', haltedBy: 'bad' });
    });
  });

  test('an optional failure, or one the run’s own stop made, does not halt', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const values = setup(scheduler);
      let stops = 0;
      expectObservable(hot('-p-s-|', values).pipe(haltOn(FailurePolicy.HALT, () => (stops += 1)), map(name))).toBe('-a-b-|', { a: 'opt', b: 'bad' });
      scheduler.flush();
      expect(stops).toBe(0);
    });
  });

  test('under COLLECT every event passes and nothing stops', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const values = setup(scheduler);
      expectObservable(hot('-f-f|', values).pipe(haltOn(FailurePolicy.COLLECT, () => {
        throw new Error('stopped');
      }), map(name))).toBe('-a-a|', { a: 'bad' });
    });
  });

  test('with then.error the stream errors with the failure, after the stop, and passes nothing more', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const values = setup(scheduler);
      const order: string[] = [];
      const result = hot('-o-f-o|', values).pipe(
        haltOn(FailurePolicy.HALT, () => order.push('stop'), { error: (failure) => (order.push('error'), failure.error) }),
        map(name),
      );
      expectObservable(result).toBe('-a-#', { a: 'ok' }, new Error('boom'));
      scheduler.flush();
      expect(order).toEqual(['stop', 'error']);
    });
  });
});
