import { expectTypeOf } from 'expect-type';
import { BackendRegistry, CancelledError, FailurePolicy, LocalBackend, PLACED_PAR, Placement, Process, type ProcessResult, ProcessResult as Result } from '../../lib';
import { sleep } from '../support/helpers';

// The README's tour of PLACED_PAR (keyed first, then positional) and of the AbortSignal, with
// local stand-ins for the agents, so that what it promises keeps compiling and holding.
const reasoningAgent = Process('reasoner', () => Result.ok('plan the refund'));
const classifierAgent = Process('classifier', () => Result.ok('billing'));
const embedAgent = Process('embedder', () => Result.ok([0.12, -0.48, 0.33]));
const registry = new BackendRegistry().register('anthropic', new LocalBackend()).register('local', new LocalBackend({ concurrencyLimit: 2 }));
const opus = new Placement({ model: 'opus', endpoint: 'anthropic' });
const haiku = new Placement({ model: 'haiku', endpoint: 'anthropic' });

test('the keyed form: get(key) and values, typed by key', async () => {
  const group = PLACED_PAR(
    {
      plan: [reasoningAgent, opus],
      label: [classifierAgent, haiku],
      vector: [embedAgent, new Placement({ model: 'nomic', endpoint: 'local:8080' })],
    },
    { onFailure: FailurePolicy.COLLECT, deadline: 30, registry },
  );
  const result = await group.run();
  expectTypeOf(result.get('plan')).toEqualTypeOf<ProcessResult<string>>();
  expectTypeOf(result.values).toEqualTypeOf<{ plan?: string; label?: string; vector?: number[] }>();
  const { plan, label } = result.values;
  expect(plan?.toUpperCase()).toBe('PLAN THE REFUND');
  expect(label).toBe('billing');
  expect(result.isOk).toBe(true);
  expect(group.keys).toEqual(['plan', 'label', 'vector']);
  expect(result.report()).toMatchObject({ total: 3, succeeded: 3 });
});

test('the positional form: at(index) and the results tuple, even when the middle one failed', async () => {
  const failingClassifier = Process('classifier', (): ProcessResult<string> => Result.fail(new Error('429')));
  const positional = await PLACED_PAR(
    [reasoningAgent, opus],
    [failingClassifier, haiku],
    [embedAgent, new Placement({ model: 'nomic', endpoint: 'local:8080' })],
    { onFailure: FailurePolicy.COLLECT, registry },
  ).run();
  expectTypeOf(positional.at(2)).toEqualTypeOf<ProcessResult<number[]>>();
  expectTypeOf(positional.results).toEqualTypeOf<readonly [ProcessResult<string>, ProcessResult<string>, ProcessResult<number[]>]>();
  const [first, , third] = positional.results;
  expect(first.value).toBe('plan the refund');
  expect(third.value).toEqual([0.12, -0.48, 0.33]);
  expect(positional.at(2).value).toEqual([0.12, -0.48, 0.33]);
  // value keeps only the successes: value[1] is the third's.
  expect(positional.value[1]).toEqual([0.12, -0.48, 0.33]);
});

test('the AbortSignal: kept what settled, stopped the rest, by key', async () => {
  const slow = Process('slow', async (ctx) => {
    await sleep(10_000, ctx.signal);
    return Result.ok('never');
  });
  const controller = new AbortController();
  const group = PLACED_PAR({ plan: [reasoningAgent, opus], research: [slow, opus] }, { registry });
  const pending = group.run({ signal: controller.signal });
  await sleep(5);
  controller.abort();
  const result = await pending;
  const stopped = result.failures.filter((f) => f.error instanceof CancelledError && f.error.reason === 'aborted');
  expect(`kept ${result.successes.length}, stopped ${stopped.map((f) => f.key).join(', ')}`).toBe('kept 1, stopped research');
});
