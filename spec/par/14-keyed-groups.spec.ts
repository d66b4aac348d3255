import { map } from 'rxjs';
import { BackendRegistry, CancelledError, FailurePolicy, PAR, PLACED_PAR, type ParEvent, Placement, Process, ProcessResult, UsageError } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { marbleScheduler } from '../support/helpers';

// SPEC 5 (issue 12): PLACED_PAR({ key: pair, ... }, options?) as forkJoin takes a dictionary; the
// result gives get(key) and values, entries, events and failures carry the key (name stays the
// process's), and positional groups add at(index).
const opus = new Placement({ model: 'opus', endpoint: 'api' });
const haiku = new Placement({ model: 'haiku', endpoint: 'api' });
const planner = Process('planner', () => ProcessResult.ok('a plan'));
const classifier = Process('classifier', () => ProcessResult.ok(['billing']));
const broken = Process('broken', () => {
  throw new Error('boom');
});

/** A compact line per event that shows its key. */
function keyed(event: ParEvent): string {
  if (event.type === 'done') return `done:${event.result.isOk ? 'ok' : 'fail'}`;
  return `${event.type}:${event.key ?? '-'}:${event.name}`;
}

describe('SPEC 5 keyed groups', () => {
  test('get(key) and values give the results and successes by key; results stay in key order', async () => {
    const result = await PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }).run();
    expect(result.isOk).toBe(true);
    expect(result.get('plan').value).toBe('a plan');
    expect(result.get('label').value).toEqual(['billing']);
    expect(result.values).toEqual({ plan: 'a plan', label: ['billing'] });
    expect(result.value).toEqual(['a plan', ['billing']]);
    expect(result.results.map((entry) => entry.value)).toEqual(['a plan', ['billing']]);
    expect(result.entries.map(({ key, name, index }) => ({ key, name, index }))).toEqual([
      { key: 'plan', name: 'planner', index: 0 },
      { key: 'label', name: 'classifier', index: 1 },
    ]);
  });

  test('under COLLECT a failed key is absent from values; its failure carries the key, its name the process', async () => {
    const result = await PLACED_PAR({ plan: planner, audit: broken, label: classifier }, { onFailure: FailurePolicy.COLLECT }).run();
    expect(result.values).toEqual({ plan: 'a plan', label: ['billing'] });
    expect('audit' in result.values).toBe(false);
    expect(result.get('audit').isFail).toBe(true);
    const [failure] = result.failures;
    expect(failure?.key).toBe('audit');
    expect(failure?.processName).toBe('broken');
    expect(failure?.toJSON()).toMatchObject({ key: 'audit', processName: 'broken' });
    // The seed's meaning of value: the successes in declaration order.
    expect(result.value).toEqual(['a plan', ['billing']]);
  });

  test('under HALT the cancelled ones carry their keys too', async () => {
    const slow = Process('slow', () => new Promise<ProcessResult<string>>((resolve) => setTimeout(() => resolve(ProcessResult.ok('late')), 1_000)));
    const result = await PLACED_PAR({ waiting: slow, failing: broken }).run();
    const cancelled = result.get('waiting').failure;
    expect(cancelled.error).toBeInstanceOf(CancelledError);
    expect(cancelled.key).toBe('waiting');
    expect(cancelled.processName).toBe('slow');
    expect(result.get('failing').failure.key).toBe('failing');
  });

  test('in virtual time: every event carries its key (queued, started, partial, retrying, settled)', () => {
    const scheduler = marbleScheduler();
    scheduler.run(() => {
      const api = new FakeBackend({
        name: 'api',
        concurrencyLimit: 1,
        scheduler,
        script: { planner: { result: 'plan', delay: 0.002, partials: ['p'] }, classifier: [{ error: new Error('429') }, { result: ['billing'], delay: 0.001 }] },
      });
      const registry = new BackendRegistry().register('api', api);
      const group = PLACED_PAR({ plan: [planner, opus], label: [classifier, haiku] }, { registry, scheduler, onFailure: FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0.001 }) });
      const seen: string[] = [];
      group.events$.subscribe((event) => seen.push(`${scheduler.now()} ${keyed(event)}`));
      scheduler.flush();
      // The frames: the classifier waits for the planner's slot, fails, waits 1 ms, succeeds after 1 ms.
      expect(seen).toEqual([
        '0 started:plan:planner',
        '0 queued:label:classifier',
        '1 partial:plan:planner',
        '2 settled:plan:planner',
        '2 started:label:classifier',
        '2 retrying:label:classifier',
        '3 started:label:classifier',
        '4 settled:label:classifier',
        '4 done:ok',
      ]);
    });
  });

  test('result$ and a deadline work with keys (virtual time)', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const quick = Process('quick', () => cold('-(r|)', { r: ProcessResult.ok('q') }));
      const never = Process('never', () => cold<ProcessResult>('-'));
      const group = PLACED_PAR({ quick, never }, { scheduler, deadline: 0.003, onFailure: FailurePolicy.COLLECT });
      expectObservable(group.result$.pipe(map((result) => ({ values: result.values, missed: result.get('never').failure.error.name, key: result.failures[0]?.key })))).toBe('---(r|)', {
        r: { values: { quick: 'q' }, missed: 'DeadlineExceededError', key: 'never' },
      });
    });
  });

  test('a nested keyed group is a process whose value is its values by key; its own entries keep their keys', async () => {
    const research = PLACED_PAR({ plan: planner, label: classifier }).withName('research');
    const result = await PAR({ research, again: planner }).run();
    expect(result.get('research').value).toEqual({ plan: 'a plan', label: ['billing'] });
    expect(result.entries[0]).toMatchObject({ key: 'research', name: 'research' });
    const failing = await PAR({ research: PAR({ plan: planner, audit: broken }), again: planner }, { onFailure: FailurePolicy.COLLECT }).run();
    expect(failing.get('research').failure.key).toBe('research');
    expect(failing.get('research').failure.error.message).toBe('boom');
  });

  test('a keyed group is cold and re-runnable; keys lists them in declaration order', async () => {
    let runs = 0;
    const counter = Process('counter', () => ProcessResult.ok((runs += 1)));
    const group = PAR({ first: counter, second: planner });
    expect(group.keys).toEqual(['first', 'second']);
    expect((await group.run()).values).toEqual({ first: 1, second: 'a plan' });
    expect((await group.run()).values).toEqual({ first: 2, second: 'a plan' });
    expect(PAR(counter).keys).toBeUndefined();
  });

  test('a lone options object is still the options of an empty group; {} and {} with options is an empty keyed group', async () => {
    const empty = await PLACED_PAR({ deadline: 1 }).run();
    expect(empty.isOk).toBe(true);
    expect(empty.results).toEqual([]);
    const keyedEmpty = await PLACED_PAR({}, { deadline: 1 }).run();
    expect(keyedEmpty.values).toEqual({});
  });

  test('bad keyed input is a UsageError at the call, naming the key', () => {
    expect(() => PLACED_PAR({ plan: [planner, opus], label: 42 } as never)).toThrow(UsageError);
    expect(() => PLACED_PAR({ plan: [planner, opus], label: 42 } as never)).toThrow(/PLACED_PAR argument 1\.label: expected a \[Process, Placement\] pair, a \[Process, \[Placement, \.\.\.\], options\?\] chain or a Process, received the number 42/);
    expect(() => PLACED_PAR({ plan: [planner, 'opus'] } as never)).toThrow(/PLACED_PAR argument 1\.plan\[1\]: expected a Placement/);
    expect(() => PLACED_PAR({ plan: planner }, { dedline: 3 } as never)).toThrow(/PLACED_PAR options\.dedline/);
  });

  test('get(key) on a key the group lacks, or on a positional group, is a UsageError listing the keys', async () => {
    const result = await PAR({ plan: planner, label: classifier }).run();
    expect(() => result.get('plan ' as never)).toThrow(/result\.get\(key\): expected one of the group's keys \(plan, label\), received the string "plan "/);
    const positional = await PAR(planner).run();
    expect(() => positional.get('plan' as never)).toThrow(/this group is positional: use result\.at\(index\)/);
  });
});

describe('SPEC 5 positional groups add at(index)', () => {
  test("with the middle one failing under COLLECT, at(2) is the third pair's result (value keeps only the successes)", async () => {
    const third = Process('third', () => ProcessResult.ok(3));
    const result = await PLACED_PAR([planner, opus], [broken, opus], [third, haiku], { onFailure: FailurePolicy.COLLECT }).run();
    expect(result.at(2).value).toBe(3);
    expect(result.at(1).failure.processName).toBe('broken');
    expect(result.at(1).failure.key).toBeUndefined();
    expect(result.value).toEqual(['a plan', 3]);
    expect(result.entries[0]?.key).toBeUndefined();
  });

  test('an index outside the group is a UsageError', async () => {
    const result = await PAR(planner).run();
    expect(() => result.at(1 as never)).toThrow(/result\.at\(index\): expected a whole number from 0 to 0, received the number 1/);
    expect(() => result.at(0.5 as never)).toThrow(UsageError);
    const empty = await PAR().run();
    expect(() => empty.at(0 as never)).toThrow(/the group is empty/);
  });
});
