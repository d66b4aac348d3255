import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The shared secret of a queue's callers and workers: a string of at least 16 characters (say, 32
 * random bytes in hex). With it, cancellations and caller heartbeats are signed, and a worker
 * ignores the ones another Redis client forged.
 */
export const secretSchema = z.string({ error: 'a secret string of at least 16 characters' }).min(16, { error: 'a secret string of at least 16 characters' });

/** How far apart the clocks of a caller and a worker may be (heartbeats carry the caller's time). */
export const CLOCK_SKEW_MS = 2_000;

/** How long a signed cancellation stays good: as long as the `cancelled` key that carries it lives. */
export const CANCEL_VALIDITY_MS = 3_600_000;

/** A cancellation on the wire: which job of which queue, and, with a secret, when, a nonce and the signature. */
export interface CancelMessage {
  readonly queue: string;
  readonly jobId: string;
  readonly at?: number;
  readonly nonce?: string;
  readonly sig?: string;
}

/**
 * Signs and checks what a caller tells its workers outside BullMQ: cancellations and heartbeats.
 * Each signature covers what the message is about (its kind, the prefix, the queue and job, or the
 * caller), so a genuine one cannot be replayed for another job or another caller, and a time, so an
 * old heartbeat cannot be replayed to keep a dead caller alive.
 */
export class Signer {
  readonly #key: Buffer;

  constructor(
    secret: string,
    private readonly prefix: string,
  ) {
    this.#key = Buffer.from(secret, 'utf8');
  }

  /** A cancellation of `jobId` on `queue`, signed now. */
  cancel(queue: string, jobId: string): CancelMessage {
    const at = Date.now();
    const nonce = randomBytes(8).toString('base64url');
    return { queue, jobId, at, nonce, sig: this.mac(['cancel', this.prefix, queue, jobId, String(at), nonce]) };
  }

  /** Whether a cancellation is genuine: signed with this secret for this job, and not older than the key that keeps it. */
  isGenuineCancel(message: CancelMessage, now = Date.now()): boolean {
    const { queue, jobId, at, nonce, sig } = message;
    if (typeof at !== 'number' || typeof nonce !== 'string' || typeof sig !== 'string') return false;
    if (`${queue}${jobId}${nonce}`.includes('\n')) return false; // a field cannot shift the signed ones
    if (at > now + CLOCK_SKEW_MS || now - at > CANCEL_VALIDITY_MS) return false;
    return this.matches(sig, ['cancel', this.prefix, queue, jobId, String(at), nonce]);
  }

  /** The value of a caller's liveness key: when it was written, for how long it counts, and the signature. */
  heartbeat(callerId: string, ttlMs: number): string {
    const at = String(Date.now());
    const ttl = String(ttlMs);
    return `${at}.${ttl}.${this.mac(['heartbeat', this.prefix, callerId, at, ttl])}`;
  }

  /** Whether a liveness key's value is a genuine heartbeat of `callerId` that has not expired. */
  isLiveHeartbeat(callerId: string, value: string | null, now = Date.now()): boolean {
    const [at = '', ttl = '', sig = '', ...rest] = value?.split('.') ?? [];
    const written = Number(at);
    const lasts = Number(ttl);
    if (rest.length > 0 || !Number.isSafeInteger(written) || !Number.isSafeInteger(lasts)) return false;
    if (written > now + CLOCK_SKEW_MS || now - written > lasts + CLOCK_SKEW_MS) return false;
    return this.matches(sig, ['heartbeat', this.prefix, callerId, at, ttl]);
  }

  private mac(parts: readonly string[]): string {
    // Newline-joined; a part holding a newline is refused before it gets here, so none can shift the fields.
    return createHmac('sha256', this.#key).update(parts.join('\n')).digest('base64url');
  }

  private matches(sig: string, parts: readonly string[]): boolean {
    const expected = Buffer.from(this.mac(parts), 'utf8');
    const given = Buffer.from(sig, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
