import { type ObservableInput, of } from 'rxjs';
import { BackendRegistry, ExecutionBackend, FailurePolicy, InvalidResultError, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';

// SPEC 5.8 (issue 12): a backend that returns something other than a ProcessResult, a promise of
// one or an Observable of them gets an InvalidResultError that shows what it returned. Written the
// way a user writes a backend: a class with getters, no FakeBackend.
const shapes: Record<string, () => unknown> = {
  'a string': () => 'i am not a result',
  'an array of two results': () => [ProcessResult.ok('first'), ProcessResult.ok('second')],
  'a plain object': () => ({ ok: true, value: 'looks like one' }),
};
const described: Record<string, RegExp> = {
  'a string': /received the string "i am not a result"/,
  'an array of two results': /received an array of length 2/,
  'a plain object': /received an object with keys \{ ok, value \}/,
};

function backendGiving(give: () => unknown): ExecutionBackend {
  class HandWrittenBackend extends ExecutionBackend {
    calls = 0;
    get name(): string {
      return 'hand-written';
    }
    override get concurrencyLimit(): number {
      return 1;
    }
    execute(): ObservableInput<ProcessResult> {
      this.calls += 1;
      return give() as ObservableInput<ProcessResult>;
    }
  }
  return new HandWrittenBackend();
}

async function runOn(give: () => unknown): Promise<InvalidResultError> {
  const registry = new BackendRegistry().register('hand-written', backendGiving(give));
  const placement = new Placement({ endpoint: 'hand-written' });
  const result = await PLACED_PAR([Process('victim', () => ProcessResult.ok('never used')), placement], { registry, onFailure: FailurePolicy.COLLECT }).run();
  expect(result.isOk).toBe(false);
  const failure = result.failures[0];
  expect(failure?.processName).toBe('victim');
  expect(failure?.backend).toBe('hand-written');
  expect(failure?.placement).toBe(placement);
  const error = failure?.error;
  if (!(error instanceof InvalidResultError)) throw new Error(`expected an InvalidResultError, got ${String(error)}`);
  return error;
}

describe('SPEC 5.8 a backend returning what is not a ProcessResult fails with InvalidResultError', () => {
  test.each(Object.keys(shapes))('returned as is: %s', async (shape) => {
    const value = (shapes[shape] ?? (() => undefined))();
    const error = await runOn(() => value);
    expect(error.received).toBe(value);
    expect(error.message).toMatch(described[shape] ?? /never/);
    expect(error.message).toContain('backend "hand-written"');
  });

  test.each(Object.keys(shapes))('as a promise: %s', async (shape) => {
    const value = (shapes[shape] ?? (() => undefined))();
    const error = await runOn(() => Promise.resolve(value));
    expect(error.received).toBe(value);
    expect(error.message).toMatch(described[shape] ?? /never/);
  });

  test.each(Object.keys(shapes))("as an Observable's last emission: %s", async (shape) => {
    const value = (shapes[shape] ?? (() => undefined))();
    const error = await runOn(() => of(value));
    expect(error.received).toBe(value);
    expect(error.message).toMatch(described[shape] ?? /never/);
  });

  test('a string is not read as an iterable of characters, nor an array as a stream of results', async () => {
    expect((await runOn(() => 'i')).received).toBe('i');
    const two = [ProcessResult.ok('first'), ProcessResult.ok('second')];
    expect((await runOn(() => two)).received).toBe(two);
  });
});
