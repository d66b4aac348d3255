import type { Unsubscribable } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { type RateDemand, RateGate, type RateTicket } from './rateGate';

/**
 * A process waiting for a slot; unsubscribing it leaves the queue in O(1), and does nothing once its
 * slot was granted. It can be added to a Subscription as its teardown.
 */
export type SlotWaiter = Unsubscribable;

/**
 * One held slot. The holder ends it when its Observable is torn down; work it started that outlives
 * the Observable (a promise a cancelled body ignores) keeps the slot until it settles, so a cap
 * protects the backend from work it is really still doing.
 */
export interface Lease {
  /** Keeps the slot, even after `end()`, until as many `unhold()` calls as `hold()` calls came. */
  hold(): void;
  /** Undoes one `hold()`. */
  unhold(): void;
  /** Keeps the slot until `work` settles, even after `end()`. */
  holdUntil(work: PromiseLike<unknown>): void;
  /** The holder is done: the slot returns once nothing holds it. Idempotent. */
  end(): void;
  /** The same as `end`, so that a lease can be added to a Subscription as its teardown. */
  unsubscribe(): void;
  /** Counts tokens the holder recorded against its backend's token rate, if it has one. */
  spend(tokens: number): void;
}

/** What a process waits for: a slot of the cap, or the backend's rate (its windows, or a 429's pause). */
export type QueueReason = 'slot' | 'rate';

/** A waiter in its backend's queue: a node of the linked list, and its own teardown. */
interface WaiterNode extends SlotWaiter {
  readonly grant: (lease: Lease) => void;
  /** What it asks of the backend's rate; only a backend with a rate gate is given one. */
  readonly demand: RateDemand | undefined;
  previous: WaiterNode | undefined;
  next: WaiterNode | undefined;
  queued: boolean;
}

class SlotLease implements Lease {
  #ended = false;
  #held = 0;
  #returned = false;

  constructor(
    private readonly slots: BackendSlots,
    private readonly ticket?: RateTicket,
  ) {}

  spend(tokens: number): void {
    this.ticket?.spend(tokens);
  }

  hold(): void {
    this.#held += 1;
  }

  unhold(): void {
    this.#held -= 1;
    this.returnIfIdle();
  }

  holdUntil(work: PromiseLike<unknown>): void {
    const unhold = (): void => this.unhold();
    // `then` first: one that throws (a hostile thenable: its caller fails it) leaves nothing held.
    work.then(unhold, unhold);
    this.hold();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.returnIfIdle();
  }

  unsubscribe(): void {
    this.end();
  }

  private returnIfIdle(): void {
    if (!this.#ended || this.#held > 0 || this.#returned) return;
    this.#returned = true;
    // Tokens reserved and not spent go back to the window before the queue is served.
    this.ticket?.settle();
    this.slots.release();
  }
}

/** Slots whose drain waits for the walk in progress (see `deferDrains`). */
let deferred: Set<BackendSlots> | undefined;

/**
 * Runs `walk` (a HALT, a deadline, an unsubscription cutting many processes at once) with every
 * slot it frees handed out only after it: a freed slot must not start a waiter that the same walk is
 * about to cancel.
 */
export function deferDrains(walk: () => void): void {
  if (deferred !== undefined) return walk();
  const slots = new Set<BackendSlots>();
  deferred = slots;
  try {
    walk();
  } finally {
    deferred = undefined;
    for (const each of slots) each.drain();
  }
}

/**
 * The slots of one backend, shared by every run that uses that backend instance: at most
 * `concurrencyLimit` holders at once, waiters served first-come first-served. The queue is a linked
 * list so that cancelling a waiter (HALT, deadline, unsubscription) costs O(1), never O(waiters).
 * The limit is read from the backend each time, so a getter works as well as a field.
 */
export class BackendSlots {
  #inFlight = 0;
  #waiting = 0;
  #head: WaiterNode | undefined;
  #tail: WaiterNode | undefined;
  #draining = false;
  /**
   * The backend's rate (`rateLimit`, and the pauses of `pauseOnRateLimit`), read when the slots are
   * made; `undefined` for a backend with neither, which then pays nothing for rates.
   */
  readonly gate: RateGate | undefined;

