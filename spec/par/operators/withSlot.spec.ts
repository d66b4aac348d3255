import { Observable, Subject, finalize, mergeMap, take, timer } from 'rxjs';
import { BackendSlots } from '../../../lib/par/slots';
import { withSlot } from '../../../lib/par/withSlot';
import { marbleScheduler } from '../../support/helpers';

const backend = (limit: number) => ({ name: 'b', concurrencyLimit: limit, execute: () => Promise.reject(new Error('unused')) });

describe('withSlot: work that waits for, and holds, a slot of its backend', () => {
  test('the second work waits (announced with queued) until the first has ended', () => {
    const scheduler = marbleScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const slots = new BackendSlots(backend(1));
      const a = withSlot(slots, () => cold('---(a|)'));
      const b = withSlot(slots, () => cold('-(b|)'), () => 'q');
      expectObservable(a).toBe('---(a|)');
      expectObservable(b).toBe('q---(b|)');
    });
  });

  test('the slot returns after the work’s own finalizers have run', () => {
    const slots = new BackendSlots(backend(1));
    const order: string[] = [];
    const work = () =>
      new Observable<string>((subscriber) => {
        subscriber.next('v');
        subscriber.complete();
        return () => order.push(`finalized, ${slots.inFlight} in flight`);
      });
    withSlot(slots, work).subscribe();
    order.push(`after, ${slots.inFlight} in flight`);
    expect(order).toEqual(['finalized, 1 in flight', 'after, 0 in flight']);
  });

  test('a consumer that leaves on the queued event withdraws the waiter then: a slot freed in the same cascade does not start it', () => {
    const slots = new BackendSlots(backend(1));
    let started = 0;
    const holder = withSlot(slots, () => new Observable<string>(() => undefined)).subscribe();
    const seen: string[] = [];
    const arrivals = new Subject<void>();
    // The waiter arrives after the consumer subscribed (as a process placed by a running group does).
    arrivals
      .pipe(
        mergeMap(() => withSlot(slots, () => new Observable<string>(() => void (started += 1)), () => 'q')),
        take(1),
        // Torn down while still inside the waiter's subscribe call: it must already have left the
        // queue, so the slot freed here goes to nobody.
        finalize(() => {
          seen.push(`${slots.waiting} waiting`);
          holder.unsubscribe();
        }),
      )
      .subscribe((event) => seen.push(event));
    arrivals.next();
    expect(seen).toEqual(['q', '0 waiting']);
    expect(started).toBe(0);
    expect(slots.inFlight).toBe(0);
  });

  test('unsubscribing a waiter withdraws it: it never starts', () => {
    const slots = new BackendSlots(backend(1));
    const scheduler = marbleScheduler();
    scheduler.run(() => {
      let started = 0;
      withSlot(slots, () => timer(10, scheduler)).subscribe();
      const waiting = withSlot(slots, () => {
        started += 1;
        return timer(1, scheduler);
      }).subscribe();
      waiting.unsubscribe();
      expect(slots.waiting).toBe(0);
      scheduler.flush();
      expect(started).toBe(0);
      expect(slots.inFlight).toBe(0);
    });
  });
});
