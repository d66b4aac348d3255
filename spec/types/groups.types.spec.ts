import { expectTypeOf } from 'expect-type';
import { type Observable, of } from 'rxjs';
import { PAR, type PARResult, PLACED_PAR, type ParEvent, Placement, Process, type ProcessResult, ProcessResult as Result, mapPlaced } from '../../lib';

// Type tests (issue 12): the keyed and positional forms carry each pair's value type through to
// the result. `npm run typecheck` checks this file (tsconfig.json includes spec/); jest runs the
// few runtime lines. Each `@ts-expect-error` line is a wrong assertion that must fail to compile:
// if it ever compiled, the directive itself would be the error.
const opus = new Placement({ model: 'opus', endpoint: 'anthropic' });
const haiku = new Placement({ model: 'haiku', endpoint: 'anthropic' });
const planner = Process('planner', () => Result.ok('a plan'));
const classifier = Process('classifier', () => Result.ok(['label']));
const scorer = Process('scorer', () => Result.ok(0.9));

describe('types of keyed groups', () => {
  const group = PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }, { deadline: 30 });

  test('get(key) is typed from the pair under that key', async () => {
    const result = await group.run();
    expectTypeOf(result.get('plan')).toEqualTypeOf<ProcessResult<string>>();
    expectTypeOf(result.get('label')).toEqualTypeOf<ProcessResult<string[]>>();
    // @ts-expect-error a key the group does not have (at runtime a UsageError)
    expect(() => result.get('missing')).toThrow(/one of the group's keys \(plan, label\)/);
    // @ts-expect-error a wrong assertion: plan is a string, not a number
    expectTypeOf(result.get('plan')).toEqualTypeOf<ProcessResult<number>>();
    expect(result.get('plan').value).toBe('a plan');
  });

  test('values is a record of the successes by key, each optional', async () => {
    const result = await group.run();
    expectTypeOf(result.values).toEqualTypeOf<{ plan?: string; label?: string[] }>();
    // @ts-expect-error a wrong assertion: the values are optional (a process may fail)
    expectTypeOf(result.values).toEqualTypeOf<{ plan: string; label: string[] }>();
    expect(result.values).toEqual({ plan: 'a plan', label: ['label'] });
  });

  test('value keeps its meaning (the successes in declaration order) and entries carry the key', async () => {
    const result = await group.run();
    expectTypeOf(result.value).toEqualTypeOf<(string | string[])[]>();
    expectTypeOf(result.entries[0]?.key).toEqualTypeOf<string | undefined>();
    expectTypeOf(result).toEqualTypeOf<PARResult<string | string[], { plan: string; label: string[] }>>();
    expectTypeOf(result.failures[0]?.key).toEqualTypeOf<string | undefined>();
  });

  test('PAR takes a keyed group of bare processes', async () => {
    const result = await PAR({ plan: planner, score: scorer }).run();
    expectTypeOf(result.get('score')).toEqualTypeOf<ProcessResult<number>>();
    expectTypeOf(result.values).toEqualTypeOf<{ plan?: string; score?: number }>();
    // @ts-expect-error PAR takes processes, not pairs (at runtime a UsageError)
    expect(() => PAR({ plan: [planner, opus] })).toThrow(/PAR argument 1\.plan: expected a Process/);
    expect(result.values.score).toBe(0.9);
  });

  test('a nested keyed group is a process whose value is its record of values', async () => {
    const outer = PLACED_PAR({ research: group, score: scorer });
    const result = await outer.run();
    expectTypeOf(result.get('research')).toEqualTypeOf<ProcessResult<{ plan: string; label: string[] }>>();
    expect(result.get('research').value).toEqual({ plan: 'a plan', label: ['label'] });
  });

  test('events$ and result$ carry the shape', () => {
    expectTypeOf(group.events$).toEqualTypeOf<Observable<ParEvent<string | string[], { plan: string; label: string[] }>>>();
    expectTypeOf(group.result$).toEqualTypeOf<Observable<PARResult<string | string[], { plan: string; label: string[] }>>>();
    expectTypeOf<ParEvent>().toHaveProperty('type');
  });
});

