import { describeValue } from '../validation/describe';
import { END_EVENT } from './wire';

/**
 * One `text/event-stream` frame. `data` is one line of JSON (JSON.stringify escapes every newline),
 * so it never needs splitting into several `data:` lines.
 */
export function frame(fields: { readonly id?: number; readonly event?: string; readonly data: string }): string {
  return `${fields.id === undefined ? '' : `id: ${fields.id}\n`}${fields.event === undefined ? '' : `event: ${fields.event}\n`}data: ${fields.data}\n\n`;
}

/** A comment line: EventSource ignores it, and it keeps proxies from closing an idle connection. */
export const HEARTBEAT_FRAME = ': heartbeat\n\n';

/** An error's name and message for the page, whatever was thrown. */
export function errorFields(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: typeof error === 'string' ? error : describeValue(error) };
}

/** The frame that ends a stream; with an error when the source of events failed. */
export function endFrame(error?: unknown): string {
  if (error === undefined) return frame({ event: END_EVENT, data: '{}' });
  return frame({ event: END_EVENT, data: JSON.stringify({ error: errorFields(error) }) });
}
