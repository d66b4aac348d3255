import { map } from 'rxjs';
import { FailurePolicy, PLACED_PAR, Process, ProcessResult } from '../../lib';
import { eventCode, marbleScheduler, sleep } from '../support/helpers';

// SPEC 5.5: under COLLECT every process runs to its end (or the deadline).
describe('SPEC 5.5 COLLECT lets every process run to its end', () => {
  test('failures do not cancel the others', async () => {
    const aborted: string[] = [];
    const fine = (name: string, ms: number) =>
      Process(name, async (ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.push(name));
        await sleep(ms);
        return ProcessResult.ok(name);
      });
    const broken = Process('broken', () => Promise.reject(new Error('down')));
    const result = await PLACED_PAR(fine('a', 20), broken, fine('b', 40), { onFailure: FailurePolicy.COLLECT }).run();
    expect(aborted).toEqual([]);
    expect(result.value).toEqual(['a', 'b']);
    expect(result.isOk).toBe(false);
    expect(result.report()).toEqual({ total: 3, succeeded: 2, failed: 1, failureRate: 1 / 3, failureTypes: { Error: 1 } });
  });

  test('in virtual time: every process settles at its own frame', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const group = PLACED_PAR(
        Process('fails', () => cold<ProcessResult>('-----#')),
        Process('later', () => cold('----------(r|)', { r: ProcessResult.ok(1) })),
        { scheduler, onFailure: FailurePolicy.COLLECT },
      );
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 1ms c 4ms (de|)', {
        a: 'started:fails#1',
        b: 'started:later#1',
        c: 'settled:fails:Error',
        d: 'settled:later:ok',
        e: 'done:fail',
      });
    });
  });
});
