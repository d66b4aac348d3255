import { PLACED_PAR, Process, ProcessResult } from '../../lib';

test('a group of one runs', async () => {
  const result = await PLACED_PAR(Process('one', () => ProcessResult.ok(1))).run();
  expect(result.value).toEqual([1]);
});
