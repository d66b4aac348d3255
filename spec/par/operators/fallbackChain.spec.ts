import { type Observable, map, of, tap, timer } from 'rxjs';
import {
  BackendRegistry,
  BackendUnavailableError,
  CancelledError,
  DeadlineExceededError,
  FailurePolicy,
  type PARResult,
  type ParEvent,
  PLACED_PAR,
  Placement,
  PlacementChain,
  PlacementTimeoutError,
  Process,
  ProcessResult,
  mapPlaced,
} from '../../../lib';
import { HealthCache } from '../../../lib/par/healthCache';
import { toWireEvent } from '../../../lib/sse';
import { FakeBackend, type FakeBackendOptions } from '../../../lib/testing';
import { eventCode, marbleScheduler } from '../../support/helpers';

// A pair's placements form a chain (lib/par/fallbackChain.ts): each runs through the pipeline of a
// single placement (health check, slot, attempt, retries); a final failure that counts moves the
// chain on (a `fallback` event), a hedge starts the next placement beside a slow one, the first
// success wins and cancels the rest, and a HALT or the group's deadline stops the chain.

const process = Process('p', () => ProcessResult.ok('local'));
const at = (endpoint: string): Placement => new Placement({ endpoint });
const [A, B, C] = [at('a'), at('b'), at('c')];

/** Backends a, b, c on the test's clock, with the given options, and their registry. */
function backends(options: Partial<Record<'a' | 'b' | 'c', FakeBackendOptions>>): { a: FakeBackend; b: FakeBackend; c: FakeBackend; registry: BackendRegistry } {
  const a = new FakeBackend({ name: 'a', ...options.a });
  const b = new FakeBackend({ name: 'b', ...options.b });
  const c = new FakeBackend({ name: 'c', ...options.c });
  return { a, b, c, registry: new BackendRegistry().register('a', a).register('b', b).register('c', c) };
}

/** The event codes of a run, keeping its result for the assertions after `scheduler.run`. */
function codes(events$: Observable<ParEvent>, keep: { result?: PARResult }): Observable<string> {
  return events$.pipe(
    tap((event) => {
      if (event.type === 'done') keep.result = event.result;
    }),
    map(eventCode),
  );
}

const down = (message = 'down'): Error => new Error(message);

