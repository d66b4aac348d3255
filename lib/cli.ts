#!/usr/bin/env node
// The `stbass` command: `npx stbass worker --queue gpu --processes ./dist/agents.js`.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Process, isProcess } from './process/Process';
import type * as WorkerModuleNamespace from './queue/worker';

type WorkerModule = typeof WorkerModuleNamespace;

const usage = `usage: stbass worker --queue <name> --processes <module> [--redis <url>] [--concurrency <n>] [--prefix <prefix>]

  --queue        the BullMQ queue to consume (placements on "queue:<name>")
  --processes    a JavaScript module exporting the processes this worker runs (named
                 exports, a default export, or an array/object of processes)
  --redis        the Redis URL (default: $REDIS_URL or redis://127.0.0.1:6379)
  --concurrency  jobs run at once (default 1)
  --prefix       the key prefix shared with the callers (default "bull")`;

/** Every process a module exports: named exports, a default export, arrays and objects of them. */
export function processesOf(moduleExports: unknown): Process[] {
  const found = new Map<string, Process>();
  const visit = (value: unknown, depth: number): void => {
    if (isProcess(value)) found.set(value.name, value);
    else if (depth < 2 && typeof value === 'object' && value !== null) for (const inner of Object.values(value)) visit(inner, depth + 1);
  };
  visit(moduleExports, 0);
  return [...found.values()];
}

/**
 * Loads the processes module: through require (CommonJS, and ES modules that Node can require), else
 * through import (an ES module with top-level await).
 */
async function loadModule(path: string): Promise<unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's module, resolved at run time
    return require(path) as unknown;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw error;
    return (await import(pathToFileURL(path).href)) as unknown;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'worker') {
    const asked = command === undefined || command === '--help';
    (asked ? process.stdout : process.stderr).write(`${usage}\n`);
    return asked ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      queue: { type: 'string' },
      processes: { type: 'string' },
      redis: { type: 'string' },
      concurrency: { type: 'string' },
      prefix: { type: 'string' },
    },
  });
  if (values.queue === undefined || values.processes === undefined) {
    process.stderr.write(`stbass worker: --queue and --processes are required\n${usage}\n`);
    return 2;
  }
  const modulePath = resolve(values.processes);
  const processes = processesOf(await loadModule(modulePath));
  if (processes.length === 0) {
    process.stderr.write(`stbass worker: ${modulePath} exports no processes\n`);
    return 2;
  }
  // Loaded here, not at the top: bullmq and ioredis are optional peers, needed by workers only.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load of an optional peer
  const { startWorker } = require('./queue/worker') as WorkerModule;
  const worker = await startWorker({
    connection: values.redis ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    queue: values.queue,
    processes,
    concurrency: values.concurrency === undefined ? 1 : Number(values.concurrency),
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
  });
  process.stdout.write(`stbass worker: consuming queue "${values.queue}" with ${worker.processNames.join(', ')}\n`);
  // Say once what goes wrong (Redis unreachable, say), not on every reconnection attempt.
  let lastError = '';
  worker.worker.on('error', (error: Error) => {
    if (error.message !== lastError) process.stderr.write(`stbass worker: ${error.message}\n`);
    lastError = error.message;
  });
  return new Promise<number>((done) => {
    // Running jobs get a grace period to finish; a worker that cannot close (Redis is gone) still exits.
    const stop = (): void => {
      setTimeout(() => done(1), 10_000).unref();
      void worker.close().then(() => done(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`stbass: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
