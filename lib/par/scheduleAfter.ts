import { type SchedulerLike, Subscription } from 'rxjs';

/** The longest delay a Node.js timer honours; a longer one fires after 1 ms. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * `scheduler.schedule(work, delay)` for any delay: one longer than a timer can hold (about 24.8
 * days: a deadline at the end of a quarter) is waited out in steps instead of firing at once.
 */
export function scheduleAfter(scheduler: SchedulerLike, delay: number, work: () => void): Subscription {
  if (delay <= MAX_TIMER_DELAY) return scheduler.schedule(work, Math.max(0, delay));
  const holder = new Subscription();
  const step = (remaining: number): void => {
    if (remaining <= MAX_TIMER_DELAY) {
      holder.add(scheduler.schedule(work, Math.max(0, remaining)));
      return;
    }
    const startedAt = scheduler.now();
    holder.add(scheduler.schedule(() => step(remaining - (scheduler.now() - startedAt)), MAX_TIMER_DELAY));
  };
  step(delay);
  return holder;
}
