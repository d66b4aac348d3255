import { filter, map } from 'rxjs';
import { z } from 'zod';
import { CancelledError, DeadlineExceededError, FailurePolicy, PLACED_PAR, Process, ProcessResult, UsageError } from '../../lib';
import { eventCode, marbleScheduler } from '../support/helpers';

// SPEC 5.6: a failed process runs again on the same placement until it succeeds or has run
// maxAttempts times, waiting policy.delayFor(attempt) seconds on the scheduler; then the group
// collects. Cancellations and deadline misses are not retried; no attempt starts after the deadline.
describe('SPEC 5.6 retry runs a failed process again after delayFor(attempt)', () => {
  test('in virtual time: exponential delays of 1 and 2 frames, success on the third attempt', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const flaky = Process('flaky', (ctx) => (ctx.attempt < 3 ? cold<ProcessResult>('-#', undefined, new Error(`try ${ctx.attempt}`)) : cold('-(r|)', { r: ProcessResult.ok('third time') })));
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'exponential', baseDelay: 0.001 });
      const group = PLACED_PAR(flaky, { scheduler, onFailure: policy });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('abcd-e(fg|)', {
        a: 'started:flaky#1',
        b: 'retrying:flaky#2',
        c: 'started:flaky#2',
        d: 'retrying:flaky#3',
        e: 'started:flaky#3',
        f: 'settled:flaky:ok',
        g: 'done:ok',
      });
    });
  });

  test('retrying events carry the delay in seconds and the failure of the attempt', async () => {
    let calls = 0;
    const flaky = Process('flaky', () => {
      calls += 1;
      throw new Error(`failure ${calls}`);
    });
    const events: unknown[] = [];
    const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'linear', baseDelay: 0.002 });
    await new Promise<void>((resolve) =>
      PLACED_PAR(flaky, { onFailure: policy }).events$.subscribe({
        next: (event) => {
          if (event.type === 'retrying') events.push({ attempt: event.attempt, delay: event.delay, message: event.failure.error.message });
        },
        complete: resolve,
      }),
    );
    expect(events).toEqual([
      { attempt: 2, delay: 0.002, message: 'failure 1' },
      { attempt: 3, delay: 0.004, message: 'failure 2' },
    ]);
  });

  test('after maxAttempts the failure says how many ran, and the group collects', async () => {
    let runs = 0;
    const alwaysFails = Process('always', () => {
      runs += 1;
      throw new Error('still down');
    });
    const fine = Process('fine', () => ProcessResult.ok('ok'));
    const result = await PLACED_PAR(alwaysFails, fine, { onFailure: FailurePolicy.retry({ maxAttempts: 4, backoff: 'constant', baseDelay: 0 }) }).run();
    expect(runs).toBe(4);
    expect(result.failures[0]?.attempts).toBe(4);
    expect(result.entries[0]?.attempts).toBe(4);
    expect(result.value).toEqual(['ok']);
  });

  test('a cancellation or deadline error from the process itself is not retried', async () => {
    let runs = 0;
    const timesOut = Process('nested', () => {
      runs += 1;
      throw new DeadlineExceededError(new Date(), 'running');
    });
    const cancelled = Process('cancelled', () => {
      runs += 1;
      throw new CancelledError('unsubscribed');
    });
    const result = await PLACED_PAR(timesOut, cancelled, { onFailure: FailurePolicy.retry({ maxAttempts: 5, baseDelay: 0 }) }).run();
    expect(runs).toBe(2);
    expect(result.failures.map((f) => f.attempts)).toEqual([1, 1]);
  });

  test('in virtual time: no attempt starts after the deadline; the last real failure is kept', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const failing = Process('failing', () => cold<ProcessResult>('-#', undefined, new Error('down')));
      // Attempt 1 fails at 1ms, retry at 1+4=5ms; attempt 2 fails at 6ms; the next retry would start at 14ms > deadline 10ms.
      const policy = FailurePolicy.retry({ maxAttempts: 5, backoff: 'exponential', baseDelay: 0.004 });
      const group = PLACED_PAR(failing, { scheduler, onFailure: policy, deadline: 0.01 });
      expectObservable(group.events$.pipe(map(eventCode))).toBe('ab---c(de|)', {
        a: 'started:failing#1',
        b: 'retrying:failing#2',
        c: 'started:failing#2',
        d: 'settled:failing:Error',
        e: 'done:fail',
      });
    });
  });
});

describe('SPEC 5.6 errors shape their retry', () => {
  test('an error marked retryable: false is final', async () => {
    let runs = 0;
    const unauthorized = Process('unauthorized', () => {
      runs += 1;
      throw Object.assign(new Error('401: check the API key'), { retryable: false });
    });
    const result = await PLACED_PAR(unauthorized, { onFailure: FailurePolicy.retry({ maxAttempts: 5, baseDelay: 0 }) }).run();
    expect(runs).toBe(1);
    expect(result.failures[0]?.attempts).toBe(1);
  });

  test('in virtual time: retryAfter (seconds) lengthens the wait beyond delayFor', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limited = Process('limited', (ctx) =>
        ctx.attempt === 1 ? cold<ProcessResult>('-#', undefined, Object.assign(new Error('429'), { retryAfter: 0.005 })) : cold('-(r|)', { r: ProcessResult.ok('ok') }),
      );
      const group = PLACED_PAR(limited, { scheduler, onFailure: FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.001 }) });
      // Fails at 1, waits 5 (not 1), second attempt starts at 6 and succeeds at 7.
      expectObservable(group.events$.pipe(map(eventCode))).toBe('ab----c(de|)', {
        a: 'started:limited#1',
        b: 'retrying:limited#2',
        c: 'started:limited#2',
        d: 'settled:limited:ok',
        e: 'done:ok',
      });
    });
  });
});

