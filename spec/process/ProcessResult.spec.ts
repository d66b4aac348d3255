import { Failure, Placement, ProcessResult, UsageError } from '../../lib';

// SPEC 2: ProcessResult.ok / fail, isOk / isFail, value (throws the original error on a failure),
// failure (throws on a success); immutable; a thrown non-Error is wrapped, keeping it as `cause`.
describe('ProcessResult', () => {
  describe('ok', () => {
    test('holds its value', () => {
      const result = ProcessResult.ok({ summary: 'text' });
      expect(result.isOk).toBe(true);
      expect(result.isFail).toBe(false);
      expect(result.value).toEqual({ summary: 'text' });
    });

    test('may hold no value', () => {
      const result = ProcessResult.ok();
      expect(result.isOk).toBe(true);
      expect(result.value).toBeUndefined();
    });

    test('failure throws a UsageError that says the result succeeded', () => {
      expect(() => ProcessResult.ok(1).failure).toThrow(UsageError);
      expect(() => ProcessResult.ok(1).failure).toThrow(/successful ProcessResult/);
    });

    test('failureOrUndefined is undefined', () => {
      expect(ProcessResult.ok(1).failureOrUndefined).toBeUndefined();
    });
  });

  describe('fail', () => {
    test('isFail, and value throws the original error itself', () => {
      const error = new RangeError('rate limited');
      const result = ProcessResult.fail(error);
      expect(result.isFail).toBe(true);
      expect(result.isOk).toBe(false);
      let thrown: unknown;
      try {
        void result.value;
      } catch (caught) {
        thrown = caught;
      }
      expect(thrown).toBe(error);
    });

    test('failure holds the error, with defaults for the fields not given', () => {
      const error = new Error('timeout');
      const failure = ProcessResult.fail(error).failure;
      expect(failure).toBeInstanceOf(Failure);
      expect(failure.error).toBe(error);
      expect(failure.processName).toBe('unknown');
      expect(failure.attempts).toBe(1);
      expect(failure.failedAt).toBeInstanceOf(Date);
    });

    test('the context fills the Failure fields', () => {
      const placement = new Placement({ model: 'claude-haiku-4-5-20250414' });
      const startedAt = new Date(0);
      const failure = ProcessResult.fail(new Error('x'), { processName: 'classifier', placement, startedAt, checkpoint: { step: 2 }, backend: 'anthropic' }).failure;
      expect(failure.processName).toBe('classifier');
      expect(failure.placement).toBe(placement);
      expect(failure.startedAt).toBe(startedAt);
      expect(failure.checkpoint).toEqual({ step: 2 });
      expect(failure.backend).toBe('anthropic');
    });

    test.each([
      ['a string', 'quota exceeded', 'quota exceeded'],
      ['a number', 503, 'the number 503'],
      ['a plain object', { status: 429 }, 'an object with keys { status }'],
      ['undefined', undefined, 'undefined'],
    ])('wraps %s into an Error whose cause is the original', (_description, thrown, messagePart) => {
      const error = ProcessResult.fail(thrown).failure.error;
      expect(error).toBeInstanceOf(Error);
      expect(error.cause).toBe(thrown);
      expect(error.message).toContain(messagePart);
    });

    test('given a Failure, keeps it (and fills only what it lacks from the context)', () => {
      const failure = new Failure(new Error('x'), { processName: 'a' });
      expect(ProcessResult.fail(failure).failure).toBe(failure);
      const filled = ProcessResult.fail(failure, { processName: 'b', backend: 'local' }).failure;
      expect(filled.processName).toBe('a');
      expect(filled.backend).toBe('local');
    });
  });

  test('is immutable', () => {
    expect(Object.isFrozen(ProcessResult.ok(1))).toBe(true);
    expect(Object.isFrozen(ProcessResult.fail(new Error('x')))).toBe(true);
  });

  test('ProcessResult.is recognises results only', () => {
    expect(ProcessResult.is(ProcessResult.ok())).toBe(true);
    expect(ProcessResult.is({ isOk: true, value: 1 })).toBe(false);
  });

  describe('toJSON', () => {
    test('of a success is { ok: true, value }', () => {
      expect(ProcessResult.ok({ n: 1 }).toJSON()).toEqual({ ok: true, value: { n: 1 } });
      expect(JSON.parse(JSON.stringify(ProcessResult.ok([1, 2])))).toEqual({ ok: true, value: [1, 2] });
    });

    test('of a failure is { ok: false, failure } with the failure as plain JSON', () => {
      const result = ProcessResult.fail(new Error('timeout'), { processName: 'fetch', checkpoint: { page: 3 } });
      const json = JSON.parse(JSON.stringify(result)) as { ok: boolean; failure: { summary: string; checkpoint: unknown; error: { message: string } } };
      expect(json.ok).toBe(false);
      expect(json.failure.summary).toBe('[fetch] Error: timeout');
      expect(json.failure.error.message).toBe('timeout');
      expect(json.failure.checkpoint).toEqual({ page: 3 });
    });
  });
});
