import { filter, map, toArray } from 'rxjs';
import { BackendRegistry, FailurePolicy, type ParEvent, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { eventCode, marbleScheduler } from '../support/helpers';

// SPEC 5 events$: per index `queued? started partial* (retrying started partial*)* settled`, then `done`.
describe('SPEC 5 events$ follows the per-process grammar and ends with done', () => {
  const grammar = /^(queued )?started (partial )*(retrying started (partial )*)*settled $/;

  test('partials from ctx.emit arrive between started and settled, carrying index, name and placement', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const placement = new Placement({ model: 'haiku', endpoint: 'anthropic' });
      const writer = Process('writer', (ctx) => {
        ctx.emit('Hel');
        return cold('-----a-(b|)', { a: 'lo', b: ProcessResult.ok('Hello') }).pipe(
          map((value) => {
            if (typeof value === 'string') ctx.emit(value);
            return value;
          }),
        ) as never;
      });
      const group = PLACED_PAR([writer, placement], { scheduler, onFailure: FailurePolicy.COLLECT });
      const describe = (event: ParEvent): string =>
        event.type === 'partial' ? `partial:${String(event.value)}@${event.index}:${event.placement.model ?? ''}` : eventCode(event);
      expectObservable(group.events$.pipe(map(describe))).toBe('(ab) 1ms c 1ms (de|)', {
        a: 'started:writer#1',
        b: 'partial:Hel@0:haiku',
        c: 'partial:lo@0:haiku',
        d: 'settled:writer:ok',
        e: 'done:ok',
      });
    });
  });

  test('every index follows the grammar through queueing, partials and retries', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold }) => {
      const registry = new BackendRegistry().register('two', new FakeBackend({ name: 'two', concurrencyLimit: 2 }));
      const on = new Placement({ endpoint: 'two' });
      const processes = Array.from({ length: 6 }, (_, index) =>
        Process(`p${index}`, (ctx) => {
          ctx.emit(`hello from attempt ${ctx.attempt}`);
          return index % 2 === 0 && ctx.attempt === 1 ? cold<ProcessResult>('--#') : cold('---(r|)', { r: ProcessResult.ok(index) });
        }),
      );
      const policy = FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0.001 });
      let events: ParEvent[] = [];
      PLACED_PAR(...processes.map((process) => [process, on] as const), { registry, scheduler, onFailure: policy })
        .events$.pipe(toArray())
        .subscribe((all) => (events = all));
      scheduler.flush();
      expect(events[events.length - 1]?.type).toBe('done');
      expect(events.filter((event) => event.type === 'done')).toHaveLength(1);
      for (let index = 0; index < 6; index += 1) {
        const sequence = events
          .filter((event) => event.type !== 'done' && event.index === index)
          .map((event) => `${event.type} `)
          .join('');
        expect(sequence).toMatch(grammar);
        if (index % 2 === 0) expect(sequence).toContain('retrying');
      }
      expect(events.filter((event) => event.type === 'queued')).toHaveLength(4);
    });
  });

  test('under TestScheduler.run the default asyncScheduler runs in virtual time too', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const slow = Process('slow', () => cold('1s (r|)', { r: ProcessResult.ok(1) }));
      const group = PLACED_PAR(slow, { deadline: 0.5 });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('a 499ms (bc|)', { a: 'started:slow#1', b: 'settled:slow:DeadlineExceededError', c: 'done:fail' });
    });
  });
});

describe('token usage recorded by processes lands in the entries and the report', () => {
  test('summed over attempts', async () => {
    const spender = Process('spender', (ctx) => {
      ctx.recordUsage({ inputTokens: 10, outputTokens: 1 });
      if (ctx.attempt === 1) throw new Error('retry me');
      ctx.recordUsage({ inputTokens: 5, outputTokens: 2 });
      return ProcessResult.ok('done');
    });
    const run = await PLACED_PAR(spender, Process('idle', () => ProcessResult.ok(0)), { onFailure: FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0 }) }).run();
    expect(run.entries[0]?.usage).toEqual({ inputTokens: 25, outputTokens: 4 });
    expect(run.entries[1]?.usage).toBeUndefined();
    expect(run.report().usage).toEqual({ inputTokens: 25, outputTokens: 4 });
  });
});

describe('SPEC 5 events$: partials say which attempt published them', () => {
  test('after a retry, partials carry the new attempt number, so a UI can drop the failed attempt’s text', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const flaky = Process('flaky', (ctx) => {
        ctx.emit(`token of attempt ${ctx.attempt}`);
        return ctx.attempt === 1 ? cold<ProcessResult>('-#', undefined, new Error('dropped')) : cold('-(r|)', { r: ProcessResult.ok('done') });
      });
      const group = PLACED_PAR(flaky, { scheduler, onFailure: FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.002 }) });
      const partials = group.events$.pipe(filter((event) => event.type === 'partial' || event.type === 'retrying'), map((event) => (event.type === 'partial' ? `${String(event.value)}#${event.attempt}` : 'retrying')));
      expectObservable(partials).toBe('ab-c|', { a: 'token of attempt 1#1', b: 'retrying', c: 'token of attempt 2#2' });
    });
  });
});
