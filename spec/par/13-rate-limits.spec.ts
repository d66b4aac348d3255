import { type Observable, from, map, timer } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { BackendRegistry, DeadlineExceededError, FailurePolicy, PLACED_PAR, mapPlaced, type ParEvent, type PARResult, Placement, Process, ProcessResult, UsageError } from '../../lib';
import { FakeBackend, type FakeBackendOptions } from '../../lib/testing';
import { marbleScheduler, mostInAnyWindow } from '../support/helpers';

// A backend's rateLimit, like its cap, holds for every run that shares the backend instance: a
// process starts only when a slot is free and the rate allows. A 429's retry-after pauses the
// whole backend. All in virtual time.

/** A process that takes `ms` of virtual time (and records `usage` tokens when it starts, if given). */
function step(name: string, ms: number, usage?: number) {
  return Process(name, (ctx) => {
    if (usage !== undefined) ctx.recordUsage({ inputTokens: usage, outputTokens: 0 });
    return timer(ms).pipe(map(() => ProcessResult.ok(name)));
  });
}

interface Run {
  readonly events: { at: number; event: ParEvent }[];
  result: PARResult | undefined;
  doneAt: number | undefined;
}

function record(scheduler: TestScheduler, group: { events$: Observable<ParEvent> }): Run {
  const run: Run = { events: [], result: undefined, doneAt: undefined };
  group.events$.subscribe((event) => {
    run.events.push({ at: scheduler.now(), event });
    if (event.type === 'done') {
      run.result = event.result;
      run.doneAt = scheduler.now();
    }
  });
  return run;
}

function startsOf(run: Run): number[] {
  return run.events.filter(({ event }) => event.type === 'started').map(({ at }) => at);
}

function backendOn(options: FakeBackendOptions & { name: string }): { registry: BackendRegistry; on: Placement; backend: FakeBackend } {
  const backend = new FakeBackend(options);
  return { backend, registry: new BackendRegistry().register(options.name, backend), on: new Placement({ endpoint: options.name }) };
}

