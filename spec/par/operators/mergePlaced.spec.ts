import { NEVER, Observable, Subject, Subscription, UnsubscriptionError, from, map, take } from 'rxjs';
import { type CancelledError, Process, ProcessResult } from '../../../lib';
import { type Stop, mergePlaced } from '../../../lib/par/mergePlaced';
import type { EngineEvent, PlacedTask } from '../../../lib/par/task';
import { marbleScheduler } from '../../support/helpers';
import { runSettings, tasksOf } from './support';

const code = (event: EngineEvent<unknown>): string => (event.type === 'settled' ? `${event.task.process.name}:${event.result.isOk ? 'ok' : event.result.failure.error.message}` : event.type);
const named = (name: string) => Process(name, () => ProcessResult.ok(name));
/** One placed task, for the tests that merge a single hand-made inner. */
const oneTask = (): PlacedTask<unknown> => {
  const [task] = tasksOf<unknown>(runSettings(marbleScheduler()), named('a'));
  if (task === undefined) throw new Error('no task');
  return task;
};

describe('mergePlaced: a linear merge of the placed processes, cut by a stop', () => {
  test('merges every task at once and completes when all have settled', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const tasks = tasksOf(runSettings(scheduler), named('a'), named('b'));
      const inner = (task: PlacedTask<unknown>) => cold<EngineEvent<unknown>>(task.index === 0 ? '--(s|)' : '----(s|)', { s: { type: 'settled', task, result: ProcessResult.ok(1) } });
      expectObservable(from(tasks).pipe(mergePlaced(inner, NEVER), map(code))).toBe('--a-(b|)', { a: 'a:ok', b: 'b:ok' });
    });
  });

  test('leaves stop$ before it completes: a value made on completion finds no stop still listened to', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, hot }) => {
      const tasks = tasksOf(runSettings(scheduler), named('a'));
      const inner = (task: PlacedTask<unknown>) => cold<EngineEvent<unknown>>('--(s|)', { s: { type: 'settled', task, result: ProcessResult.ok(1) } });
      const stop$ = hot<Stop>('-');
      const listenersAtCompletion: number[] = [];
      from(tasks)
        .pipe(mergePlaced(inner, stop$))
        .subscribe({ complete: () => listenersAtCompletion.push(stop$.subscriptions.filter((each) => each.unsubscribedFrame === Number.POSITIVE_INFINITY).length) });
      scheduler.flush();
      expect(listenersAtCompletion).toEqual([0]);
      expect(stop$.subscriptions.map((each) => [each.subscribedFrame, each.unsubscribedFrame])).toEqual([[0, 2]]);
    });
  });

  test('a stop cuts every live process in arrival order, with its own error, and unsubscribes it', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const tasks = tasksOf(runSettings(scheduler), named('a'), named('b'), named('c'));
      const never = cold<EngineEvent<unknown>>('-');
      const stop$ = hot<Stop>('---x', { x: (task) => new Error(`cut ${task.process.name}`) });
      expectObservable(from(tasks).pipe(mergePlaced(() => never, stop$), map(code))).toBe('---(abc|)', { a: 'a:cut a', b: 'b:cut b', c: 'c:cut c' });
      expectSubscriptions(never.subscriptions).toBe(['^--!', '^--!', '^--!']);
    });
  });

  test('tasks that arrive after a stop settle at once with it', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ hot, cold, expectObservable }) => {
      const [a, b] = tasksOf<unknown>(runSettings(scheduler), named('a'), named('b'));
      if (a === undefined || b === undefined) throw new Error('no tasks');
      const source = hot<PlacedTask<unknown>>('a----b|', { a, b });
      const stop$ = hot<Stop>('--x', { x: () => new Error('stopped') });
      expectObservable(source.pipe(mergePlaced(() => cold<EngineEvent<unknown>>('-'), stop$), map(code))).toBe('--a--b|', { a: 'a:stopped', b: 'b:stopped' });
    });
  });

  test('unsubscribing cuts every live process with an "unsubscribed" reason, settling none', () => {
    const scheduler = marbleScheduler();
    const tasks = tasksOf(runSettings(scheduler), named('a'), named('b'));
    const torn: string[] = [];
    const inner = (task: PlacedTask<unknown>) => new Observable<EngineEvent<unknown>>(() => () => torn.push(`${task.process.name}:${(task.cutReason as CancelledError).reason}`));
    const events: string[] = [];
    from(tasks).pipe(mergePlaced(inner, new Subject<Stop>())).subscribe((event) => events.push(code(event))).unsubscribe();
    expect(torn).toEqual(['a:unsubscribed', 'b:unsubscribed']);
    expect(events).toEqual([]);
  });

  test("a cut process's teardowns all run in the order they were added, even when some throw, and the throws are reported together", () => {
    const task = oneTask();
    const torn: string[] = [];
    const inner = () =>
      new Observable<EngineEvent<unknown>>((subscriber) => {
        subscriber.add(() => torn.push('first'));
        subscriber.add(new Subscription(() => torn.push('a Subscription')));
        subscriber.add({ unsubscribe: () => { torn.push('an Unsubscribable'); throw new Error('boom 1'); } });
        subscriber.add(() => torn.push('fourth'));
        return () => {
          torn.push('returned');
          throw new Error('boom 2');
        };
      });
    const subscription = from([task]).pipe(mergePlaced(inner, new Subject<Stop>())).subscribe();
    let thrown: unknown;
    try {
      subscription.unsubscribe();
    } catch (error) {
      thrown = error;
    }
    expect(torn).toEqual(['first', 'a Subscription', 'an Unsubscribable', 'fourth', 'returned']);
    expect(thrown).toBeInstanceOf(UnsubscriptionError);
    expect((thrown as UnsubscriptionError).errors.map((error: unknown) => (error as Error).message)).toEqual(['boom 1', 'boom 2']);
  });

  test('plain teardowns past the first three still run in the order they were added', () => {
    const task = oneTask();
    const torn: string[] = [];
    const inner = () =>
      new Observable<EngineEvent<unknown>>((subscriber) => {
        for (const name of ['1', '2', '3', '4', '5']) {
          subscriber.add({
            unsubscribe: () => {
              torn.push(name);
              if (name === '3') throw new Error('boom 3');
            },
          });
        }
        return () => torn.push('returned');
      });
    const subscription = from([task]).pipe(mergePlaced(inner, new Subject<Stop>())).subscribe();
    expect(() => subscription.unsubscribe()).toThrow(UnsubscriptionError);
    expect(torn).toEqual(['1', '2', '3', '4', '5', 'returned']);
  });

  test('a teardown added to a process that has already been cut runs at once', () => {
    const task = oneTask();
    const torn: string[] = [];
    let late: (() => void) | undefined;
    const inner = () =>
      new Observable<EngineEvent<unknown>>((subscriber) => {
        late = () => subscriber.add(() => torn.push('late'));
        return () => torn.push('returned');
      });
    from([task]).pipe(mergePlaced(inner, new Subject<Stop>())).subscribe().unsubscribe();
    late?.();
    expect(torn).toEqual(['returned', 'late']);
  });

  test('a consumer that leaves on the first event stops the source: no later task is subscribed', () => {
    const scheduler = marbleScheduler();
    const tasks = tasksOf(runSettings(scheduler), named('a'), named('b'), named('c'));
    const subscribed: string[] = [];
    const inner = (task: PlacedTask<unknown>) =>
      new Observable<EngineEvent<unknown>>((subscriber) => {
        subscribed.push(task.process.name);
        subscriber.next({ type: 'partial', index: task.index, name: task.process.name, placement: task.placement, value: 1, attempt: 1 });
      });
    from(tasks).pipe(mergePlaced(inner, NEVER), take(1)).subscribe();
    expect(subscribed).toEqual(['a']);
  });
});
