import { map, take } from 'rxjs';
import { Process, ProcessResult, type Backend } from '../../../lib';
import { pauseOnRateLimit } from '../../../lib/par/pauseOnRateLimit';
import { RateGate } from '../../../lib/par/rateGate';
import { type EngineEvent, failed } from '../../../lib/par/task';
import { marbleScheduler } from '../../support/helpers';
import { runSettings, tasksOf } from './support';

/** What a provider's 429 looks like to the engine: an error with `retryAfter` in seconds. */
class RateLimited extends Error {
  constructor(readonly retryAfter: unknown) {
    super('429 Too Many Requests');
    this.name = 'RateLimited';
  }
}

describe('pauseOnRateLimit: a 429 pauses new starts on its backend', () => {
  const backend: Backend = { name: 'model', execute: (process, ctx) => process.execute$(ctx) };

  const setup = (scheduler: ReturnType<typeof marbleScheduler>, verbose = true) => {
    const [task] = tasksOf(runSettings(scheduler, { verbose }), Process('ask', () => ProcessResult.ok(1)));
    if (task === undefined) throw new Error('no task');
    const values: Record<string, EngineEvent<number>> = {
      s: { type: 'started', index: 0, name: 'ask', placement: task.placement, backend: 'model', attempt: 1 },
      o: { type: 'settled', task, result: ProcessResult.ok(1) },
      f: { type: 'settled', task, result: failed(task, new RateLimited(2)) },
      e: { type: 'settled', task, result: failed(task, new Error('boom')) },
      z: { type: 'settled', task, result: failed(task, new RateLimited(-1)) },
    };
    return { task, values, gate: new RateGate(undefined, () => {}) };
  };
  const code = (event: EngineEvent<number>): string =>
    event.type === 'paused' ? `paused:${event.until.getTime()}` : event.type === 'settled' ? (event.result.isOk ? 'ok' : event.result.failure.error.name) : event.type;

  test('a failure with retryAfter pauses the gate until now + retryAfter, and a paused event comes before the settlement', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const { task, values, gate } = setup(scheduler);
      const attempt$ = cold('s---(f|)', values);
      expectObservable(attempt$.pipe(pauseOnRateLimit(task, backend, gate), map(code))).toBe('s---(pf|)', { s: 'started', p: 'paused:2004', f: 'RateLimited' });
      scheduler.schedule(() => {
        expect(gate.pausedUntil(scheduler.now())).toBe(2004);
      }, 5);
      scheduler.schedule(() => {
        expect(gate.pausedUntil(scheduler.now())).toBeUndefined();
      }, 2004);
    });
  });

  test('a run nobody listens to pauses the gate all the same, without the event', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const { task, values, gate } = setup(scheduler, false);
      expectObservable(cold('--(f|)', values).pipe(pauseOnRateLimit(task, backend, gate), map(code))).toBe('--(f|)', { f: 'RateLimited' });
      scheduler.schedule(() => {
        expect(gate.pausedUntil(scheduler.now())).toBe(2002);
      }, 3);
    });
  });

  test('a success, a failure without retryAfter and a retryAfter that is not a positive number pass without a pause', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const { task, values, gate } = setup(scheduler);
      expectObservable(cold('-o-e-z|', values).pipe(pauseOnRateLimit(task, backend, gate), map(code))).toBe('-o-e-z|', { o: 'ok', e: 'Error', z: 'RateLimited' });
      scheduler.schedule(() => {
        expect(gate.pausedUntil(scheduler.now())).toBeUndefined();
      }, 6);
    });
  });

  test('a consumer that leaves on the paused event gets no settlement, and the pause stands', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { task, values, gate } = setup(scheduler);
      const attempt$ = cold('--(f|)', values);
      expectObservable(attempt$.pipe(pauseOnRateLimit(task, backend, gate), take(1), map(code))).toBe('--(p|)', { p: 'paused:2002' });
      expectSubscriptions(attempt$.subscriptions).toBe('^-!');
      scheduler.schedule(() => {
        expect(gate.pausedUntil(scheduler.now())).toBe(2002);
      }, 3);
    });
  });
});
