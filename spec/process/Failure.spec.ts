import { Failure, Placement } from '../../lib';

// SPEC 2: Failure (immutable): elapsed (seconds, or undefined without a start), summary
// (`[name] ErrorName: message`), detailed (multi-line), toJSON (plain and serialisable).
describe('Failure', () => {
  const placement = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' });
  class RateLimitError extends Error {
    override name = 'RateLimitError';
  }
  const full = (): Failure =>
    new Failure(new RateLimitError('429 from upstream'), {
      processName: 'reasoner',
      processId: '0b7c6c1e-2f6f-4d3b-9b7e-0d7e0a6f9a11',
      startedAt: new Date('2025-01-01T00:00:00.000Z'),
      failedAt: new Date('2025-01-01T00:00:01.500Z'),
      placement,
      backend: 'anthropic',
      parentProcess: 'research',
      checkpoint: { step: 'drafted', tokens: 812 },
      attempts: 3,
      stack: 'RateLimitError: 429 from upstream\n    at call (model.ts:1:1)',
    });

  test('keeps every field it was given', () => {
    const failure = full();
    expect(failure.error).toBeInstanceOf(RateLimitError);
    expect(failure.processName).toBe('reasoner');
    expect(failure.processId).toBe('0b7c6c1e-2f6f-4d3b-9b7e-0d7e0a6f9a11');
    expect(failure.placement).toBe(placement);
    expect(failure.backend).toBe('anthropic');
    expect(failure.parentProcess).toBe('research');
    expect(failure.checkpoint).toEqual({ step: 'drafted', tokens: 812 });
    expect(failure.attempts).toBe(3);
  });

  test('defaults: name unknown, one attempt, failedAt now, the error\'s own stack', () => {
    const error = new Error('x');
    const before = Date.now();
    const failure = new Failure(error);
    expect(failure.processName).toBe('unknown');
    expect(failure.attempts).toBe(1);
    expect(failure.failedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(failure.stack).toBe(error.stack);
    expect(failure.placement).toBeUndefined();
  });

  test('is immutable', () => {
    const failure = full();
    expect(Object.isFrozen(failure)).toBe(true);
    expect(() => {
      (failure as { processName: string }).processName = 'other';
    }).toThrow(TypeError);
  });

  describe('elapsed', () => {
    test('is the seconds from start to failure', () => {
      expect(full().elapsed).toBe(1.5);
    });

    test('is undefined without a start', () => {
      expect(new Failure(new Error('x')).elapsed).toBeUndefined();
    });
  });

  test('summary is "[name] ErrorName: message"', () => {
    expect(full().summary).toBe('[reasoner] RateLimitError: 429 from upstream');
    expect(new Failure(new TypeError('bad')).summary).toBe('[unknown] TypeError: bad');
  });

  describe('detailed', () => {
    test('has the summary, placement, backend, timing, attempts, checkpoint and stack on separate lines', () => {
      const detailed = full().detailed;
      const lines = detailed.split('\n');
      expect(lines[0]).toBe('[reasoner] RateLimitError: 429 from upstream');
      expect(detailed).toContain('placement: model=claude-opus-4-5-20250414, endpoint=anthropic');
      expect(detailed).toContain('backend:   anthropic');
      expect(detailed).toContain('parent:    research');
      expect(detailed).toContain('2025-01-01T00:00:00.000Z -> 2025-01-01T00:00:01.500Z (1.500s)');
      expect(detailed).toContain('attempts:  3');
      expect(detailed).toContain('checkpoint: {"step":"drafted","tokens":812}');
      expect(detailed).toContain('    at call (model.ts:1:1)');
    });

    test('says unspecified and unknown when placement and backend are missing', () => {
      const detailed = new Failure(new Error('x'), { stack: undefined }).detailed;
      expect(detailed).toContain('placement: unspecified');
      expect(detailed).toContain('backend:   unknown');
      expect(detailed).not.toContain('checkpoint');
    });

    test('prints a checkpoint that JSON cannot serialise instead of throwing', () => {
      expect(() => new Failure(new Error('x'), { checkpoint: { big: 10n } }).detailed).not.toThrow();
    });
  });

  describe('toJSON', () => {
    test('is a plain object with ISO dates, the placement, checkpoint and summary', () => {
      expect(full().toJSON()).toEqual({
        error: { name: 'RateLimitError', message: '429 from upstream', stack: 'RateLimitError: 429 from upstream\n    at call (model.ts:1:1)' },
        processName: 'reasoner',
        processId: '0b7c6c1e-2f6f-4d3b-9b7e-0d7e0a6f9a11',
        startedAt: '2025-01-01T00:00:00.000Z',
        failedAt: '2025-01-01T00:00:01.500Z',
        elapsed: 1.5,
        placement: { model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' },
        backend: 'anthropic',
        parentProcess: 'research',
        checkpoint: { step: 'drafted', tokens: 812 },
        attempts: 3,
        summary: '[reasoner] RateLimitError: 429 from upstream',
      });
    });

    test('round-trips through JSON.stringify unchanged', () => {
      const failure = full();
      expect(JSON.parse(JSON.stringify(failure))).toEqual(failure.toJSON());
    });

    test('leaves out the fields that are missing', () => {
      const json = new Failure(new Error('x'), { stack: undefined }).toJSON();
      expect(Object.keys(json).sort()).toEqual(['attempts', 'error', 'failedAt', 'processName', 'summary']);
    });

    test('stays serialisable with a checkpoint JSON cannot represent', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic['self'] = cyclic;
      const failure = new Failure(new Error('x'), { checkpoint: cyclic });
      expect(() => JSON.stringify(failure)).not.toThrow();
    });
  });

  describe('copies', () => {
    test('with() replaces fields and leaves the original unchanged', () => {
      const failure = full();
      const copy = failure.with({ backend: 'local', attempts: 4 });
      expect(copy.backend).toBe('local');
      expect(copy.attempts).toBe(4);
      expect(copy.error).toBe(failure.error);
      expect(failure.backend).toBe('anthropic');
    });

    test('fillMissing() fills only the fields the failure lacks', () => {
      const failure = new Failure(new Error('x'), { backend: 'anthropic' });
      const filled = failure.fillMissing({ backend: 'local', processName: 'named', parentProcess: 'group' });
      expect(filled.backend).toBe('anthropic');
      expect(filled.processName).toBe('named');
      expect(filled.parentProcess).toBe('group');
    });

    test('fillMissing() fills a defaulted failedAt and attempts, but keeps given ones', () => {
      const defaulted = new Failure(new Error('x')).fillMissing({ failedAt: new Date(5_000), attempts: 3 });
      expect(defaulted.failedAt).toEqual(new Date(5_000));
      expect(defaulted.attempts).toBe(3);
      const given = new Failure(new Error('x'), { failedAt: new Date(1_000), attempts: 2 }).fillMissing({ failedAt: new Date(5_000), attempts: 3 });
      expect(given.failedAt).toEqual(new Date(1_000));
      expect(given.attempts).toBe(2);
    });

    test('fillMissing() without a time keeps the original failedAt', () => {
      const failure = new Failure(new Error('x'));
      expect(failure.fillMissing({ backend: 'local' }).failedAt).toBe(failure.failedAt);
      expect(failure.with({ backend: 'local' }).fillMissing({ failedAt: new Date(7) }).failedAt).toEqual(new Date(7));
    });
  });
});