describe('SPEC 5.6 maxDelay caps every wait, retry-after included', () => {
  test("in virtual time: a server's retry-after of an hour is waited 3 frames under maxDelay: 0.003", () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limited = Process('limited', (ctx) =>
        ctx.attempt === 1 ? cold<ProcessResult>('-#', undefined, Object.assign(new Error('429'), { retryAfter: 3600 })) : cold('-(r|)', { r: ProcessResult.ok('ok') }),
      );
      const group = PLACED_PAR(limited, { scheduler, onFailure: FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.001, maxDelay: 0.003 }) });
      // Fails at 1, waits 3 (not 3600 s), the second attempt starts at 4 and succeeds at 5.
      expectObservable(group.events$.pipe(map(eventCode))).toBe('ab--c(de|)', {
        a: 'started:limited#1',
        b: 'retrying:limited#2',
        c: 'started:limited#2',
        d: 'settled:limited:ok',
        e: 'done:ok',
      });
    });
  });

  test('in virtual time: exponential waits of 1, 2, 4 frames are cut to 2 (the retrying events say so)', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const flaky = Process('flaky', (ctx) => (ctx.attempt < 4 ? cold<ProcessResult>('#', undefined, new Error(`try ${ctx.attempt}`)) : cold('(r|)', { r: ProcessResult.ok('fourth') })));
      const group = PLACED_PAR(flaky, { scheduler, onFailure: FailurePolicy.retry({ maxAttempts: 4, baseDelay: 0.001, maxDelay: 0.002 }) });
      const delays = group.events$.pipe(
        filter((event) => event.type === 'retrying' || event.type === 'done'),
        map((event) => (event.type === 'retrying' ? event.delay : 'done')),
      );
      // Waits 1, 2 and 2 (not 4): retrying at 0, 1 and 3; the fourth attempt succeeds at 5.
      expectObservable(delays).toBe('ab-c-(d|)', { a: 0.001, b: 0.002, c: 0.002, d: 'done' });
    });
  });

  test('delayFor and waitAfter never pass maxDelay; a bad maxDelay is a UsageError', () => {
    const policy = FailurePolicy.retry({ maxAttempts: 9, baseDelay: 1, maxDelay: 5 });
    expect([0, 1, 2, 3, 4].map((attempt) => policy.delayFor(attempt))).toEqual([1, 2, 4, 5, 5]);
    expect(policy.waitAfter(1, Object.assign(new Error('429'), { retryAfter: 3600 }))).toBe(5);
    expect(policy.toString()).toContain('maxDelay: 5');
    expect(() => FailurePolicy.retry({ maxAttempts: 2, maxDelay: -1 })).toThrow(UsageError);
    expect(() => FailurePolicy.retry({ maxAttempts: 2, maxDelay: -1 })).toThrow(/maxDelay/);
  });
});

describe('SPEC 5.6 usage and validation errors are final', () => {
  test('a process whose input fails its schema runs once under retry', async () => {
    let runs = 0;
    const typed = Process({ name: 'typed', input: z.object({ query: z.string() }) }, () => {
      runs += 1;
      return ProcessResult.ok('never');
    });
    const result = await PLACED_PAR(typed.withInput({ query: 42 }), { onFailure: FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0 }) }).run();
    expect(runs).toBe(0);
    expect(result.failures[0]?.attempts).toBe(1);
    expect(result.failures[0]?.error.name).toBe('ValidationError');
  });
});

describe('SPEC 5.6 a retry with no wait still waits for the scheduler', () => {
  test('in real time, with baseDelay 0, the retrying event comes before the next attempt, whatever the clock does', async () => {
    let calls = 0;
    const flaky = Process('flaky', () => {
      calls += 1;
      // Let the millisecond clock move on between the failure and the retry's timer.
      const until = Date.now() + 2;
      while (Date.now() < until) {
        // busy: the clock ticks
      }
      if (calls === 1) throw new Error('rate limited');
      return ProcessResult.ok(calls);
    });
    const types: string[] = [];
    await new Promise<void>((resolve) =>
      PLACED_PAR(flaky, { onFailure: FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0 }) }).events$.subscribe({
        next: (event) => types.push(event.type === 'started' || event.type === 'retrying' ? `${event.type}#${event.attempt}` : event.type),
        complete: resolve,
      }),
    );
    expect(types).toEqual(['started#1', 'retrying#2', 'started#2', 'settled', 'done']);
  });
});
