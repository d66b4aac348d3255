import { Observable, type Subscriber } from 'rxjs';
import type { RateDemand } from './rateGate';
import type { BackendSlots, Lease, QueueReason } from './slots';

/**
 * Runs `work` while holding a slot of a backend's cap: at once when one is free, else when its turn
 * comes (first come, first served, across every run that shares the backend). The slot is held until
 * the work has really ended: its Observable torn down and every promise it put on the lease settled.
 * `queued` is emitted when the work has to wait, told whether for a slot or for the backend's rate
 * (`demand`, given for a backend with a rate gate). Unsubscribing a waiter leaves the queue in O(1).
 *
 * Why not `mergeMap(work, limit)`: its waiting buffer is an array consumed with `shift()` (O(n) in
 * V8 past about 16k elements), a waiter cannot be withdrawn from it, and one `mergeMap` cannot be
 * shared by the runs and streams of a backend.
 *
 * ```
 * cap 1, a holds the slot:
 * a:        ---a-----(A|)
 * b:        ---q---------b---(B|)     q: queued; b starts when a's slot returns
 * ```
 *
 * @example
 * ```ts
 * withSlot(slotsFor(backend), (lease) => attempt$(task, backend, lease), () => queuedEvent);
 * ```
 */
export function withSlot<E>(slots: BackendSlots, work: (lease: Lease) => Observable<E>, queued?: (reason: QueueReason) => E | undefined, demand?: RateDemand): Observable<E> {
  return new Observable<E>((subscriber) => {
    const lease = slots.tryAcquire(demand);
    if (lease !== undefined) return holding(lease, work, subscriber);
    const waiter = slots.enqueue((granted) => holding(granted, work, subscriber), demand);
    // Registered before the `queued` event, not returned after it: a consumer that leaves on that
    // event withdraws the waiter there and then, so no drain in the same cascade (a cut's deferred
    // one) can still grant it a slot, and a rate gate's wake for it is cancelled with it.
    subscriber.add(waiter);
    const event = queued?.(slots.waitingFor);
    if (event !== undefined) subscriber.next(event);
    return undefined;
  });
}

function holding<E>(lease: Lease, work: (lease: Lease) => Observable<E>, subscriber: Subscriber<E>): void {
  // The work's teardown is added first, so the backend's finalizers run before the lease ends.
  work(lease).subscribe(subscriber);
  subscriber.add(lease);
}
