import { z } from 'zod';
import { UsageError } from '../errors';
import { parseArgument } from '../validation/parse';
import { ModelUsageError } from './errors';

/** One turn of a conversation. */
export interface ChatMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

const chatMessageSchema = z.strictObject(
  {
    role: z.enum(['user', 'assistant'], { error: 'the role "user" or "assistant"' }),
    content: z.string({ error: 'the message text, a string' }),
  },
  { error: 'a message { role, content }' },
);

const stopExpected = 'a non-empty string or a non-empty array of them';

/** A stop sequence or several: the shape of `stop` on every backend. Every check says the same, so zod's own wording never shows. */
export const stopSchema = z.union(
  [
    z.string({ error: stopExpected }).min(1, { error: stopExpected }),
    z.array(z.string({ error: stopExpected }).min(1, { error: stopExpected }), { error: stopExpected }).min(1, { error: stopExpected }),
  ],
  { error: stopExpected },
);

/** A whole number of tokens >= 1. */
export const tokenCountSchema = z.number({ error: 'a whole number of tokens >= 1' }).int({ error: 'a whole number of tokens >= 1' }).min(1, { error: 'a whole number of tokens >= 1' });

/** A number in `[min, max]`. */
export function numberBetween(min: number, max: number): z.ZodNumber {
  const expected = `a number from ${min} to ${max}`;
  return z.number({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

/** The fields of a request besides the backend's config keys. */
export interface RequestFields {
  readonly system?: string;
  readonly prompt?: string;
  readonly messages?: ChatMessage[];
}

/** The schema of a `generate` / `stream` request: its fields and the backend's config keys. */
export type RequestSchema = z.ZodType<RequestFields & Record<string, unknown>>;

/** The config schema of a backend: a strict object whose keys are the backend's request options. */
export type ConfigSchema = z.ZodObject<z.ZodRawShape, z.core.$strict>;

/**
 * The schema of a `generate` / `stream` request on a backend: `system`, `prompt` or `messages`, and
 * the backend's config keys as per-call overrides.
 */
export function requestSchemaFor(configSchema: ConfigSchema): RequestSchema {
  return configSchema
    .extend({
      system: z.string({ error: 'a system prompt, a string' }).optional(),
      prompt: z.string({ error: 'the prompt, a string' }).optional(),
      messages: z.array(chatMessageSchema, { error: 'an array of messages { role, content }' }).min(1, { error: 'at least one message' }).optional(),
    })
    .superRefine((request: RequestFields, ctx) => {
      if ((request.prompt === undefined) === (request.messages === undefined)) {
        ctx.addIssue({ code: 'custom', path: [], message: 'a request with either `prompt` or `messages` (one of them, not both)' });
      }
    });
}

/** The conversation a request describes: `prompt` is one user turn. */
export function messagesOf(request: { readonly prompt?: string; readonly messages?: readonly ChatMessage[] }): readonly ChatMessage[] {
  return request.messages ?? [{ role: 'user', content: request.prompt ?? '' }];
}

/** `maxTokens` → `max_tokens`: how most APIs spell a key on the wire. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * Refuses a key written the API's way (`max_tokens`, `stop_sequences`) where stbass takes its own
 * name (`maxTokens`, `stop`), naming the one to use. `wireNames` maps each config key to its name
 * on the wire (a dotted name, `output_config.effort`, is matched by its first part).
 */
export function refuseWireNames(value: unknown, wireNames: Readonly<Record<string, string>>, argument: string): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, given] of Object.entries(value)) {
    if (Object.hasOwn(wireNames, key)) continue;
    const own = Object.keys(wireNames).find((candidate) => wireNames[candidate] === key || wireNames[candidate]?.split('.')[0] === key);
    if (own !== undefined) throw new ModelUsageError(`${argument}.${key}`, `\`${own}\`, stbass's name for the API's \`${key}\``, given);
  }
}

/**
 * Parses a model argument (a config, a request) with its schema; a miss is a `ModelUsageError`
 * naming the argument and the key (an unknown key lists the valid ones).
 */
export function parseModelArgument<S extends z.ZodType>(schema: S, value: unknown, argument: string): z.output<S> {
  try {
    return parseArgument(schema, value, argument);
  } catch (error) {
    throw error instanceof UsageError ? ModelUsageError.from(error) : error;
  }
}