describe('fallbackChain: moving on', () => {
  test('a backend whose health check fails is skipped without being given the process', () => {
    const scheduler = marbleScheduler();
    const kept: { result?: PARResult } = {};
    scheduler.run(({ expectObservable }) => {
      const { a, b, registry } = backends({ a: { healthy: false }, b: { defaultBehaviour: { result: 'B', delay: 0.01 } } });
      const group = PLACED_PAR([process, [A, B]], { registry, scheduler });
      expectObservable(codes(group.events$, kept)).toBe('(ab) 6ms (cd|)', { a: 'fallback:p:unavailable', b: 'started:p#1', c: 'settled:p:ok', d: 'done:ok' });
      scheduler.flush();
      expect(a.calls).toHaveLength(0);
      expect(b.names).toEqual(['p']);
    });
    const entry = kept.result?.entries[0];
    expect(entry?.result.value).toBe('B');
    expect(entry?.placement).toBe(B);
    expect(entry?.backend).toBe('b');
    expect(entry?.placements?.map((tried) => [tried.backend, tried.outcome, tried.attempts, tried.failure?.error.name])).toEqual([
      ['a', 'failed', 0, 'BackendUnavailableError'],
      ['b', 'ok', 1, undefined],
    ]);
  });

  test('a retryable error moves on once the retry policy is spent on that placement', () => {
    const scheduler = marbleScheduler();
    const kept: { result?: PARResult } = {};
    scheduler.run(({ expectObservable }) => {
      const { a, b, registry } = backends({ a: { defaultBehaviour: { error: down(), delay: 0.01 } }, b: { defaultBehaviour: { result: 'B', delay: 0.01 } } });
      const onFailure = FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.01 });
      const group = PLACED_PAR([process, A.orElse(B)], { registry, scheduler, onFailure });
      expectObservable(codes(group.events$, kept)).toBe('a 9ms b 9ms c 9ms (de) 6ms (fg|)', {
        a: 'started:p#1',
        b: 'retrying:p#2',
        c: 'started:p#2',
        d: 'fallback:p:failed',
        e: 'started:p#1',
        f: 'settled:p:ok',
        g: 'done:ok',
      });
      scheduler.flush();
      expect(a.calls.map((call) => call.attempt)).toEqual([1, 2]);
      expect(b.calls.map((call) => call.attempt)).toEqual([1]);
    });
    const entry = kept.result?.entries[0];
    expect(entry?.attempts).toBe(3);
    expect(entry?.placements?.map((tried) => [tried.backend, tried.outcome, tried.attempts, tried.startedAt?.getTime(), tried.endedAt.getTime()])).toEqual([
      ['a', 'failed', 2, 0, 30],
      ['b', 'ok', 1, 30, 40],
    ]);
  });

  test('the fallback event names where from, where to, why, and the failure', () => {
    const scheduler = marbleScheduler();
    const fallbacks: ParEvent[] = [];
    scheduler.run(() => {
      const { registry } = backends({ a: { defaultBehaviour: { error: down('overloaded') } } });
      PLACED_PAR([process, [A, B]], { registry, scheduler }).events$.subscribe((event) => event.type === 'fallback' && fallbacks.push(event));
    });
    expect(fallbacks).toEqual([expect.objectContaining({ type: 'fallback', index: 0, name: 'p', placement: A, from: A, to: B, reason: 'failed' })]);
    const [event] = fallbacks;
    expect(event?.type === 'fallback' && event.failure?.error.message).toBe('overloaded');
    expect(event?.type === 'fallback' && event.failure?.backend).toBe('a');
  });

  test('a timeout moves on with reason "timeout", even when it says it is not retryable', async () => {
    const timeout = Object.assign(new Error('took too long'), { name: 'TimeoutError', retryable: false });
    const { registry } = backends({ a: { defaultBehaviour: { error: timeout } } });
    const reasons: string[] = [];
    await new Promise<void>((resolve) =>
      PLACED_PAR([process, [A, B]], { registry }).events$.subscribe({ next: (event) => event.type === 'fallback' && reasons.push(event.reason), complete: resolve }),
    );
    expect(reasons).toEqual(['timeout']);
  });

  test('the chain’s timeout cuts a placement that takes too long (its signal aborts) and moves on', () => {
    const scheduler = marbleScheduler();
    const kept: { result?: PARResult } = {};
    scheduler.run(({ expectObservable }) => {
      const { a, registry } = backends({ a: { defaultBehaviour: { hang: true } }, b: { defaultBehaviour: { result: 'B', delay: 0.005 } } });
      const group = PLACED_PAR([process, [A, B], { timeout: 0.01 }], { registry, scheduler });
      expectObservable(codes(group.events$, kept)).toBe('a 9ms (ba) 1ms (cd|)', { a: 'started:p#1', b: 'fallback:p:timeout', c: 'settled:p:ok', d: 'done:ok' });
      scheduler.flush();
      expect(a.calls[0]?.status).toBe('cancelled');
      expect(a.calls[0]?.cancelReason).toBeInstanceOf(PlacementTimeoutError);
      expect(a.calls[0]?.endedAt).toBe(10);
    });
    const [tried] = kept.result?.entries[0]?.placements ?? [];
    expect(tried?.failure?.error).toMatchObject({ name: 'PlacementTimeoutError', timeout: 0.01, placement: A });
    expect(tried?.outcome).toBe('failed');
  });

  test('an error that says it is permanent does not move on: the request itself is wrong', async () => {
    const unauthorized = Object.assign(new Error('401'), { retryable: false });
    const { b, registry } = backends({ a: { defaultBehaviour: { error: unauthorized } } });
    const result = await PLACED_PAR([process, [A, B]], { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(result.failures[0]?.error).toBe(unauthorized);
    expect(result.failures[0]?.previous).toEqual([]);
    expect(b.calls).toHaveLength(0);
  });

  test('fallbackOn decides instead of the default; one that throws keeps the failure', async () => {
    const { b, c, registry } = backends({ a: { defaultBehaviour: { error: down('quota') } }, b: { defaultBehaviour: { error: down('quota') } } });
    const onlyQuota = { fallbackOn: (failure: { error: Error }) => failure.error.message === 'quota' };
    const moved = await PLACED_PAR([process, [A, B, C], onlyQuota], { registry }).run();
    expect(moved.value).toEqual(['local']);
    expect(b.calls).toHaveLength(1);
    expect(c.calls).toHaveLength(1);
    const throwing = {
      fallbackOn: (): boolean => {
        throw new Error('bug in the predicate');
      },
    };
    const kept = await PLACED_PAR([process, [A, B], throwing], { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(kept.failures[0]?.error.message).toBe('quota');
    expect(b.calls).toHaveLength(1);
  });

  test('when every placement fails, the last failure is the pair’s, the earlier ones attached', async () => {
    const { registry } = backends({ a: { healthy: false }, b: { defaultBehaviour: { error: down('b down') } }, c: { defaultBehaviour: { error: down('c down') } } });
    const result = await PLACED_PAR([process, A.orElse(B).orElse(C)], { registry, onFailure: FailurePolicy.COLLECT }).run();
    const failure = result.failures[0];
    expect(failure?.error.message).toBe('c down');
    expect(failure?.placement).toBe(C);
    expect(failure?.backend).toBe('c');
    expect(failure?.attempts).toBe(2);
    expect(failure?.previous.map((earlier) => [earlier.backend, earlier.error.name, earlier.error.message.slice(0, 6)])).toEqual([
      ['a', 'BackendUnavailableError', 'backen'],
      ['b', 'Error', 'b down'],
    ]);
    expect(failure?.previous[0]?.error).toBeInstanceOf(BackendUnavailableError);
    expect(failure?.toJSON().previous?.map((earlier) => earlier.backend)).toEqual(['a', 'b']);
    expect(failure?.detailed).toContain('before:    [p] Error: b down (endpoint=b, backend b)');
    expect(result.entries[0]?.placements?.map((tried) => tried.outcome)).toEqual(['failed', 'failed', 'failed']);
  });

  test('orElse, an array and a PlacementChain name the same chain; one placement is a plain pair', async () => {
    expect(A.orElse(B).orElse(C).placements).toEqual([A, B, C]);
    expect(A.orElse(B.orElse(C))).toEqual(new PlacementChain([A, B, C]));
    expect(A.orElse(B).summary).toBe('endpoint=a | then endpoint=b');
    const { registry } = backends({ a: { healthy: false } });
    const hedged = { hedge: { after: 1 } };
    const group = PLACED_PAR([process, [A, B]], [process, A.orElse(B), hedged], [process, [B]], { registry });
    expect(group.pairs.map(([, ...where]) => where)).toEqual([[[A, B]], [[A, B], hedged], [B]]);
    expect(PLACED_PAR(...group.pairs, { registry }).pairs).toEqual(group.pairs);
    const result = await group.run();
    expect(result.entries.map((entry) => entry.backend)).toEqual(['b', 'b', 'b']);
    expect(result.entries[2]?.placements).toBeUndefined();
  });

  test('mapPlaced takes chains too', async () => {
    const { registry } = backends({ a: { healthy: false } });
    const results: unknown[] = [];
    await new Promise<void>((resolve) =>
      timer(0)
        .pipe(mapPlaced(() => [process, [A, B]], { registry }))
        .subscribe({ next: (result) => results.push(result.value), complete: resolve }),
    );
    expect(results).toEqual(['local']);
  });
});

describe('fallbackChain: what stops it', () => {
  test('a HALT cuts the placement running and starts no other', () => {
    const scheduler = marbleScheduler();
    const kept: { result?: PARResult } = {};
    scheduler.run(({ expectObservable }) => {
      const { a, b, c, registry } = backends({ a: { defaultBehaviour: { error: down(), delay: 0.01 } }, b: { defaultBehaviour: { hang: true } }, c: { defaultBehaviour: { error: down('boom'), delay: 0.015 } } });
      const group = PLACED_PAR([process, [A, B, A]], [process.withName('q'), C], { registry, scheduler });
      expectObservable(codes(group.events$, kept)).toBe('(ab) 6ms (cd) 1ms (efg|)', {
        a: 'started:p#1',
        b: 'started:q#1',
        c: 'fallback:p:failed',
        d: 'started:p#1',
        e: 'settled:q:Error',
        f: 'settled:p:CancelledError',
        g: 'done:fail',
      });
      scheduler.flush();
      expect(b.calls[0]?.status).toBe('cancelled');
      expect(b.calls[0]?.cancelReason).toMatchObject({ reason: 'halt', haltedBy: 'q' });
      expect(c.calls).toHaveLength(1);
      expect(a.calls).toHaveLength(1);
    });
    expect(kept.result?.entries[0]?.placements?.map((tried) => [tried.backend, tried.outcome, tried.failure?.error.name])).toEqual([
      ['a', 'failed', 'Error'],
      ['b', 'cancelled', 'CancelledError'],
    ]);
  });

  test('the group deadline cuts the chain where it stands', () => {
    const scheduler = marbleScheduler();
    const kept: { result?: PARResult } = {};
    scheduler.run(({ expectObservable }) => {
      const { c, registry } = backends({ a: { defaultBehaviour: { error: down(), delay: 0.01 } }, b: { defaultBehaviour: { hang: true } } });
      const group = PLACED_PAR([process, [A, B, C]], { registry, scheduler, deadline: 0.015 });
      expectObservable(codes(group.events$, kept)).toBe('a 9ms (bc) 1ms (de|)', { a: 'started:p#1', b: 'fallback:p:failed', c: 'started:p#1', d: 'settled:p:DeadlineExceededError', e: 'done:fail' });
      scheduler.flush();
      expect(c.calls).toHaveLength(0);
    });
    const failure = kept.result?.failures[0];
    expect(failure?.error).toBeInstanceOf(DeadlineExceededError);
    expect(failure?.error).toMatchObject({ phase: 'running' });
    expect(failure?.backend).toBe('b');
  });
});

describe('fallbackChain: a stream that breaks midway', () => {
  const breaking = { a: { defaultBehaviour: { partials: ['a1'], error: down('stream cut'), delay: 0.01 } }, b: { defaultBehaviour: { partials: ['b1'], result: 'B', delay: 0.01 } } };

  test('onStreamBreak "restart" (the default): `restarted` voids the partials, the next placement starts over', () => {
    const scheduler = marbleScheduler();
    const partials: unknown[] = [];
    scheduler.run(({ expectObservable }) => {
      const { registry } = backends(breaking);
      const events$ = PLACED_PAR([process, [A, B]], { registry, scheduler }).events$.pipe(tap((event) => event.type === 'partial' && partials.push(event.value)));
      expectObservable(events$.pipe(map(eventCode))).toBe('a 4ms b 4ms (cda) b 4ms (ef|)', {
        a: 'started:p#1',
        b: 'partial:p',
        c: 'restarted:p',
        d: 'fallback:p:failed',
        e: 'settled:p:ok',
        f: 'done:ok',
      });
    });
    expect(partials).toEqual(['a1', 'b1']);
  });

  test('onStreamBreak "fail": the pair fails with the break, keeping its partials', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      const { b, registry } = backends(breaking);
      const group = PLACED_PAR([process, [A, B], { onStreamBreak: 'fail' }], { registry, scheduler });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('a 4ms b 4ms (cd|)', { a: 'started:p#1', b: 'partial:p', c: 'settled:p:Error', d: 'done:fail' });
      scheduler.flush();
      expect(b.calls).toHaveLength(0);
    });
  });

  test('a placement that fails before publishing anything falls back without `restarted`', async () => {
    const { registry } = backends({ a: { defaultBehaviour: { error: down() } } });
    const types: string[] = [];
    await new Promise<void>((resolve) => PLACED_PAR([process, [A, B], { onStreamBreak: 'fail' }], { registry }).events$.subscribe({ next: (event) => types.push(event.type), complete: resolve }));
    expect(types).toEqual(['started', 'fallback', 'started', 'settled', 'done']);
  });
});