describe('types of positional groups', () => {
  const group = PLACED_PAR([planner, opus], [classifier, haiku], scorer, { deadline: 30 });

  test('at(index) is typed from the pair at that position', async () => {
    const result = await group.run();
    expectTypeOf(result.at(0)).toEqualTypeOf<ProcessResult<string>>();
    expectTypeOf(result.at(1)).toEqualTypeOf<ProcessResult<string[]>>();
    expectTypeOf(result.at(2)).toEqualTypeOf<ProcessResult<number>>();
    // @ts-expect-error an index past the last pair (at runtime a UsageError)
    expect(() => result.at(3)).toThrow(/a whole number from 0 to 2/);
    // @ts-expect-error a wrong assertion: the first pair gives a string
    expectTypeOf(result.at(0)).toEqualTypeOf<ProcessResult<number>>();
    const plan: string = result.at(0).value;
    expect(plan).toBe('a plan');
  });

  test('results is a tuple matching the pairs; value keeps the seed meaning', async () => {
    const result = await group.run();
    expectTypeOf(result.results).toEqualTypeOf<readonly [ProcessResult<string>, ProcessResult<string[]>, ProcessResult<number>]>();
    expectTypeOf(result.value).toEqualTypeOf<(string | string[] | number)[]>();
    const [plan, labels, score] = result.results;
    expectTypeOf(plan).toEqualTypeOf<ProcessResult<string>>();
    expect([plan.value, labels.value, score.value]).toEqual(['a plan', ['label'], 0.9]);
  });

  test('a positional group has no keys: get takes none, values is not there to read', async () => {
    const result = await group.run();
    expectTypeOf(result.get).parameter(0).toEqualTypeOf<never>();
    expectTypeOf<typeof result.values>().toBeNever();
    expect(() => result.values).toThrow(/positional group/);
  });

  test('a group built from a spread array keeps the union and number positions', async () => {
    const pairs = [planner, planner];
    const result = await PAR(...pairs).run();
    expectTypeOf(result.at<5>).returns.toEqualTypeOf<ProcessResult<string>>();
    expectTypeOf(result.results).toEqualTypeOf<readonly ProcessResult<string>[]>();
    expect(result.at(1).value).toBe('a plan');
  });

  test('a nested positional group is a process whose value is its tuple', async () => {
    const result = await PAR(PAR(planner, scorer), classifier).run();
    expectTypeOf(result.at(0)).toEqualTypeOf<ProcessResult<[string, number]>>();
    expect(result.at(0).value).toEqual(['a plan', 0.9]);
  });

  test('PARResult<T> written by hand still names a positional result', async () => {
    const result: PARResult<string | string[] | number> = await group.run();
    expectTypeOf(result.at<7>).returns.toEqualTypeOf<ProcessResult<string | string[] | number>>();
    expect(result.results).toHaveLength(3);
  });

  test('mapPlaced keeps the value type of the item', () => {
    const results$ = of('q').pipe(mapPlaced(() => [planner, opus]));
    expectTypeOf(results$).toEqualTypeOf<Observable<ProcessResult<string>>>();
  });

  test('run takes a signal, and nothing else', () => {
    expectTypeOf(group.run).parameter(0).toEqualTypeOf<{ signal?: AbortSignal | undefined } | undefined>();
    // @ts-expect-error an unknown option of run()
    expect(() => group.run({ sginal: new AbortController().signal })).toThrow(/run\(options\)\.sginal/);
  });
});

describe('the wide types take every group', () => {
  test('PARResult<T> and ParEvent (shape unknown) take keyed and positional results and events', async () => {
    const summarise = (result: PARResult): number => result.results.length;
    const onEvent = (event: ParEvent): string => event.type;
    const keyed = PLACED_PAR({ plan: [planner, opus] });
    const positional = PLACED_PAR([planner, opus], scorer);
    expect(summarise(await keyed.run()) + summarise(await positional.run())).toBe(3);
    keyed.events$.subscribe(onEvent);
    positional.events$.subscribe(onEvent);
    expectTypeOf<PARResult<string, { plan: string }>>().toExtend<PARResult<string>>();
    expectTypeOf<PARResult<string | number, [string, number]>>().toExtend<PARResult<string | number>>();
    expectTypeOf<PARResult<string>['values']>().toEqualTypeOf<Partial<Record<string, string>>>();
  });
});
