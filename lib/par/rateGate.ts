import type { SchedulerLike, Subscription } from 'rxjs';
import type { RateLimit } from '../backends/rateLimit';

/** What a process asks of its backend's rate before it starts: its run's clock, and the tokens it expects. */
export interface RateDemand {
  readonly scheduler: SchedulerLike;
  /** Tokens reserved in the token window when it starts (`placement.config.expectedTokens`), 0 if none. */
  readonly tokens: number;
}

/** The tokens one charge put in the window, at `at` (ms); `live` until the window slides past it. */
interface TokenCharge {
  readonly at: number;
  amount: number;
  live: boolean;
}

/**
 * What a started process owes its backend's token window: the tokens it reserved when it started,
 * then what it records with `ctx.recordUsage` beyond them. When it ends, an unused reservation is
 * given back, so the window holds what was really spent.
 */
export interface RateTicket {
  /** Counts `tokens` the process recorded. */
  spend(tokens: number): void;
  /** The process ended: gives back what it reserved and did not spend. */
  settle(): void;
}

/** The ticket of a gate without a token window: nothing to count (shared, no allocation per process). */
// Methods, not arrows: the build keeps every named arrow's name with a wrapper, a method needs none.
const untracked: RateTicket = {
  spend() {},
  settle() {},
};

/**
 * The first instant (ms) a whole window of `perMs` after `at`: the windows are ages (`now - at`), and
 * `at + perMs` can round below one (6.666666666666667 + 26 is 32.666666666666664, which is
 * 25.999999999999996 after it), which let a fourth start into a window of three.
 */
function windowEnd(at: number, perMs: number): number {
  let end = at + perMs;
  while (end - at < perMs) end += Math.abs(end) * Number.EPSILON;
  return end;
}

class TokenTicket implements RateTicket {
  #spent = 0;

  constructor(
    private readonly gate: RateGate,
    private readonly reservation: TokenCharge | undefined,
    private readonly reserved: number,
    private readonly scheduler: SchedulerLike,
  ) {}

  spend(tokens: number): void {
    // Spending within the reservation was charged when the process started.
    const beyond = Math.max(0, this.#spent + tokens - Math.max(this.reserved, this.#spent));
    this.#spent += tokens;
    if (beyond > 0) this.gate.charge(beyond, this.scheduler.now());
  }

  settle(): void {
    const unused = this.reserved - this.#spent;
    if (unused > 0 && this.reservation !== undefined) this.gate.refund(this.reservation, unused);
  }
}

/**
 * The rate of one backend, shared (through its `BackendSlots`) by every run: sliding windows over
 * the run's scheduler clock, so virtual time (TestScheduler) works as real time does.
 *
 * - Requests: the times of the last `limit` starts, in a ring; one more may start once the oldest
 *   of them is `per` seconds old. A sliding window, not a token bucket: a bucket refilled
 *   continuously lets `limit` start at once and more during the next `per`, which is the burst
 *   of twice the limit that trips a provider's 429. O(1) a start, memory O(limit).
 * - Tokens: the charges of the last `per` seconds in a queue and their sum; a process starts when
 *   its expected tokens fit beside the sum (or the window is empty: one larger than `limit` must not
 *   wait forever).
 * - A pause (a 429's `retry-after`): nothing starts before it ends.
 *
 * When a waiter is refused, one timer on its scheduler wakes the backend's queue when it could start.
 * Clocks do not go back; one that does is a new (virtual) clock, and the windows start afresh.
 */
export class RateGate {
  readonly #requests: { readonly limit: number; readonly perMs: number } | undefined;
  readonly #tokens: { readonly limit: number; readonly perMs: number } | undefined;
  /** Start times (ms), a ring of at most `requests.limit`; `#oldest` is the next to overwrite. */
  readonly #starts: number[] = [];
  #oldest = 0;
  readonly #charges: TokenCharge[] = [];
  #chargesHead = 0;
  #tokenSum = 0;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  #latest = Number.NEGATIVE_INFINITY;
  #wake: Subscription | undefined;
  #wakeAt = Number.POSITIVE_INFINITY;
  #wakeScheduler: SchedulerLike | undefined;

  constructor(
    limit: RateLimit | undefined,
    private readonly onWake: () => void,
  ) {
    this.#requests = limit?.requests === undefined ? undefined : { limit: limit.requests.limit, perMs: limit.requests.per * 1000 };
    this.#tokens = limit?.tokens === undefined ? undefined : { limit: limit.tokens.limit, perMs: limit.tokens.per * 1000 };
  }

  /** Whether the token window counts anything (a process's `ctx.recordUsage` is then worth reporting). */
  get countsTokens(): boolean {
    return this.#tokens !== undefined;
  }

