import type { Backend } from '../backends/ExecutionBackend';

/** A process waiting for a slot; `cancel` leaves the queue in O(1). */
export interface SlotWaiter {
  cancel(): void;
}

interface WaiterNode extends SlotWaiter {
  grant: () => void;
  previous: WaiterNode | undefined;
  next: WaiterNode | undefined;
  queued: boolean;
}

/**
 * The slots of one backend, shared by every run that uses that backend instance: at most
 * `concurrencyLimit` holders at once, waiters served first-come first-served. The queue is a linked
 * list so that cancelling a waiter (HALT, deadline, unsubscription) costs O(1), never O(waiters).
 */
export class BackendSlots {
  #inFlight = 0;
  #waiting = 0;
  #head: WaiterNode | undefined;
  #tail: WaiterNode | undefined;
  #draining = false;

  constructor(private readonly backend: Backend) {}

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

  /** Takes a slot if one is free and nobody is ahead in the queue. */
  tryAcquire(): boolean {
    if (this.#head !== undefined || this.#inFlight >= this.limit) return false;
    this.#inFlight += 1;
    return true;
  }

  /** Queues `grant`, called (holding a slot) when the waiter's turn comes. */
  enqueue(grant: () => void): SlotWaiter {
    const node: WaiterNode = {
      grant,
      previous: this.#tail,
      next: undefined,
      queued: true,
      cancel: () => this.remove(node),
    };
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#waiting += 1;
    return node;
  }

  /**
   * Gives a slot back without serving the queue yet: the caller settles its process first (so a
   * HALT can withdraw its own waiters), then calls `drain`.
   */
  release(): void {
    this.#inFlight -= 1;
  }

  /** Serves waiters while slots are free. Re-entrant calls (a granted process that ends at once) return and let the outer loop go on. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#head !== undefined && this.#inFlight < this.limit) {
        const node = this.#head;
        this.remove(node);
        this.#inFlight += 1;
        node.grant();
      }
    } finally {
      this.#draining = false;
    }
  }

  private remove(node: WaiterNode): void {
    if (!node.queued) return;
    node.queued = false;
    if (node.previous === undefined) this.#head = node.next;
    else node.previous.next = node.next;
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
