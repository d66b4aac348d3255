/** One parsed `text/event-stream` frame (or a comment, with `comment` set). */
export interface ParsedFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly comment?: string;
}

/** Splits event-stream text into its frames, as EventSource reads them (one data line each here). */
export function parseFrames(text: string): ParsedFrame[] {
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const frame: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) frame['comment'] = line.slice(1).trim();
        else {
          const colon = line.indexOf(':');
          frame[line.slice(0, colon)] = line.slice(colon + 2);
        }
      }
      return frame;
    });
}

/** The JSON of every `message` frame (the events), in order. */
export function messages(frames: readonly ParsedFrame[]): Record<string, unknown>[] {
  return frames.filter((frame) => frame.data !== undefined && frame.event === undefined).map((frame) => JSON.parse(frame.data ?? '') as Record<string, unknown>);
}

/** Reads a whole stream of bytes as text. */
export function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}
