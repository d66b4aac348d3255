import { firstValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { type DeadlineExceededError, FailurePolicy, type ParEvent, PLACED_PAR, Placement, ProcessContext, ProcessResult, UsageError } from '../../lib';
import { type MarbleProcess, eventCode, processFromMarbles } from '../../lib/testing';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** `eventCode`, with the value of partial events. */
const withPartials = (event: ParEvent): string => (event.type === 'partial' ? `partial:${event.name}:${String(event.value)}` : eventCode(event));

describe('processFromMarbles', () => {
  test('a process drawn as marbles: partials, then the result, in a marble test', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable, expectSubscriptions }) => {
      // Streams two tokens at 2 and 4 ms, answers at 6 ms; the other fails at 3 ms, which HALTs the group.
      const writer = processFromMarbles('writer', '--a-b-(r|)', { a: 'hel', b: 'lo', r: 'hello' });
      const broken = processFromMarbles('broken', '---#', {}, new Error('rate limited'));
      expectObservable(PLACED_PAR(writer, { scheduler }).events$.pipe(map(withPartials))).toBe('a-b-c-(de|)', {
        a: 'started:writer#1',
        b: 'partial:writer:hel',
        c: 'partial:writer:lo',
        d: 'settled:writer:ok',
        e: 'done:ok',
      });
      expectObservable(PLACED_PAR(writer, broken, { scheduler }).result$.pipe(map((result) => result.report().failureTypes))).toBe('---(x|)', {
        x: { Error: 1, CancelledError: 1 },
      });
      expectSubscriptions(writer.subscriptions).toBe(['^-----!', '^--!']);
    });
  });

  test('values: a plain value is wrapped with ProcessResult.ok, a ProcessResult is used as is, a missing letter stands for itself', async () => {
    const ctx = (): ProcessContext => new ProcessContext({ processName: 'x' });
    expect((await processFromMarbles('plain', '(r|)', { r: { answer: 42 } }).execute(ctx())).value).toEqual({ answer: 42 });
    const failed = await processFromMarbles('failed', '(f|)', { f: ProcessResult.fail(new RangeError('no')) }).execute(ctx());
    expect(failed.failure.error).toBeInstanceOf(RangeError);
    expect(failed.failure.processName).toBe('failed');
    expect((await processFromMarbles('letter', '(z|)', { r: 1 }).execute(ctx())).value).toBe('z');
    expect((await processFromMarbles('letter', '(z|)').execute(ctx())).value).toBe('z');
  });

  test('edge cases: | without a value fails as an invalid result; what follows | or # is ignored', async () => {
    const ctx = (): ProcessContext => new ProcessContext({ processName: 'x' });
    expect((await processFromMarbles('empty', '--|').execute(ctx())).failure.error.name).toBe('InvalidResultError');
    expect((await processFromMarbles('after', '(a|)b').execute(ctx())).value).toBe('a');
    expect((await processFromMarbles('errored', '(a#)b|').execute(ctx())).failure.error.message).toBe('error');
  });

  test('frame 0 is synchronous, like a process that returns its result', () => {
    const results: unknown[] = [];
    const partials: unknown[] = [];
    processFromMarbles('sync', '(ab|)')
      .execute$(new ProcessContext({ processName: 'sync', onEmit: (value) => partials.push(value) }))
      .subscribe((result) => results.push(result.value));
    expect(partials).toEqual(['a']);
    expect(results).toEqual(['b']);
  });

  test('# fails the process with the given error, or a plain Error', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const message = (process: MarbleProcess) => PLACED_PAR(process, { scheduler }).result$.pipe(map((result) => result.failures[0]?.error.message));
      expectObservable(message(processFromMarbles('given', '-a-#', {}, new TypeError('bad input')))).toBe('---(m|)', { m: 'bad input' });
      expectObservable(message(processFromMarbles('default', '--#'))).toBe('--(m|)', { m: 'error' });
    });
  });

  test('without | or # the process never finishes: a deadline ends it as running', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable, expectSubscriptions }) => {
      const forever = processFromMarbles('forever', '-a-b-c-');
      const phase = PLACED_PAR(forever, { scheduler, deadline: 0.02 }).result$.pipe(map((result) => (result.failures[0]?.error as DeadlineExceededError).phase));
      expectObservable(phase).toBe('20ms (p|)', { p: 'running' });
      expectSubscriptions(forever.subscriptions).toBe('^ 19ms !');
    });
  });

  test('time progressions and retries: each attempt subscribes anew', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable, expectSubscriptions }) => {
      const slow = processFromMarbles('slow', '10ms #');
      const policy = FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.005 });
      expectObservable(PLACED_PAR(slow, { scheduler, onFailure: policy }).result$.pipe(map((result) => result.failures[0]?.attempts))).toBe('25ms (n|)', { n: 2 });
      expectSubscriptions(slow.subscriptions).toBe(['^ 9ms !', '15ms ^ 9ms !']);
    });
  });

  test('outside TestScheduler.run: real time with the default scheduler, one character a millisecond', async () => {
    const quick = processFromMarbles<string>('quick', '-a--(r|)', { a: 'token', r: 'answer' }, undefined, { placement: new Placement({ model: 'haiku' }) });
    const started = Date.now();
    const events = await firstValueFrom(PLACED_PAR(quick).events$.pipe(map(withPartials), toArray()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(3);
    expect(events).toEqual(['started:quick#1', 'partial:quick:token', 'settled:quick:ok', 'done:ok']);
    expect(quick.placement?.model).toBe('haiku');
    expect(quick.marbles).toBe('-a--(r|)');
  });

  test('with a TestScheduler outside run mode: flush() drives it, still one character a millisecond', () => {
    const scheduler = marbles();
    const process = processFromMarbles('flushed', '---(r|)', { r: 1 }, undefined, { scheduler });
    let value: unknown;
    PLACED_PAR(process, { scheduler }).result$.subscribe((result) => (value = result.value));
    scheduler.flush();
    expect(value).toEqual([1]);
    expect(scheduler.now()).toBe(3);
  });

  test('renamed and optional copies share the body and its subscription log', () => {
    const scheduler = marbles();
    scheduler.run(({ expectObservable }) => {
      const base = processFromMarbles('base', '-#');
      const group = PLACED_PAR(base.withName('renamed').optional(), processFromMarbles('main', '---(r|)'), { scheduler });
      expectObservable(group.result$.pipe(map((result) => result.results.map((r) => (r.isOk ? r.value : r.failure.processName))))).toBe('---(x|)', {
        x: ['renamed', 'r'],
      });
      scheduler.flush();
      expect(base.subscriptions).toHaveLength(1);
    });
  });

  test('usage errors: a hot or subscription marker, a missing name, bad values', () => {
    expect(() => processFromMarbles('x', '-^-a|')).toThrow(UsageError);
    expect(() => processFromMarbles('x', '-a-!')).toThrow(/cold marble diagram/);
    expect(() => processFromMarbles('', '-a|')).toThrow(/processFromMarbles\(name\)/);
    expect(() => processFromMarbles('x', 42 as never)).toThrow(/marbles/);
    expect(() => processFromMarbles('x', 'a|', 'nope' as never)).toThrow(/values/);
    expect(() => processFromMarbles('x', 'a|', {}, undefined, { placement: {} as never })).toThrow(/options.placement/);
  });
});
