import { Placement, ProcessContext } from '../../lib';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// SPEC 2: ProcessContext, built directly in tests with `new ProcessContext({ processName, ... })`.
describe('ProcessContext', () => {
  describe('processId', () => {
    test('is a UUID, fresh for each context', () => {
      const first = new ProcessContext({ processName: 'a' });
      const second = new ProcessContext({ processName: 'a' });
      expect(first.processId).toMatch(UUID);
      expect(second.processId).toMatch(UUID);
      expect(first.processId).not.toBe(second.processId);
    });

    test('is stable for the life of one context', () => {
      const ctx = new ProcessContext({ processName: 'a' });
      expect(ctx.processId).toBe(ctx.processId);
    });

    test('is the one given, when given', () => {
      expect(new ProcessContext({ processName: 'a', processId: 'run-1' }).processId).toBe('run-1');
    });
  });

  test('defaults: the unspecified placement, attempt 1, no backend, parent, deadline or input', () => {
    const ctx = new ProcessContext({ processName: 'writer' });
    expect(ctx.processName).toBe('writer');
    expect(ctx.placement).toBeInstanceOf(Placement);
    expect(ctx.placement.summary).toBe('unspecified');
    expect(ctx.attempt).toBe(1);
    expect(ctx.backend).toBeUndefined();
    expect(ctx.parent).toBeUndefined();
    expect(ctx.deadline).toBeUndefined();
    expect(ctx.input).toBeUndefined();
  });

  test('keeps every field it was given', () => {
    const placement = new Placement({ model: 'llama-3', endpoint: 'local:8080' });
    const deadline = new Date('2030-01-01T00:00:00Z');
    const ctx = new ProcessContext({ processName: 'embed', placement, backend: 'local', parent: 'ingest', deadline, attempt: 3, input: { doc: 1 } });
    expect(ctx.placement).toBe(placement);
    expect(ctx.backend).toBe('local');
    expect(ctx.parent).toBe('ingest');
    expect(ctx.deadline).toBe(deadline);
    expect(ctx.attempt).toBe(3);
    expect(ctx.input).toEqual({ doc: 1 });
  });

  describe('signal', () => {
    test('by default is an AbortSignal that is never aborted', () => {
      const signal = new ProcessContext({ processName: 'a' }).signal;
      expect(signal).toBeInstanceOf(AbortSignal);
      expect(signal.aborted).toBe(false);
    });

    test('is the signal given, so cancellation reaches the process', () => {
      const controller = new AbortController();
      const ctx = new ProcessContext({ processName: 'a', signal: controller.signal });
      controller.abort(new Error('halted'));
      expect(ctx.signal.aborted).toBe(true);
    });
  });

  describe('emit', () => {
    test('hands each partial result to onEmit, in order', () => {
      const partials: unknown[] = [];
      const ctx = new ProcessContext({ processName: 'writer', onEmit: (value) => partials.push(value) });
      ctx.emit('Hel');
      ctx.emit('lo');
      ctx.emit({ done: true });
      expect(partials).toEqual(['Hel', 'lo', { done: true }]);
    });

    test('is harmless without onEmit', () => {
      expect(() => new ProcessContext({ processName: 'writer' }).emit('token')).not.toThrow();
    });
  });

  describe('checkpoint', () => {
    test('lastCheckpoint is undefined before any checkpoint', () => {
      expect(new ProcessContext({ processName: 'a' }).lastCheckpoint).toBeUndefined();
    });

    test('lastCheckpoint is the last value recorded', () => {
      const ctx = new ProcessContext({ processName: 'a' });
      ctx.checkpoint({ stage: 'fetched' });
      ctx.checkpoint({ stage: 'parsed', items: 12 });
      expect(ctx.lastCheckpoint).toEqual({ stage: 'parsed', items: 12 });
    });

    test('checkpoints are per context', () => {
      const first = new ProcessContext({ processName: 'a' });
      first.checkpoint(1);
      expect(new ProcessContext({ processName: 'a' }).lastCheckpoint).toBeUndefined();
    });
  });

  test('now() reads the clock given, else the wall clock', () => {
    expect(new ProcessContext({ processName: 'a', now: () => 42 }).now()).toBe(42);
    const before = Date.now();
    const now = new ProcessContext({ processName: 'a' }).now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
