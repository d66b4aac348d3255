import { map } from 'rxjs';
import { CancelledError, DeadlineExceededError, FailurePolicy, PAR, PLACED_PAR, Process, ProcessResult } from '../../lib';
import { eventCode, marbleScheduler, sleep } from '../support/helpers';

// SPEC 5.11: no pairs gives an empty, ok PARResult.
describe('SPEC 5.11 an empty group', () => {
  test('run() gives an empty, ok PARResult and events$ emits only done', async () => {
    const result = await PLACED_PAR().run();
    expect(result.results).toEqual([]);
    expect(result.isOk).toBe(true);
    expect(result.value).toEqual([]);
    expect(result.report()).toMatchObject({ total: 0, failureRate: 0 });
    const events: string[] = [];
    PLACED_PAR({ deadline: 1 }).events$.subscribe((event) => events.push(event.type));
    expect(events).toEqual(['done']);
  });
});

describe('SPEC 5 groups are re-runnable and nest as processes', () => {
  test('every run() is a fresh run', async () => {
    let runs = 0;
    const counter = Process('counter', () => ProcessResult.ok((runs += 1)));
    const group = PAR(counter);
    expect((await group.run()).value).toEqual([1]);
    expect((await group.run()).value).toEqual([2]);
  });

  test('a nested group is a process whose value is its success values', async () => {
    const inner = PAR(Process('a', () => ProcessResult.ok('A')), Process('b', () => ProcessResult.ok('B'))).withName('inner');
    const result = await PAR(inner, Process('c', () => ProcessResult.ok('C'))).run();
    expect(result.value).toEqual([['A', 'B'], 'C']);
    expect(result.entries[0]?.name).toBe('inner');
  });

  test('a failing nested group fails with its first real failure, and halting the parent cancels its children', async () => {
    const aborted: string[] = [];
    const child = Process('child', async (ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.push(String((ctx.signal.reason as Error).name)));
      await sleep(5_000, ctx.signal);
      return ProcessResult.ok();
    });
    const failing = Process('failing', async () => {
      await sleep(10);
      throw new Error('outer failure');
    });
    const innerFailing = PAR(Process('inner-broken', () => Promise.reject(new Error('inner failure'))), child.withName('sibling')).withName('inner');
    const innerResult = await PAR(innerFailing, { onFailure: FailurePolicy.COLLECT }).run();
    expect(innerResult.failures[0]?.error.message).toBe('inner failure');

    const result = await PAR(PAR(child).withName('group'), failing).run();
    expect(result.failures[0]?.error).toBeInstanceOf(CancelledError);
    expect(aborted).toContain('CancelledError');
  });

  test("a nested group inherits the parent's deadline and records the parent's name", async () => {
    let parent: string | undefined;
    const stuck = Process('stuck', async (ctx) => {
      parent = ctx.parent;
      await sleep(5_000, ctx.signal);
      return ProcessResult.ok();
    });
    const started = Date.now();
    const result = await PAR(PAR(stuck).withName('inner'), { deadline: 0.05 }).run();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.failures[0]?.error).toBeInstanceOf(DeadlineExceededError);
    expect(parent).toBe('inner');
  });

  test('in virtual time: a group is an Observable of its events', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const group = PAR(Process('one', () => cold('--(r|)', { r: ProcessResult.ok(1) })), { scheduler });
      expectObservable(group.pipe(map(eventCode))).toBe('a-(bc|)', { a: 'started:one#1', b: 'settled:one:ok', c: 'done:ok' });
    });
  });
});
