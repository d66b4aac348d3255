import { TestScheduler } from 'rxjs/testing';
import { RateGate } from '../../../lib/par/rateGate';
import { BackendSlots, type Lease } from '../../../lib/par/slots';

const virtual = (): TestScheduler => new TestScheduler(() => undefined);

describe('RateGate: sliding windows of starts and tokens on the run’s clock', () => {
  test('requests: a start is refused until the oldest of the last `limit` is `per` old, and the queue is woken then', () => {
    const scheduler = virtual();
    scheduler.run(() => {
      const wakes: number[] = [];
      const gate = new RateGate({ requests: { limit: 2, per: 1 } }, () => wakes.push(scheduler.now()));
      const demand = { scheduler, tokens: 0 };
      expect(gate.admit(demand)).toBeDefined();
      scheduler.schedule(() => expect(gate.admit(demand)).toBeDefined(), 400);
      scheduler.schedule(() => expect(gate.admit(demand)).toBeUndefined(), 500);
      scheduler.flush();
      expect(wakes).toEqual([1000]);
      expect(gate.admit(demand)).toBeDefined();
      // The window now holds the starts at 400 and 1000: the next may start at 1400.
      expect(gate.admit(demand)).toBeUndefined();
      scheduler.flush();
      expect(wakes).toEqual([1000, 1400]);
    });
  });

  test('requests: a window is an age, not a sum: a start 25.999999999999996 ms after the oldest is refused on a window of 26 ms', () => {
    // Found by property 3b at full counts: 6.666666666666667 + 26 rounds to 32.666666666666664, the
    // very instant of the next start, though that start is less than 26 ms after the oldest.
    const scheduler = virtual();
    scheduler.run(() => {
      const wakes: number[] = [];
      const gate = new RateGate({ requests: { limit: 1, per: 0.026 } }, () => wakes.push(scheduler.now()));
      const demand = { scheduler, tokens: 0 };
      const oldest = 6.666666666666667;
      const next = 32.666666666666664;
      scheduler.schedule(() => expect(gate.admit(demand)).toBeDefined(), oldest);
      scheduler.schedule(() => expect(gate.admit(demand)).toBeUndefined(), next);
      scheduler.flush();
      expect(wakes).toHaveLength(1);
      const [woken = 0] = wakes;
      expect(woken - oldest).toBeGreaterThanOrEqual(26);
      expect(gate.admit(demand)).toBeDefined();
    });
  });

  test('tokens: a reservation not spent comes back when the ticket settles; spending beyond it counts when recorded', () => {
    const scheduler = virtual();
    scheduler.run(() => {
      const gate = new RateGate({ tokens: { limit: 100, per: 1 } }, () => undefined);
      const ticket = gate.admit({ scheduler, tokens: 80 });
      expect(gate.admit({ scheduler, tokens: 30 })).toBeUndefined();
      ticket?.spend(50);
      ticket?.settle();
      // 50 of the 80 were spent: 30 more fit now.
      const second = gate.admit({ scheduler, tokens: 30 });
      expect(second).toBeDefined();
      second?.spend(60); // 30 beyond its reservation: the window holds 50 + 30 + 30 = 110
      expect(gate.admit({ scheduler, tokens: 0 })).toBeUndefined();
    });
  });

  test('a pause refuses every start until it ends; a later pause already set stands', () => {
    const scheduler = virtual();
    scheduler.run(() => {
      const gate = new RateGate(undefined, () => undefined);
      gate.pause(2000, scheduler);
      gate.pause(500, scheduler);
      expect(gate.pausedUntil(scheduler.now())).toBe(2000);
      expect(gate.admit({ scheduler, tokens: 0 })).toBeUndefined();
      scheduler.flush();
      expect(scheduler.now()).toBe(2000);
      expect(gate.admit({ scheduler, tokens: 0 })).toBeDefined();
    });
  });

  test('a clock earlier than the last reading is a new clock: the windows start afresh', () => {
    const gate = new RateGate({ requests: { limit: 1, per: 10 } }, () => undefined);
    const first = virtual();
    first.run(() => {
      first.schedule(() => expect(gate.admit({ scheduler: first, tokens: 0 })).toBeDefined(), 5000);
      first.flush();
    });
    const second = virtual();
    second.run(() => expect(gate.admit({ scheduler: second, tokens: 0 })).toBeDefined());
  });
});

describe('BackendSlots with a rate gate', () => {
  const rated = (limit: number) => ({ name: 'rated', rateLimit: { requests: { limit, per: 1 } }, execute: () => Promise.reject(new Error('unused')) });

  test('when the head waiter leaves, its wake moves to the next waiter’s clock (another run’s may stop)', () => {
    const slots = new BackendSlots(rated(1));
    const stopped = virtual();
    const running = virtual();
    const leases: Lease[] = [];
    stopped.run(() => {
      const lease = slots.tryAcquire({ scheduler: stopped, tokens: 0 });
      if (lease !== undefined) leases.push(lease);
    });
    running.run(() => {
      const head = slots.enqueue((lease) => leases.push(lease), { scheduler: stopped, tokens: 0 });
      slots.enqueue((lease) => leases.push(lease), { scheduler: running, tokens: 0 });
      head.unsubscribe();
      // The stopped clock is never flushed again; the running one wakes the queue.
      running.flush();
    });
    expect(leases).toHaveLength(2);
    expect(slots.waiting).toBe(0);
  });

  test('a backend without a rate limit or pauses has no gate', () => {
    expect(new BackendSlots({ name: 'plain', execute: () => Promise.reject(new Error('unused')) }).gate).toBeUndefined();
    expect(new BackendSlots({ name: 'pausing', pauseOnRateLimit: true, execute: () => Promise.reject(new Error('unused')) }).gate).toBeDefined();
  });
});