  /**
   * Starts `demand` now if the rate allows, recording the start: its ticket. Else `undefined`, with
   * the backend's queue woken when it may start.
   */
  admit(demand: RateDemand): RateTicket | undefined {
    const { scheduler } = demand;
    const now = this.#observe(scheduler.now());
    const at = this.#allowedAt(now, demand.tokens);
    if (at > now) {
      this.#wakeOn(scheduler, at);
      return undefined;
    }
    if (this.#requests !== undefined) this.#recordStart(now, this.#requests.limit);
    if (this.#tokens === undefined) return untracked;
    const reservation = demand.tokens > 0 ? this.charge(demand.tokens, now) : undefined;
    return new TokenTicket(this, reservation, demand.tokens, scheduler);
  }

  /** No new start before `until` (ms on `scheduler`'s clock); a later pause already set stands. */
  pause(until: number, scheduler: SchedulerLike): void {
    this.#observe(scheduler.now());
    this.#pausedUntil = Math.max(this.#pausedUntil, until);
  }

  /** When the current pause ends (ms), if one is in force at `now`. */
  pausedUntil(now: number): number | undefined {
    return this.#pausedUntil > now ? this.#pausedUntil : undefined;
  }

  /** Nobody waits any more: the wake timer, if any, must not keep the process alive. */
  idle(): void {
    this.#wake?.unsubscribe();
    this.#wake = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
    this.#wakeScheduler = undefined;
  }

  /** @internal Puts `amount` tokens in the window at `at`; the charge, so that a ticket can give some back. */
  charge(amount: number, at: number): TokenCharge {
    const charge: TokenCharge = { at, amount, live: true };
    this.#charges.push(charge);
    this.#tokenSum += amount;
    return charge;
  }

  /** @internal Gives back `amount` of `charge`, if the window still holds it. */
  refund(charge: TokenCharge, amount: number): void {
    if (!charge.live) return;
    const given = Math.min(amount, charge.amount);
    charge.amount -= given;
    this.#tokenSum -= given;
  }

  /** The earliest instant (ms) at which a process expecting `tokens` may start, given the windows at `now`. */
  #allowedAt(now: number, tokens: number): number {
    let at = this.#pausedUntil;
    const requests = this.#requests;
    if (requests !== undefined && this.#starts.length >= requests.limit) at = Math.max(at, windowEnd(this.#starts[this.#oldest] ?? now, requests.perMs));
    const window = this.#tokens;
    if (window !== undefined) {
      this.#slideTokens(now, window.perMs);
      at = Math.max(at, this.#tokensFitAt(now, tokens, window.limit, window.perMs));
    }
    return at;
  }

  /** When the window will have slid far enough for `tokens` more to fit (now, if they do). */
  #tokensFitAt(now: number, tokens: number, limit: number, perMs: number): number {
    let sum = this.#tokenSum;
    if (sum <= 0 || sum + tokens <= limit) return now;
    for (let index = this.#chargesHead; index < this.#charges.length; index += 1) {
      const charge = this.#charges[index];
      if (charge === undefined) break;
      sum -= charge.amount;
      if (sum <= 0 || sum + tokens <= limit) return windowEnd(charge.at, perMs);
    }
    return now;
  }

  #slideTokens(now: number, perMs: number): void {
    const charges = this.#charges;
    let head = this.#chargesHead;
    for (let charge = charges[head]; charge !== undefined && now - charge.at >= perMs; charge = charges[++head]) {
      charge.live = false;
      this.#tokenSum -= charge.amount;
    }
    if (head === charges.length) {
      charges.length = 0;
      head = 0;
      this.#tokenSum = 0;
    } else if (head > 1024 && head * 2 > charges.length) {
      // Drop the expired prefix now and then, not at every slide: O(1) amortised a charge.
      charges.splice(0, head);
      head = 0;
    }
    this.#chargesHead = head;
  }

  #recordStart(now: number, limit: number): void {
    if (this.#starts.length < limit) {
      this.#starts.push(now);
      return;
    }
    this.#starts[this.#oldest] = now;
    this.#oldest = (this.#oldest + 1) % limit;
  }

  /** Reads the clock; a clock earlier than the latest reading is a new one, and the windows start afresh. */
  #observe(now: number): number {
    if (now < this.#latest) {
      this.#starts.length = 0;
      this.#oldest = 0;
      this.#charges.length = 0;
      this.#chargesHead = 0;
      this.#tokenSum = 0;
      this.#pausedUntil = Number.NEGATIVE_INFINITY;
      this.idle();
    }
    this.#latest = now;
    return now;
  }

  /** The wake is on the scheduler of the waiter at the head: another run's clock may stop (a TestScheduler no longer flushed). */
  #wakeOn(scheduler: SchedulerLike, at: number): void {
    if (this.#wake !== undefined && this.#wakeAt <= at && this.#wakeScheduler === scheduler) return;
    this.#wake?.unsubscribe();
    this.#wakeAt = at;
    this.#wakeScheduler = scheduler;
    // RxJS's scheduler clamps no delay, but a setTimeout past 2^31 - 1 ms fires at once: a wake
    // that early only re-checks the windows and sets the next one.
    const delay = Math.min(Math.max(0, at - scheduler.now()), 2 ** 31 - 1);
    this.#wake = scheduler.schedule(() => {
      this.#wake = undefined;
      this.#wakeAt = Number.POSITIVE_INFINITY;
      this.#wakeScheduler = undefined;
      this.onWake();
    }, delay);
  }
}
