import { map } from 'rxjs';
import { type DeadlineExceededError, Process, ProcessResult } from '../../../lib';
import { ownDeadline } from '../../../lib/par/ownDeadline';
import { type EngineEvent, placeTask } from '../../../lib/par/task';
import { Placement } from '../../../lib';
import { marbleScheduler } from '../../support/helpers';
import { runSettings } from './support';

describe("ownDeadline: one process cut at its own deadline", () => {
  test('a process still running at its deadline settles with a DeadlineExceededError and is unsubscribed', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const task = placeTask<unknown>(0, Process('slow', () => ProcessResult.ok(1)), new Placement({}), runSettings(scheduler), 5);
      const source = cold<EngineEvent<unknown>>('--s------', { s: { type: 'started', index: 0, name: 'slow', placement: task.placement, backend: 'b', attempt: 1 } });
      const phase = (event: EngineEvent<unknown>) => (event.type === 'settled' ? (event.result.failure.error as DeadlineExceededError).phase : event.type);
      task.running = true;
      expectObservable(source.pipe(ownDeadline(task), map(phase))).toBe('--s--(r|)', { s: 'started', r: 'running' });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  test('a process that settles first keeps its result and leaves no timer', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const task = placeTask<unknown>(0, Process('quick', () => ProcessResult.ok(1)), new Placement({}), runSettings(scheduler), 5);
      const source = cold<EngineEvent<unknown>>('--(s|)', { s: { type: 'settled', task, result: ProcessResult.ok(1) } });
      expectObservable(source.pipe(ownDeadline(task), map((event) => event.type))).toBe('--(s|)', { s: 'settled' });
      scheduler.flush();
      expect(scheduler.actions).toHaveLength(0);
    });
  });
});
