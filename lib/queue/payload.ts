import { z } from 'zod';
import type { JsonValue } from '../placement/Placement';

/** The largest job payload, in bytes of JSON, that callers send and workers take (1 MiB) unless told otherwise. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The longest text copied into a failure reason or message: a reason is broadcast to every caller on the queue. */
export const MAX_REASON_LENGTH = 2_000;

/** A text cut to `max` characters, saying how much was left out. */
export function truncated(text: string, max = MAX_REASON_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * A value that came out of JSON.parse (BullMQ stores job data and return values as JSON), so it is
 * JSON by construction: checking it again, recursively, would only cost time on every job.
 */
const jsonValue = z.custom<JsonValue>(() => true);

/**
 * What crosses the wire to a worker: the process's name (never its code), its input, its
 * placement, when its deadline passes, which attempt this is, and who is waiting for it.
 */
export const jobPayloadSchema = z.object({
  processName: z.string().min(1),
  input: jsonValue.optional(),
  placement: z.object({ model: z.string().optional(), endpoint: z.string().optional(), config: z.record(z.string(), jsonValue).optional() }),
  /** Epoch milliseconds, or null without a deadline. */
  deadline: z.number().nullable(),
  attempt: z.number().int().min(1),
  /** The caller's liveness key suffix: a worker abandons the job when the caller is gone. */
  callerId: z.string().min(1),
  /** The caller's trace context (W3C `traceparent`), when it is traced: the worker's span joins its trace. */
  trace: z.record(z.string(), z.string()).optional(),
});

/** A job's payload. */
export type JobPayload = z.infer<typeof jobPayloadSchema>;

const remoteErrorSchema = z.object({ name: z.string(), message: z.string(), stack: z.string().optional() });

const usageSchema = z.object({ inputTokens: z.number().min(0), outputTokens: z.number().min(0) });

/** What a worker returns: the value, or the error that failed the process, with its last checkpoint. */
export const jobOutcomeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: jsonValue.optional(), usage: usageSchema.optional() }),
  z.object({ ok: z.literal(false), error: remoteErrorSchema, checkpoint: jsonValue.optional(), usage: usageSchema.optional() }),
]);

/** A job's outcome. */
export type JobOutcome = z.infer<typeof jobOutcomeSchema>;
