import { NEVER, map } from 'rxjs';
import { BackendRegistry, DeadlineExceededError, type PARResult, type ParEvent, FailurePolicy, PLACED_PAR, Placement, Process, type ProcessContext, ProcessResult } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { eventCode, marbleScheduler } from '../support/helpers';

// SPEC 5.7: when the deadline passes, every unsettled process, running or waiting, is cancelled with
// a DeadlineExceededError saying which; run() resolves at the deadline even if a process ignores
// its signal.
describe('SPEC 5.7 the deadline cancels every unsettled process', () => {
  test('in virtual time: at 5 frames, the running one is "running" and the queued one "waiting"', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const registry = new BackendRegistry().register('one', new FakeBackend({ name: 'one', concurrencyLimit: 1 }));
      const on = new Placement({ endpoint: 'one' });
      const slow = Process('slow', () => cold('----------(r|)', { r: ProcessResult.ok(1) }));
      const group = PLACED_PAR([slow, on], [slow.withName('behind'), on], { registry, scheduler, deadline: 0.005 });
      const withPhase = (event: ParEvent): string =>
        event.type === 'settled' && event.result.isFail ? `${eventCode(event)}:${(event.result.failure.error as DeadlineExceededError).phase}` : eventCode(event);
      expectObservable(group.events$.pipe(map(withPhase))).toBe('(ab) 1ms (cde|)', {
        a: 'started:slow#1',
        b: 'queued:behind',
        c: 'settled:slow:DeadlineExceededError:running',
        d: 'settled:behind:DeadlineExceededError:waiting',
        e: 'done:fail',
      });
    });
  });

  test('run() resolves at the deadline even when a process ignores its signal', async () => {
    const stubborn = Process('stubborn', () => new Promise<ProcessResult>(() => undefined));
    const started = Date.now();
    const result = await PLACED_PAR(stubborn, Process('observable', () => NEVER), { deadline: 0.05, onFailure: FailurePolicy.COLLECT }).run();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(45);
    expect(elapsed).toBeLessThan(2_000);
    expect(result.failures.map((f) => f.error)).toEqual([expect.any(DeadlineExceededError), expect.any(DeadlineExceededError)]);
  });

  test('the error names the deadline and the phase, the failure the process, and the signal aborts with it', () => {
    // In virtual time: on a busy machine a real 40 ms deadline can pass before the process starts.
    const scheduler = marbleScheduler();
    let reason: unknown;
    const honest = Process('honest', (ctx) => {
      ctx.signal.addEventListener('abort', () => void (reason = ctx.signal.reason as unknown), { once: true });
      return NEVER;
    });
    let result: PARResult | undefined;
    let deadline: Date | undefined;
    scheduler.run(() => {
      deadline = new Date(scheduler.now() + 40);
      PLACED_PAR(honest, { deadline, scheduler }).result$.subscribe((settled) => (result = settled));
    });
    const error = result?.failures[0]?.error as DeadlineExceededError;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.deadline).toEqual(deadline);
    expect(error.message).toContain('running');
    expect(result?.failures[0]?.summary).toMatch(/^\[honest\] DeadlineExceededError: deadline exceeded/);
    expect(reason).toBe(error);
  });

  test('ctx.deadline tells the process when the deadline passes', async () => {
    let seen: Date | undefined;
    const deadline = new Date(Date.now() + 60_000);
    await PLACED_PAR(Process('peek', (ctx) => ((seen = ctx.deadline), ProcessResult.ok())), { deadline }).run();
    expect(seen).toEqual(deadline);
  });

  test('a deadline already past fails every process as waiting, without starting any', async () => {
    let ran = false;
    const result = await PLACED_PAR(Process('late', () => ((ran = true), ProcessResult.ok())), { deadline: new Date(Date.now() - 1_000) }).run();
    expect(ran).toBe(false);
    expect((result.failures[0]?.error as DeadlineExceededError).phase).toBe('waiting');
  });
  test("a cut process's failure carries its execution's id, the one its context gives, whenever either is read", () => {
    // A cut draws no id for a process that never read its own (see LazyProcessId): the failure's id
    // is drawn when it is first read, from the context's own, so both always agree.
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const scheduler = marbleScheduler();
    const contexts = new Map<string, ProcessContext>();
    let readEarly: string | undefined;
    const keep = (name: string, readId: boolean) =>
      Process(name, (ctx) => {
        contexts.set(name, ctx);
        if (readId) readEarly = ctx.processId;
        return NEVER;
      });
    let result: PARResult | undefined;
    scheduler.run(() => {
      PLACED_PAR(keep('quiet', false), keep('curious', true), keep('late', false), { deadline: 0.01, scheduler, onFailure: FailurePolicy.COLLECT }).result$.subscribe((settled) => (result = settled));
    });
    const [quiet, curious, late] = result?.failures ?? [];
    // Read from the failure first, then from the context kept past the run:
    expect(quiet?.processId).toMatch(UUID);
    expect(quiet?.processId).toBe(quiet?.processId);
    expect(contexts.get('quiet')?.processId).toBe(quiet?.processId);
    // Read by the body before the cut:
    expect(curious?.processId).toBe(readEarly);
    // Read from the context first (after the run), then from the failure and its JSON:
    const lateId = contexts.get('late')?.processId;
    expect(lateId).toMatch(UUID);
    expect(late?.processId).toBe(lateId);
    expect(late?.toJSON().processId).toBe(lateId);
    expect(new Set([quiet?.processId, curious?.processId, late?.processId]).size).toBe(3);
  });
});
