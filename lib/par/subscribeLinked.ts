import { type Observable, type Observer, Subscriber } from 'rxjs';

/**
 * Subscribes `observer` to `source` through a Subscriber linked to `downstream` before the source
 * starts: a consumer that leaves while the source is still emitting synchronously (take(1) on the
 * first event of a run that starts a thousand processes) stops it there, as RxJS's own operators
 * do. `source.subscribe(observer)` links only once it returns. Returns the new Subscriber, which can
 * also be unsubscribed alone.
 *
 * @example
 * ```ts
 * new Observable((subscriber) => {
 *   subscribeLinked(source, subscriber, { next: (value) => subscriber.next(value + 1) });
 * });
 * ```
 */
export function subscribeLinked<V>(source: Observable<V>, downstream: Subscriber<unknown>, observer: Partial<Observer<V>>): Subscriber<V> {
  const linked = new Subscriber<V>({
    next: observer.next ?? (() => undefined),
    error: observer.error ?? ((error: unknown) => downstream.error(error)),
    complete: observer.complete ?? (() => downstream.complete()),
  });
  downstream.add(linked);
  source.subscribe(linked);
  return linked;
}
