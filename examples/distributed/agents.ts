// The processes of the distributed example. Callers and workers import the same module: a worker
// runs only what is registered with it, by name, and no code travels in a job.
import { z } from 'zod';
import { Process, ProcessResult } from '../../lib';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
  });
}

/** Embeds a text on a worker: reports progress as it goes, returns a small vector and who computed it. */
export const embedder = Process({ name: 'embedder', input: z.object({ text: z.string() }) }, async (ctx) => {
  ctx.signal.addEventListener('abort', () => process.stderr.write(`      (worker pid ${process.pid}: embedder job aborted: ${(ctx.signal.reason as Error).name})\n`));
  const words = ctx.input.text.split(/\s+/);
  for (const [index, word] of words.entries()) {
    await sleep(40, ctx.signal);
    ctx.emit(`embedded ${index + 1}/${words.length}: ${word}`);
  }
  const vector = [0.12, -0.48, 0.33, 0.07].map((x) => Number((x * words.length).toFixed(2)));
  return ProcessResult.ok({ vector, worker: `pid ${process.pid}` });
});

export const processes = [embedder];
