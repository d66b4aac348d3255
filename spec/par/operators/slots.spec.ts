import { BackendSlots, deferDrains } from '../../../lib/par/slots';

const backend = (limit: number) => ({ name: 'b', concurrencyLimit: limit, execute: () => Promise.reject(new Error('unused')) });

describe('BackendSlots: a cap shared by every run of a backend, first come first served', () => {
  test('grants free slots, queues the rest in order, and serves the queue as leases end', () => {
    const slots = new BackendSlots(backend(1));
    const first = slots.tryAcquire();
    expect(first).toBeDefined();
    expect(slots.tryAcquire()).toBeUndefined();
    const granted: string[] = [];
    slots.enqueue(() => granted.push('a'));
    slots.enqueue(() => granted.push('b'));
    expect(slots.waiting).toBe(2);
    first?.end();
    expect(granted).toEqual(['a']);
    expect(slots.inFlight).toBe(1);
  });

  test('a withdrawn waiter is skipped, and nobody jumps the queue', () => {
    const slots = new BackendSlots(backend(1));
    const first = slots.tryAcquire();
    const granted: string[] = [];
    const a = slots.enqueue(() => granted.push('a'));
    slots.enqueue(() => granted.push('b'));
    a.unsubscribe();
    first?.end();
    expect(granted).toEqual(['b']);
  });

  test('a lease holding a promise returns its slot only when the promise settles, even after end()', async () => {
    const slots = new BackendSlots(backend(1));
    const lease = slots.tryAcquire();
    let settle: () => void = () => undefined;
    lease?.holdUntil(new Promise<void>((resolve) => (settle = resolve)));
    lease?.end();
    expect(slots.inFlight).toBe(1);
    settle();
    await Promise.resolve();
    await Promise.resolve();
    expect(slots.inFlight).toBe(0);
  });

  test('ending a lease twice returns one slot', () => {
    const slots = new BackendSlots(backend(2));
    const lease = slots.tryAcquire();
    slots.tryAcquire();
    lease?.end();
    lease?.end();
    expect(slots.inFlight).toBe(1);
  });

  test('inside deferDrains, freed slots are handed out after the walk', () => {
    const slots = new BackendSlots(backend(1));
    const lease = slots.tryAcquire();
    const granted: string[] = [];
    slots.enqueue(() => granted.push('waiter'));
    deferDrains(() => {
      lease?.end();
      expect(granted).toEqual([]);
    });
    expect(granted).toEqual(['waiter']);
  });

  test('a cap read from a getter is read each time', () => {
    let limit = 1;
    const slots = new BackendSlots({ name: 'g', get concurrencyLimit() { return limit; }, execute: () => Promise.reject(new Error('unused')) });
    slots.tryAcquire();
    expect(slots.tryAcquire()).toBeUndefined();
    limit = 2;
    expect(slots.tryAcquire()).toBeDefined();
  });
});