describe('rateLimit.requests: at most limit starts in any window of per seconds', () => {
  test('10 requests per second over 100 processes: done in 10 s of virtual time, never more than 10 starts in any 1 s window', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, on } = backendOn({ name: 'api', rateLimit: { requests: { limit: 10, per: 1 } } });
      const pairs = Array.from({ length: 100 }, (_, index) => [step(`p${index}`, 1000), on] as const);
      const run = record(scheduler, PLACED_PAR(...pairs, { registry, scheduler }));
      flush();
      const starts = startsOf(run);
      expect(run.result?.isOk).toBe(true);
      expect(starts).toHaveLength(100);
      expect(mostInAnyWindow(starts, 1000)).toBe(10);
      // As early as the window allows: ten at each whole second, the last ten ending at 10 s.
      expect(starts.filter((at) => at === 9000)).toHaveLength(10);
      expect(run.doneAt).toBe(10_000);
      const queued = run.events.flatMap(({ event }) => (event.type === 'queued' ? [event.reason] : []));
      expect(queued).toEqual(Array.from({ length: 90 }, () => 'rate'));
    });
  });

  test('the rate is shared by every run on the backend instance, first come first served', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, on, backend } = backendOn({ name: 'api', rateLimit: { requests: { limit: 3, per: 1 } } });
      const group = (prefix: string) => PLACED_PAR(...Array.from({ length: 4 }, (_, index) => [step(`${prefix}${index}`, 10), on] as const), { registry, scheduler });
      const one = record(scheduler, group('a'));
      const two = record(scheduler, group('b'));
      flush();
      const starts = [...startsOf(one), ...startsOf(two)].sort((x, y) => x - y);
      expect(mostInAnyWindow(starts, 1000)).toBe(3);
      expect(backend.names).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3']);
      expect(backend.calls.map((call) => call.startedAt)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000]);
    });
  });

  test('a mapPlaced stream and a group on the same backend share its rate', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, on, backend } = backendOn({ name: 'api', rateLimit: { requests: { limit: 2, per: 1 } } });
      const group = record(scheduler, PLACED_PAR(...['g0', 'g1', 'g2'].map((name) => [step(name, 10), on] as const), { registry, scheduler }));
      const streamed: string[] = [];
      from(['s0', 's1', 's2'])
        .pipe(mapPlaced((name) => [step(name, 10), on] as const, { registry, scheduler }))
        .subscribe((result) => streamed.push(result.isOk ? String(result.value) : 'failed'));
      flush();
      expect(group.result?.isOk).toBe(true);
      expect(streamed).toEqual(['s0', 's1', 's2']);
      expect(backend.calls.map((call) => `${call.name}@${call.startedAt}`)).toEqual(['g0@0', 'g1@0', 'g2@1000', 's0@1000', 's1@2000', 's2@2000']);
    });
  });

  test('a slot wait is reason "slot", a rate wait reason "rate"', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, on } = backendOn({ name: 'api', concurrencyLimit: 1, rateLimit: { requests: { limit: 5, per: 1 } } });
      const capped = record(scheduler, PLACED_PAR([step('a', 10), on], [step('b', 10), on], { registry, scheduler }));
      flush();
      expect(capped.events.flatMap(({ event }) => (event.type === 'queued' ? [`${event.name}:${event.reason}`] : []))).toEqual(['b:slot']);
    });
    const fresh = marbleScheduler();
    fresh.run(({ flush }) => {
      const { registry, on } = backendOn({ name: 'api', rateLimit: { requests: { limit: 1, per: 1 } } });
      const limited = record(fresh, PLACED_PAR([step('a', 10), on], [step('b', 10), on], { registry, scheduler: fresh }));
      flush();
      expect(limited.events.flatMap(({ event }) => (event.type === 'queued' ? [`${event.name}:${event.reason}`] : []))).toEqual(['b:rate']);
      expect(startsOf(limited)).toEqual([0, 1000]);
    });
  });

  test('waiting for the rate counts against the deadline: a process still waiting fails "waiting"', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, on } = backendOn({ name: 'api', rateLimit: { requests: { limit: 1, per: 10 } } });
      const run = record(scheduler, PLACED_PAR([step('a', 10), on], [step('b', 10), on], { registry, scheduler, deadline: 1, onFailure: FailurePolicy.COLLECT }));
      flush();
      expect(run.doneAt).toBe(1000);
      const error = run.result?.failures[0]?.error;
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect((error as DeadlineExceededError).phase).toBe('waiting');
      expect(run.result?.failures[0]?.processName).toBe('b');
    });
  });

  test('a backend with a bad rateLimit is refused at register, naming the field', () => {
    const bad = { name: 'api', rateLimit: { requests: { limit: 0, per: 1 } }, execute: () => Promise.resolve(ProcessResult.ok(1)) };
    expect(() => new BackendRegistry().register('api', bad)).toThrow(UsageError);
    expect(() => new BackendRegistry().register('api', bad)).toThrow(/register\(backend\)\.rateLimit\.requests\.limit: expected a whole number >= 1/);
    expect(() => new FakeBackend({ rateLimit: { tokens: { limit: 10, per: -1 } } })).toThrow(/FakeBackend options\.rateLimit\.tokens\.per: expected a finite number of seconds > 0/);
  });
});

