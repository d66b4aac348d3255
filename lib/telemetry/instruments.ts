import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import type { TokenUsage } from '../process/usage';
import { type OtelApi, activeMeter } from './otel';

/**
 * The metrics of runs, made once per meter. Every one carries `stbass.backend`; `settled` also
 * `stbass.outcome`, `deadline_misses` `stbass.deadline.phase`, `tokens` `gen_ai.token.type`.
 */
export interface Instruments {
  /** Processes whose first attempt started. */
  readonly started: Counter;
  /** Processes settled, by outcome (`ok`, `failed`, `cancelled`, `deadline`). */
  readonly settled: Counter;
  /** Attempts retried by the policy. */
  readonly retries: Counter;
  /** Processes the deadline cut, running or still waiting. */
  readonly deadlineMisses: Counter;
  /** Seconds an attempt waited for a slot of its backend's cap. */
  readonly slotWait: Histogram;
  /** Attempts holding a slot now. */
  readonly inFlight: UpDownCounter;
  /** Tokens spent, input and output. */
  readonly tokens: Counter;
}

const made = new WeakMap<Meter, Instruments>();

/** The instruments of the registered meter provider, or `undefined` when none is registered. */
export function instrumentsOf(otel: OtelApi): Instruments | undefined {
  const meter = activeMeter(otel);
  if (meter === undefined) return undefined;
  let instruments = made.get(meter);
  if (instruments === undefined) {
    instruments = {
      started: meter.createCounter('stbass.process.started', { description: 'Processes whose first attempt started', unit: '{process}' }),
      settled: meter.createCounter('stbass.process.settled', { description: 'Processes settled, by outcome', unit: '{process}' }),
      retries: meter.createCounter('stbass.process.retries', { description: 'Attempts retried by the failure policy', unit: '{attempt}' }),
      deadlineMisses: meter.createCounter('stbass.process.deadline_misses', { description: 'Processes cut by a deadline', unit: '{process}' }),
      slotWait: meter.createHistogram('stbass.slot.wait', { description: "Time an attempt waited for a slot of its backend's cap", unit: 's' }),
      inFlight: meter.createUpDownCounter('stbass.attempt.in_flight', { description: 'Attempts holding a slot of their backend', unit: '{attempt}' }),
      tokens: meter.createCounter('stbass.tokens', { description: 'Tokens spent on models', unit: '{token}' }),
    };
    made.set(meter, instruments);
  }
  return instruments;
}

/** Counts `usage` on `backend`. */
export function countTokens(instruments: Instruments, backend: string, usage: TokenUsage): void {
  instruments.tokens.add(usage.inputTokens, { 'stbass.backend': backend, 'gen_ai.token.type': 'input' });
  instruments.tokens.add(usage.outputTokens, { 'stbass.backend': backend, 'gen_ai.token.type': 'output' });
}