  constructor(private readonly backend: Backend) {
    this.gate = backend.rateLimit !== undefined || backend.pauseOnRateLimit === true ? new RateGate(backend.rateLimit, () => this.drain()) : undefined;
  }

  /** Slots held now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Processes waiting for a slot now. */
  get waiting(): number {
    return this.#waiting;
  }

  private get limit(): number {
    return this.backend.concurrencyLimit ?? Number.POSITIVE_INFINITY;
  }

  /** Why a process queued now waits: for the rate when a slot is free (only a gate holds it back then). */
  get waitingFor(): QueueReason {
    return this.gate !== undefined && this.#inFlight < this.limit ? 'rate' : 'slot';
  }

  /**
   * A lease on a free slot, if one is free, nobody is ahead in the queue and the rate allows
   * (`demand` is required when the backend has a `gate`).
   */
  tryAcquire(demand?: RateDemand): Lease | undefined {
    if (this.#head !== undefined || this.#inFlight >= this.limit) return undefined;
    let ticket: RateTicket | undefined;
    if (this.gate !== undefined && demand !== undefined) {
      ticket = this.gate.admit(demand);
      if (ticket === undefined) return undefined;
    }
    this.#inFlight += 1;
    return new SlotLease(this, ticket);
  }

  /** Queues `grant`, called with a lease when the waiter's turn comes (and the rate allows `demand`). */
  enqueue(grant: (lease: Lease) => void, demand?: RateDemand): SlotWaiter {
    const node: WaiterNode = {
      grant,
      demand,
      previous: this.#tail,
      next: undefined,
      queued: true,
      unsubscribe: () => this.withdraw(node),
    };
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#waiting += 1;
    return node;
  }

  /** A lease returned its slot: serve the queue (after the walk in progress, if any). */
  release(): void {
    this.#inFlight -= 1;
    if (deferred !== undefined) deferred.add(this);
    else this.drain();
  }

  /** Serves waiters while slots are free. Re-entrant calls (a granted process that ends at once) return and let the outer loop go on. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#head !== undefined && this.#inFlight < this.limit) {
        const node = this.#head;
        // A backend with a rate: the head starts only when the rate allows (the gate then wakes
        // this drain), and nobody overtakes it.
        let ticket: RateTicket | undefined;
        if (this.gate !== undefined && node.demand !== undefined) {
          ticket = this.gate.admit(node.demand);
          if (ticket === undefined) break;
        }
        this.remove(node);
        this.#inFlight += 1;
        node.grant(new SlotLease(this, ticket));
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * A waiter leaves before its turn. With a rate gate, a head that leaves hands the wake to the new
   * head: it may start now (it asks for fewer tokens), or its run's clock must wake it.
   */
  private withdraw(node: WaiterNode): void {
    // Granted (or gone) already: nothing to leave, as for every process that got its slot.
    if (!node.queued) return;
    const wasHead = this.#head === node;
    this.remove(node);
    if (!wasHead || this.gate === undefined || this.#head === undefined) return;
    if (deferred !== undefined) deferred.add(this);
    else this.drain();
  }

  /** Unlinks a node still in the queue: the head that drain serves, or a waiter that withdraw found queued. */
  private remove(node: WaiterNode): void {
    node.queued = false;
    // The gate's wake is the head's, on its run's clock: a head that leaves drops it (granted, it may
    // end its run at once: a HALT), and the next head the rate refuses sets its own on its own clock.
    if (node.previous === undefined) {
      this.#head = node.next;
      this.gate?.idle();
    } else node.previous.next = node.next;
    if (node.next === undefined) this.#tail = node.previous;
    else node.next.previous = node.previous;
    node.previous = undefined;
    node.next = undefined;
    this.#waiting -= 1;
  }
}

const slotsByBackend = new WeakMap<Backend, BackendSlots>();

/** The slots of `backend`, created on first use and shared by every run. */
export function slotsFor(backend: Backend): BackendSlots {
  let slots = slotsByBackend.get(backend);
  if (slots === undefined) {
    slots = new BackendSlots(backend);
    slotsByBackend.set(backend, slots);
  }
  return slots;
}
