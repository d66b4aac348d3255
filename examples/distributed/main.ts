// The seed's PLACED_PAR with the embedder placed on remote workers: `npm run demo:distributed`.
//
// The reasoner and the classifier run here (LocalBackend); the embedder is placed on
// `queue:embeddings`, a BullMQ queue on Redis consumed by two worker processes. The output shows
// where each process ran, the partial results that came back from the workers, and a HALT that
// cancels a job on a worker across processes. Uses $REDIS_URL when set; otherwise starts a
// redis-server of its own if one is installed, and says how to get one if not.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { QueueBackend } from '../../lib/queue';
import { type Print, StreamingTable } from '../support/table';
import { embedder } from './agents';

const tsx = require.resolve('tsx/cjs');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 6379));
    });
  });
}

async function startRedis(print: Print): Promise<{ url: string; stop: () => void } | undefined> {
  const given = process.env['REDIS_URL'];
  if (given !== undefined) {
    print(`Redis: ${given} (from REDIS_URL)`);
    return { url: given, stop: () => undefined };
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    print('Redis: none. Install redis-server (apt-get install redis-server) or set REDIS_URL, then run again.');
    return undefined;
  }
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  print(`Redis: started redis-server on 127.0.0.1:${port} for this demo`);
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', tsx, join(__dirname, 'worker.ts')], { env: { ...process.env, REDIS_URL: url }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve(child)));
}

const reasoner = Process('reasoner', async () => {
  await new Promise((resolve) => setTimeout(resolve, 150));
  return ProcessResult.ok('Refund the duplicate charge.');
});
const classifier = Process('classifier', async () => {
  await new Promise((resolve) => setTimeout(resolve, 60));
  return ProcessResult.ok('billing');
});
const brokenClassifier = Process('classifier', async () => {
  await new Promise((resolve) => setTimeout(resolve, 120));
  throw new Error('429 rate limited');
});

/** Runs the example; returns what the two runs gave (for the example's test). */
export async function main(print: Print = console.log): Promise<{ ran: boolean; values?: unknown[]; halted?: string[] }> {
  print("stbass · the seed's PLACED_PAR with the embedder on remote workers (BullMQ on Redis)\n");
  const redis = await startRedis(print);
  if (redis === undefined) return { ran: false };
  const workers = await Promise.all([startWorker(redis.url), startWorker(redis.url)]);
  print(`Workers: ${workers.map((worker) => `pid ${String(worker.pid)}`).join(', ')} consume queue "embeddings"\n`);
  const queue = new QueueBackend({ connection: redis.url, concurrencyLimit: 8 });
  const registry = new BackendRegistry().register('queue', queue);
  const opus = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' });
  const haiku = new Placement({ model: 'claude-haiku-4-5-20250414', endpoint: 'anthropic' });
  const onWorkers = new Placement({ model: 'nomic', endpoint: 'queue:embeddings' });
  const text = 'customer was charged twice for the annual plan';

  const run = async (title: string, group: ReturnType<typeof PLACED_PAR>): Promise<unknown[]> => {
    print(`━━ ${title}`);
    const table = new StreamingTable(
      [
        { header: 'ms', width: 5, align: 'right' },
        { header: 'process', width: 10 },
        { header: 'event', width: 8 },
        { header: 'detail', width: 70 },
      ],
      print,
    );
    table.printHeader();
    const started = Date.now();
    let values: unknown[] = [];
    await new Promise<void>((resolve) =>
      group.events$.subscribe({
        next: (event) => {
          const ms = String(Date.now() - started);
          if (event.type === 'done') {
            values = event.result.results.map((result) => (result.isOk ? result.value : result.failure.error.name));
            table.printRow([ms, '', 'done', `${event.result.report().succeeded} succeeded, ${event.result.report().failed} failed`]);
          } else if (event.type === 'started') table.printRow([ms, event.name, 'started', `on ${event.backend} (${event.placement.endpoint ?? ''})`]);
          else if (event.type === 'partial') table.printRow([ms, event.name, 'partial', String(event.value)]);
          else if (event.type === 'settled')
            table.printRow([ms, event.name, 'settled', event.result.isOk ? `✓ ${JSON.stringify(event.result.value)}` : `✗ ${event.result.failure.summary}`]);
        },
        complete: resolve,
      }),
    );
    print('');
    return values;
  };

  try {
    const values = await run(
      '1. every agent succeeds; the embedder runs on a worker and streams its progress back',
      PLACED_PAR([reasoner, opus], [classifier, haiku], [embedder.withInput({ text }), onWorkers], { registry, deadline: 10, onFailure: FailurePolicy.COLLECT }),
    );
    const halted = await run(
      '2. HALT: the classifier fails, and the embedder is cancelled on its worker',
      PLACED_PAR([reasoner, opus], [brokenClassifier, haiku], [embedder.withInput({ text: `${text} ${text} ${text}` }), onWorkers], { registry, deadline: 10 }),
    );
    return { ran: true, values, halted: halted.map(String) };
  } finally {
    await queue.close();
    for (const worker of workers) worker.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    redis.stop();
  }
}

if (require.main === module) void main();
