import { FailurePolicy, RetryPolicy } from '../../lib';

// SPEC 5.4-5.6: HALT, COLLECT and retry({ maxAttempts, backoff, baseDelay }); delayFor(attempt),
// attempt counted from 0: exponential base * 2^attempt, linear base * (attempt + 1), constant base.
describe('FailurePolicy', () => {
  test('HALT and COLLECT are policies of their kind', () => {
    expect(FailurePolicy.HALT).toBeInstanceOf(FailurePolicy);
    expect(FailurePolicy.HALT.kind).toBe('halt');
    expect(FailurePolicy.COLLECT).toBeInstanceOf(FailurePolicy);
    expect(FailurePolicy.COLLECT.kind).toBe('collect');
    expect(String(FailurePolicy.HALT)).toBe('FailurePolicy.HALT');
    expect(String(FailurePolicy.COLLECT)).toBe('FailurePolicy.COLLECT');
  });

  describe('retry', () => {
    test('is a frozen RetryPolicy with the options given', () => {
      const policy = FailurePolicy.retry({ maxAttempts: 3, backoff: 'linear', baseDelay: 2 });
      expect(policy).toBeInstanceOf(RetryPolicy);
      expect(policy).toBeInstanceOf(FailurePolicy);
      expect(policy.kind).toBe('retry');
      expect(policy.maxAttempts).toBe(3);
      expect(policy.backoff).toBe('linear');
      expect(policy.baseDelay).toBe(2);
      expect(Object.isFrozen(policy)).toBe(true);
    });

    test('defaults to exponential backoff from half a second', () => {
      const policy = FailurePolicy.retry({ maxAttempts: 4 });
      expect(policy.backoff).toBe('exponential');
      expect(policy.baseDelay).toBe(0.5);
    });

    test('accepts a single attempt and a zero base delay', () => {
      const policy = FailurePolicy.retry({ maxAttempts: 1, baseDelay: 0 });
      expect(policy.maxAttempts).toBe(1);
      expect(policy.delayFor(3)).toBe(0);
    });

    test('describes itself', () => {
      expect(String(FailurePolicy.retry({ maxAttempts: 3, backoff: 'constant', baseDelay: 1 }))).toBe(
        'FailurePolicy.retry({ maxAttempts: 3, backoff: "constant", baseDelay: 1 })',
      );
    });
  });

  describe('delayFor(attempt), in seconds, attempt counted from 0', () => {
    test.each([
      ['exponential', 0.5, [0.5, 1, 2, 4, 8]],
      ['exponential', 1, [1, 2, 4, 8, 16]],
      ['linear', 0.5, [0.5, 1, 1.5, 2, 2.5]],
      ['linear', 2, [2, 4, 6, 8, 10]],
      ['constant', 0.25, [0.25, 0.25, 0.25, 0.25, 0.25]],
    ] as const)('%s from %p gives %p', (backoff, baseDelay, delays) => {
      const policy = FailurePolicy.retry({ maxAttempts: 6, backoff, baseDelay });
      expect([0, 1, 2, 3, 4].map((attempt) => policy.delayFor(attempt))).toEqual(delays);
    });
  });
});