describe('fallbackChain: hedging', () => {
  test('the hedge wins: the slow placement is cancelled and its slot goes to the next waiter', () => {
    const scheduler = marbleScheduler();
    const kept: { result?: PARResult } = {};
    scheduler.run(({ expectObservable }) => {
      const { a, b, registry } = backends({
        a: { concurrencyLimit: 1, script: { p: { hang: true }, q: { result: 'Q', delay: 0.005 } } },
        b: { defaultBehaviour: { result: 'B', delay: 0.005 } },
      });
      const group = PLACED_PAR([process, [A, B], { hedge: { after: 0.005 } }], [process.withName('q'), A], { registry, scheduler });
      expectObservable(codes(group.events$, kept)).toBe('(ab) 1ms (cd) 1ms (ef) 1ms (gh|)', {
        a: 'started:p#1',
        b: 'queued:q',
        c: 'fallback:p:hedge',
        d: 'started:p#1',
        e: 'settled:p:ok',
        f: 'started:q#1',
        g: 'settled:q:ok',
        h: 'done:ok',
      });
      scheduler.flush();
      expect(a.calls[0]?.status).toBe('cancelled');
      expect(a.calls[0]?.cancelReason).toBeInstanceOf(CancelledError);
      expect(a.calls[0]?.cancelReason).toMatchObject({ reason: 'superseded' });
      expect(a.calls[0]?.endedAt).toBe(10);
      expect(a.peakConcurrency).toBe(1);
      expect(b.calls).toHaveLength(1);
    });
    expect(kept.result?.value).toEqual(['B', 'Q']);
    expect(kept.result?.entries[0]?.placements?.map((tried) => [tried.backend, tried.outcome, tried.hedge])).toEqual([
      ['b', 'ok', true],
      ['a', 'cancelled', false],
    ]);
  });

  test('the first placement wins after the hedge started: the hedge is cancelled', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      const { b, registry } = backends({ a: { defaultBehaviour: { result: 'A', delay: 0.008 } }, b: { defaultBehaviour: { result: 'B', delay: 0.01 } } });
      const group = PLACED_PAR([process, [A, B], { hedge: { after: 0.004 } }], { registry, scheduler });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('a 3ms (ba)(cd|)', { a: 'started:p#1', b: 'fallback:p:hedge', c: 'settled:p:ok', d: 'done:ok' });
      scheduler.flush();
      expect(b.calls[0]?.status).toBe('cancelled');
      expect(b.calls[0]?.endedAt).toBe(8);
    });
  });

  test('a placement that does not settle in time is hedged on each next one in turn', () => {
    const { a, b, registry } = backends({ a: { defaultBehaviour: { hang: true } }, b: { defaultBehaviour: { hang: true } }, c: { defaultBehaviour: { result: 'C' } } });
    const scheduler = marbleScheduler();
    let result: PARResult | undefined;
    scheduler.run(() => {
      PLACED_PAR([process, [A, B, C], { hedge: { after: 0.002 } }], { registry, scheduler }).result$.subscribe((value) => (result = value));
    });
    expect(result?.value).toEqual(['C']);
    expect(result?.entries[0]?.placements?.map((tried) => [tried.backend, tried.outcome, tried.hedge])).toEqual([
      ['c', 'ok', true],
      ['a', 'cancelled', false],
      ['b', 'cancelled', true],
    ]);
    expect([a, b].map((backend) => backend.calls[0]?.status)).toEqual(['cancelled', 'cancelled']);
  });

  test('a hedge waits for a slot of its own backend: each attempt counts against its own cap', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      const { b, registry } = backends({ a: { defaultBehaviour: { hang: true } }, b: { concurrencyLimit: 1, script: { busy: { result: 'busy', delay: 0.02 }, p: { result: 'B', delay: 0.005 } } } });
      const group = PLACED_PAR([process.withName('busy'), B], [process, [A, B], { hedge: { after: 0.005 } }], { registry, scheduler });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('(ab) 1ms (cd) 11ms (eb) 1ms (fg|)', {
        a: 'started:busy#1',
        b: 'started:p#1',
        c: 'fallback:p:hedge',
        d: 'queued:p',
        e: 'settled:busy:ok',
        f: 'settled:p:ok',
        g: 'done:ok',
      });
      scheduler.flush();
      expect(b.peakConcurrency).toBe(1);
    });
  });

  test('partials: one placement is shown at a time; a hedge that wins is shown from its start after `restarted`', () => {
    const scheduler = marbleScheduler();
    const shown: unknown[] = [];
    scheduler.run(() => {
      const { registry } = backends({ a: { defaultBehaviour: { partials: ['a1', 'a2'], result: 'A', delay: 0.03 } }, b: { defaultBehaviour: { partials: ['b1'], result: 'B', delay: 0.01 } } });
      PLACED_PAR([process, [A, B], { hedge: { after: 0.005 } }], { registry, scheduler }).events$.subscribe((event) => {
        if (event.type === 'partial') shown.push(event.value);
        if (event.type === 'restarted') shown.push('restarted');
        if (event.type === 'settled') shown.push(event.result.value);
      });
    });
    // a1 at 10 ms is shown; b1 (at 10 ms too, after it) is held; b wins at 15 ms.
    expect(shown).toEqual(['a1', 'restarted', 'b1', 'B']);
  });
});

