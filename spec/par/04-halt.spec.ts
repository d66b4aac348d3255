import { map } from 'rxjs';
import { BackendRegistry, CancelledError, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { eventCode, marbleScheduler, sleep } from '../support/helpers';

// SPEC 5.4: the first failure of a non-optional process cancels every unsettled process, running
// or waiting: its signal aborts, its Observable is unsubscribed, and its result is a CancelledError
// naming the failed process. Optional processes never halt.
describe('SPEC 5.4 HALT cancels every unsettled process on the first non-optional failure', () => {
  test('running processes see their signal abort and end as CancelledError naming the failed process', async () => {
    const aborted: string[] = [];
    const patient = (name: string) =>
      Process(name, async (ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.push(name));
        await sleep(10_000, ctx.signal);
        return ProcessResult.ok(name);
      });
    const failing = Process('classifier', async () => {
      await sleep(5);
      throw new Error('rate limited');
    });
    const result = await PLACED_PAR(patient('reasoner'), failing, patient('embedder')).run();
    expect(aborted.sort()).toEqual(['embedder', 'reasoner']);
    for (const index of [0, 2]) {
      const error = result.results[index]?.failure.error;
      expect(error).toBeInstanceOf(CancelledError);
      expect(error).toMatchObject({ reason: 'halt', haltedBy: 'classifier' });
      expect((error as CancelledError).message).toContain('classifier');
      expect((error as CancelledError).cause).toBeInstanceOf(Error);
    }
    expect(result.results[1]?.failure.error.message).toBe('rate limited');
  });

  test('waiting processes are cancelled too, never started, and their slots are freed', async () => {
    const backend = new FakeBackend({ name: 'capped', concurrencyLimit: 1 });
    const registry = new BackendRegistry().register('capped', backend);
    const on = new Placement({ endpoint: 'capped' });
    const failing = Process('first', async () => {
      await sleep(5);
      throw new Error('nope');
    });
    const never = Process('queued', () => ProcessResult.ok('should not run'));
    const result = await PLACED_PAR([failing, on], [never, on], [never.withName('queued2'), on], { registry }).run();
    expect(backend.names).toEqual(['first']);
    expect(result.results.slice(1).map((r) => r.failure.error)).toEqual([expect.any(CancelledError), expect.any(CancelledError)]);
    expect(result.results[1]?.failure.attempts).toBe(0);
    // The slot is free again for the next run.
    const next = await PLACED_PAR([never, on], { registry }).run();
    expect(next.isOk).toBe(true);
  });

  test('an optional process that fails does not halt the group', async () => {
    const optionalFailure = Process('nice-to-have', () => {
      throw new Error('meh');
    }).optional();
    const slow = Process('main', async () => {
      await sleep(20);
      return ProcessResult.ok('done');
    });
    const result = await PLACED_PAR(optionalFailure, slow).run();
    expect(result.results[1]?.value).toBe('done');
    expect(result.failures.map((f) => f.processName)).toEqual(['nice-to-have']);
  });

  test('in virtual time: the failure at 5 ms cancels a running and an unsubscribed Observable', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const long = cold<ProcessResult>('----------(r|)', { r: ProcessResult.ok('long') });
      const broken = cold<ProcessResult>('-----#', undefined, new Error('boom'));
      const group = PLACED_PAR(Process('long', () => long), Process('broken', () => broken), { scheduler });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 1ms (cde|)', {
        a: 'started:long#1',
        b: 'started:broken#1',
        c: 'settled:broken:Error',
        d: 'settled:long:CancelledError',
        e: 'done:fail',
      });
      expectSubscriptions(long.subscriptions).toBe('^----!');
    });
  });

  test('in virtual time: processes queued behind a cap are withdrawn and never start', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const registry = new BackendRegistry().register('one', new FakeBackend({ name: 'one', concurrencyLimit: 1 }));
      const on = new Placement({ endpoint: 'one' });
      const broken = Process('broken', () => cold<ProcessResult>('-----#', undefined, new Error('x')));
      const next = Process('next', () => cold('-(r|)', { r: ProcessResult.ok(1) }));
      const group = PLACED_PAR([broken, on], [next, on], { registry, scheduler });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 1ms (cde|)', {
        a: 'started:broken#1',
        b: 'queued:next',
        c: 'settled:broken:Error',
        d: 'settled:next:CancelledError',
        e: 'done:fail',
      });
    });
  });
});
