import { Observable, from, take } from 'rxjs';
import { subscribeLinked } from '../../../lib/par/subscribeLinked';

describe('subscribeLinked: an inner subscription that a leaving consumer stops at once', () => {
  test('a consumer that leaves while the source emits synchronously stops the source there', () => {
    const pulled: number[] = [];
    const source = from([1, 2, 3, 4]);
    const relay = new Observable<number>((subscriber) => {
      subscribeLinked(source, subscriber, {
        next: (value) => {
          pulled.push(value);
          subscriber.next(value);
        },
      });
    });
    relay.pipe(take(1)).subscribe();
    expect(pulled).toEqual([1]);
  });

  test('errors and completion go downstream unless the observer handles them', () => {
    const events: string[] = [];
    new Observable<number>((subscriber) => {
      subscribeLinked(from([1]), subscriber, { next: (value) => subscriber.next(value) });
    }).subscribe({ next: (value) => events.push(`n${value}`), complete: () => events.push('c') });
    expect(events).toEqual(['n1', 'c']);
  });
});