describe('rateLimit.tokens: the tokens recorded, and expected, in any window of per seconds', () => {
  /** A process that spends `spent` tokens in two records, at its start and after `ms`. */
  function spender(name: string, ms: number, spent: number) {
    return Process(name, (ctx) => {
      const half = Math.floor(spent / 2);
      ctx.recordUsage({ inputTokens: half, outputTokens: 0 });
      return timer(ms).pipe(
        map(() => {
          ctx.recordUsage({ inputTokens: 0, outputTokens: spent - half });
          return ProcessResult.ok(name);
        }),
      );
    });
  }

  test('over random usage within what each declared, the tokens of the processes started in any window never exceed the limit', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let round = 0; round < 20; round += 1) {
      const scheduler = marbleScheduler();
      scheduler.run(({ flush }) => {
        const limit = 500 + Math.floor(random() * 1500);
        const per = 1 + Math.floor(random() * 3);
        const { registry, backend } = backendOn({ name: 'api', concurrencyLimit: 1 + Math.floor(random() * 8), rateLimit: { tokens: { limit, per } } });
        const plans = Array.from({ length: 30 }, () => {
          const expected = 1 + Math.floor(random() * limit * 0.6);
          return { expected, spent: Math.floor(random() * (expected + 1)), ms: Math.floor(random() * 1500) };
        });
        const pairs = plans.map((plan, index) => [spender(`p${index}`, plan.ms, plan.spent), new Placement({ endpoint: 'api', config: { expectedTokens: plan.expected } })] as const);
        const run = record(scheduler, PLACED_PAR(...pairs, { registry, scheduler }));
        flush();
        expect(run.result?.isOk).toBe(true);
        const starts = backend.calls.map((call, index) => ({ at: call.startedAt, spent: plans[Number(call.name.slice(1))]?.spent ?? Number.NaN, index }));
        for (const start of starts) {
          const inWindow = starts.filter((other) => other.at <= start.at && other.at > start.at - per * 1000);
          expect(inWindow.reduce((sum, other) => sum + other.spent, 0)).toBeLessThanOrEqual(limit);
        }
      });
    }
  });

  test('usage nobody declared counts when it is recorded: the next start waits for the window to slide past it', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, on, backend } = backendOn({ name: 'api', rateLimit: { tokens: { limit: 1000, per: 1 } } });
      const pairs = Array.from({ length: 5 }, (_, index) => [step(`p${index}`, 10, 600), on] as const);
      const run = record(scheduler, PLACED_PAR(...pairs, { registry, scheduler }));
      flush();
      expect(run.result?.isOk).toBe(true);
      // 600 fits in an empty window, and 1200 is over 1000: the third waits until both slide out.
      expect(backend.calls.map((call) => call.startedAt)).toEqual([0, 0, 1000, 1000, 2000]);
    });
  });

  test('a declared expectation waits for room; a process that expects more than the limit starts once the window is empty', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry, backend } = backendOn({ name: 'api', rateLimit: { tokens: { limit: 1000, per: 1 } } });
      const expecting = (tokens: number) => new Placement({ endpoint: 'api', config: { expectedTokens: tokens } });
      const run = record(scheduler, PLACED_PAR([step('small', 10, 300), expecting(300)], [step('large', 10), expecting(800)], [step('huge', 10), expecting(5000)], { registry, scheduler }));
      flush();
      expect(run.result?.isOk).toBe(true);
      // large waits for small's 300 to slide out; it spends nothing of its 800, which comes back
      // when it ends: the window is empty then, and huge starts.
      expect(backend.calls.map((call) => `${call.name}@${call.startedAt}`)).toEqual(['small@0', 'large@1000', 'huge@1010']);
    });
  });

  test('expectedTokens that is not a number of tokens fails the process with a UsageError', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const { registry } = backendOn({ name: 'api', rateLimit: { tokens: { limit: 1000, per: 1 } } });
      const run = record(scheduler, PLACED_PAR([step('a', 10), new Placement({ endpoint: 'api', config: { expectedTokens: 'lots' } })], { registry, scheduler }));
      flush();
      const error = run.result?.failures[0]?.error;
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toBe('placement.config.expectedTokens: expected a finite number of tokens >= 0, received the string "lots"');
    });
  });
});

