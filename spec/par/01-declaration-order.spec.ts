import { FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { sleep } from '../support/helpers';

// SPEC 5.1: results holds one ProcessResult per pair, in declaration order, always.
describe('SPEC 5.1 results are one per pair, in declaration order', () => {
  const delayed = (name: string, ms: number, fails = false) =>
    Process(name, async (ctx) => {
      await sleep(ms, ctx.signal);
      if (fails) throw new Error(`${name} failed`);
      return ProcessResult.ok(name);
    });

  test('when processes finish in reverse order', async () => {
    const result = await PLACED_PAR(delayed('slow', 60), delayed('medium', 30), delayed('fast', 1)).run();
    expect(result.results).toHaveLength(3);
    expect(result.value).toEqual(['slow', 'medium', 'fast']);
    expect(result.entries.map((entry) => entry.name)).toEqual(['slow', 'medium', 'fast']);
    expect(result.entries.map((entry) => entry.index)).toEqual([0, 1, 2]);
  });

  test('when a HALT cancels some and others already finished', async () => {
    const result = await PLACED_PAR(delayed('long', 500), delayed('quick', 1), delayed('broken', 20, true), delayed('later', 500)).run();
    expect(result.results.map((r) => (r.isOk ? 'ok' : r.failure.error.name))).toEqual(['CancelledError', 'ok', 'Error', 'CancelledError']);
    expect(result.failures.map((f) => f.processName)).toEqual(['long', 'broken', 'later']);
  });

  test('when the deadline cuts the group and the same process appears twice', async () => {
    const twice = delayed('twin', 1);
    const result = await PLACED_PAR(
      [twice, new Placement({ model: 'a' })],
      [delayed('stuck', 5_000), new Placement({})],
      [twice, new Placement({ model: 'b' })],
      { onFailure: FailurePolicy.COLLECT, deadline: 0.1 },
    ).run();
    expect(result.results).toHaveLength(3);
    expect(result.entries.map((entry) => entry.placement.model)).toEqual(['a', undefined, 'b']);
    expect(result.results.map((r) => r.isOk)).toEqual([true, false, true]);
  });
});