describe('health answers cached per backend (healthCheckInterval)', () => {
  test('a run of 1,000 pairs asks a backend once per interval, sharing the pending answer', () => {
    const scheduler = marbleScheduler();
    let result: PARResult | undefined;
    let a: FakeBackend | undefined;
    scheduler.run(() => {
      const made = backends({ a: { healthy: () => timer(3).pipe(map(() => false)) } });
      a = made.a;
      const pairs = Array.from({ length: 1000 }, (_, index) => [process.withName(`p${index}`), [A, B]] as const);
      PLACED_PAR(...pairs, { registry: made.registry, scheduler, healthCheckInterval: 5 }).result$.subscribe((value) => (result = value));
    });
    expect(a?.healthChecks).toBe(1);
    expect(result?.entries.every((entry) => entry.backend === 'b')).toBe(true);
  });

  test('without the option every attempt asks, as before', async () => {
    const { a, registry } = backends({ a: { healthy: false } });
    await PLACED_PAR([process, [A, B]], [process, [A, B]], { registry }).run();
    expect(a.healthChecks).toBe(2);
  });

  test('the answer is asked again once the interval has passed on the run’s clock', () => {
    const scheduler = marbleScheduler();
    scheduler.run(() => {
      let asked = 0;
      const backend = { name: 'x', execute: () => of(ProcessResult.ok(1)), healthCheck: () => ((asked += 1), true) };
      const cache = new HealthCache(0.01, scheduler);
      const check = cache.of(backend);
      expect(cache.of(backend)).toBe(check);
      check.healthCheck?.();
      scheduler.schedule(() => check.healthCheck?.(), 9);
      scheduler.schedule(() => check.healthCheck?.(), 10);
      scheduler.flush();
      expect(asked).toBe(2);
    });
  });

  test('a check that throws is cached as its error, heard by every pair that asks', async () => {
    let asked = 0;
    const { registry } = backends({});
    const flaky = new FakeBackend({
      name: 'a',
      healthy: () => {
        asked += 1;
        throw new Error('no route');
      },
    });
    registry.register('a', flaky);
    const result = await PLACED_PAR([process, [A, B]], [process, [A, B]], { registry, healthCheckInterval: 60 }).run();
    expect(asked).toBe(1);
    expect(result.entries.map((entry) => entry.placements?.[0]?.failure?.error.message)).toEqual([expect.stringContaining('no route'), expect.stringContaining('no route')]);
  });
});

describe('the new events on the wire', () => {
  test('fallback and restarted events serialise with their placements and failure', async () => {
    const { registry } = backends({ a: { defaultBehaviour: { error: down('gone') } } });
    const wire: Record<string, unknown>[] = [];
    await new Promise<void>((resolve) => PLACED_PAR([process, [A, B]], { registry }).events$.subscribe({ next: (event) => wire.push(toWireEvent(event)), complete: resolve }));
    const fallback = JSON.parse(JSON.stringify(wire.find((event) => event.type === 'fallback'))) as Record<string, unknown>;
    expect(fallback).toMatchObject({ type: 'fallback', from: { summary: 'endpoint=a', endpoint: 'a' }, to: { summary: 'endpoint=b' }, reason: 'failed', failure: { backend: 'a', error: { message: 'gone' } } });
    const done = wire.at(-1) as { result: { entries: { placements: { backend: string; outcome: string }[] }[] } };
    expect(done.result.entries[0]?.placements.map((tried) => [tried.backend, tried.outcome])).toEqual([
      ['a', 'failed'],
      ['b', 'ok'],
    ]);
  });
});