describe('pauseOnRateLimit: a 429 with retry-after pauses new starts on its backend, for every run', () => {
  const limited = (retryAfter: number) => Object.assign(new Error('429 Too Many Requests'), { retryAfter, retryable: true });

  function scenario(pauseOnRateLimit: boolean) {
    const scheduler = marbleScheduler();
    let out: { api: FakeBackend; other: FakeBackend; runs: Run[] } | undefined;
    scheduler.run(({ flush }) => {
      const api = new FakeBackend({ name: 'api', concurrencyLimit: 2, pauseOnRateLimit, script: { a: { error: limited(2), delay: 0.01 } }, defaultBehaviour: { result: 'ok', delay: 0.1 } });
      const other = new FakeBackend({ name: 'other', concurrencyLimit: 1, pauseOnRateLimit, defaultBehaviour: { result: 'ok', delay: 0.01 } });
      const registry = new BackendRegistry().register('api', api).register('other', other);
      const onApi = new Placement({ endpoint: 'api' });
      const onOther = new Placement({ endpoint: 'other' });
      const first = Process('a', () => ProcessResult.ok('unused'));
      const names = ['b', 'c', 'd', 'e'];
      const one = record(scheduler, PLACED_PAR([first, onApi], ...names.map((name) => [first.withName(name), onApi] as const), { registry, scheduler, onFailure: FailurePolicy.COLLECT }));
      const two = record(scheduler, PLACED_PAR(...['x', 'y', 'z'].map((name) => [first.withName(name), onOther] as const), [first.withName('f'), onApi], { registry, scheduler, onFailure: FailurePolicy.COLLECT }));
      flush();
      out = { api, other, runs: [one, two] };
    });
    if (out === undefined) throw new Error('the scenario did not run');
    return out;
  }

  test('retry-after 2 on one process delays every queued start on that backend by 2 s, and no other backend', () => {
    const { api, other, runs } = scenario(true);
    // a fails at 10 ms asking for 2 s: c (queued behind it) and everything after waits until 2010 ms.
    expect(api.calls.map((call) => `${call.name}@${call.startedAt}`)).toEqual(['a@0', 'b@0', 'c@2010', 'd@2010', 'e@2110', 'f@2110']);
    expect(other.calls.map((call) => call.startedAt)).toEqual([0, 10, 20]);
    const paused = runs[0]?.events.flatMap(({ at, event }) => (event.type === 'paused' ? [{ at, event }] : []));
    expect(paused).toHaveLength(1);
    expect(paused?.[0]?.at).toBe(10);
    expect(paused?.[0]?.event).toMatchObject({ name: 'a', backend: 'api', until: new Date(2010), reason: 'rate-limited' });
    expect(runs[1]?.events.some(({ event }) => event.type === 'paused')).toBe(false);
  });

  test('without pauseOnRateLimit only the failed process would wait', () => {
    const { api } = scenario(false);
    expect(api.calls.map((call) => `${call.name}@${call.startedAt}`)).toEqual(['a@0', 'b@0', 'c@10', 'd@100', 'e@110', 'f@200']);
  });

  test('the retry of the rate-limited process waits the pause too, and in-flight work goes on', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ flush }) => {
      const api = new FakeBackend({ name: 'api', concurrencyLimit: 3, pauseOnRateLimit: true, script: { a: [{ error: limited(1), delay: 0.01 }, { result: 'ok' }] }, defaultBehaviour: { result: 'ok', delay: 0.5 } });
      const registry = new BackendRegistry().register('api', api);
      const on = new Placement({ endpoint: 'api' });
      const work = Process('a', () => ProcessResult.ok('unused'));
      const run = record(scheduler, PLACED_PAR([work, on], [work.withName('b'), on], [work.withName('c'), on], [work.withName('d'), on], { registry, scheduler, onFailure: FailurePolicy.retry({ maxAttempts: 2, baseDelay: 0.001 }) }));
      flush();
      expect(run.result?.isOk).toBe(true);
      expect(api.calls.map((call) => `${call.name}#${call.attempt}@${call.startedAt}${call.endedAt === undefined ? '' : `-${call.endedAt}`}`)).toEqual(['a#1@0-10', 'b#1@0-500', 'c#1@0-500', 'd#1@1010-1510', 'a#2@1010-1010']);
    });
  });
});
