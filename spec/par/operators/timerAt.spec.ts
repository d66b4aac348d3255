import { timerAt } from '../../../lib/par/timerAt';
import { marbleScheduler } from '../../support/helpers';

describe('timerAt: one emission at an instant of the scheduler clock', () => {
  test('emits at the instant, then completes', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      expectObservable(timerAt(scheduler, 30)).toBe('30ms (v|)', { v: undefined });
    });
  });

  test('an instant already past emits on the scheduler, never synchronously (a backoff never runs inside the attempt that failed)', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      let fired = false;
      timerAt(scheduler, -1_000).subscribe(() => (fired = true));
      expect(fired).toBe(false);
      expectObservable(timerAt(scheduler, -1_000)).toBe('(v|)', { v: undefined });
    });
  });

  test('a delay past 2^31 - 1 ms is waited out in steps, not fired after 1 ms', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ expectObservable }) => {
      const thirtyDays = 30 * 24 * 3600 * 1000;
      expectObservable(timerAt(scheduler, thirtyDays)).toBe(`${thirtyDays}ms (v|)`, { v: undefined });
    });
  });

  test('unsubscribing cancels the timer: nothing stays scheduled', () => {
    const scheduler = marbleScheduler();
    scheduler.run(() => {
      timerAt(scheduler, 50).subscribe().unsubscribe();
      expect(scheduler.actions).toHaveLength(0);
    });
  });
});
