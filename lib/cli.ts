#!/usr/bin/env node
// The `stbass` command: `npx stbass worker --queue gpu --processes ./dist/agents.js`.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Process, isProcess } from './process/Process';
import type { RedisOptions } from 'ioredis';
import type * as WorkerModuleNamespace from './queue/worker';

type WorkerModule = typeof WorkerModuleNamespace;

const usage = `usage: stbass worker --queue <name> --processes <module> [--redis <url>] [options]

  --queue             the BullMQ queue to consume (placements on "queue:<name>")
  --processes         a JavaScript module exporting the processes this worker runs (named
                      exports, a default export, or an array/object of processes)
  --redis             the Redis URL without a password (default: $REDIS_URL or redis://127.0.0.1:6379)
  --password-file     a file holding the Redis password (else $REDIS_PASSWORD; keep it off the command line)
  --username          the Redis ACL user (default: the URL's, else "default")
  --tls-ca            a PEM file of the CA that signed the server's certificate (turns TLS on)
  --tls-cert          a PEM file of this worker's client certificate (with --tls-key; turns TLS on)
  --tls-key           a PEM file of this worker's client key
  --secret-file       a file holding the queue's shared secret (else $STBASS_QUEUE_SECRET): only
                      cancellations and caller heartbeats signed with it are obeyed
  --concurrency       jobs run at once (default 1)
  --prefix            the key prefix shared with the callers (default "bull")
  --connect-timeout   seconds to wait for Redis at start before giving up, saying why (default 10)
  --max-stalled-count times a job may stall (its worker died) and still be handed on (default 1)`;

/** The options the command takes, as parseArgs wants them. */
const options = {
  queue: { type: 'string' },
  processes: { type: 'string' },
  redis: { type: 'string' },
  'password-file': { type: 'string' },
  username: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'secret-file': { type: 'string' },
  concurrency: { type: 'string' },
  prefix: { type: 'string' },
  'connect-timeout': { type: 'string' },
  'max-stalled-count': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

/** A number option, or a clear complaint naming it. */
function numberOption(values: Values, name: 'concurrency' | 'connect-timeout' | 'max-stalled-count'): number | undefined {
  const given = values[name];
  if (given === undefined) return undefined;
  const number = Number(given);
  if (given.trim() === '' || !Number.isFinite(number)) throw new Error(`--${name} must be a number, received "${given}"`);
  return number;
}

/**
 * The Redis connection: the URL's host, port, user and database, the password from a file or
 * $REDIS_PASSWORD (a password on the command line shows in `ps`), and TLS files when given.
 */
export function connectionOf(values: Values, env: NodeJS.ProcessEnv): string | RedisOptions {
  const url = values.redis ?? env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const password = values['password-file'] === undefined ? env['REDIS_PASSWORD'] : readFileSync(values['password-file'], 'utf8').replace(/\r?\n$/, '');
  const tlsFiles = values['tls-ca'] !== undefined || values['tls-cert'] !== undefined || values['tls-key'] !== undefined;
  if (password === undefined && values.username === undefined && !tlsFiles) return url;
  const parsed = new URL(url);
  const db = Number(parsed.pathname.slice(1) || '0');
  const read = (file: string | undefined): Buffer | undefined => (file === undefined ? undefined : readFileSync(file));
  const tls = parsed.protocol === 'rediss:' || tlsFiles ? { ca: read(values['tls-ca']), cert: read(values['tls-cert']), key: read(values['tls-key']) } : undefined;
  return {
    host: parsed.hostname,
    port: Number(parsed.port || '6379'),
    db,
    ...(values.username !== undefined ? { username: values.username } : parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(password !== undefined ? { password } : parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(tls === undefined ? {} : { tls: Object.fromEntries(Object.entries(tls).filter(([, value]) => value !== undefined)) }),
  };
}

/** The queue's shared secret: from a file (never on the command line, where `ps` shows it) or $STBASS_QUEUE_SECRET. */
export function secretOf(values: Values, env: NodeJS.ProcessEnv): string | undefined {
  const file = values['secret-file'];
  if (file !== undefined) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  const fromEnv = env['STBASS_QUEUE_SECRET'];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

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
  const { values } = parseArgs({ args: rest, options });
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
  // The peer check first, so that a missing one is named with its install command.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load of an optional peer
  require('./queue/peers');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load of an optional peer
  const { startWorker } = require('./queue/worker') as WorkerModule;
  const connectTimeout = numberOption(values, 'connect-timeout');
  const maxStalledCount = numberOption(values, 'max-stalled-count');
  const secret = secretOf(values, process.env);
  const worker = await startWorker({
    connection: connectionOf(values, process.env),
    queue: values.queue,
    processes,
    concurrency: numberOption(values, 'concurrency') ?? 1,
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
    ...(connectTimeout === undefined ? {} : { connectTimeout }),
    ...(maxStalledCount === undefined ? {} : { maxStalledCount }),
    ...(secret === undefined ? {} : { secret }),
  });
  process.stdout.write(`stbass worker: consuming queue "${values.queue}" with ${worker.processNames.join(', ')}${secret === undefined ? '' : ' (signed cancellations and heartbeats only)'}\n`);
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
