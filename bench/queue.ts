// Queue throughput: jobs per second through the QueueBackend (PLACED_PAR over `queue:bench`, served
// by startWorker) against raw BullMQ (Queue.add per job, a Worker, results read back through
// QueueEvents: what a caller needs too), on the same redis-server, with the same worker concurrency.
//
//   npm run bench:queue [-- --jobs=2000 --rounds=5 --concurrency=16]
//
// Needs redis-server (apt-get install redis-server); starts its own on a free port. The target:
// stbass adds at most 15% over raw BullMQ.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../lib';
import { QueueBackend, startWorker } from '../lib/queue';

const option = (name: string, fallback: number): number => {
  const given = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  return given === undefined ? fallback : Number(given.split('=')[1]);
};
const JOBS = option('jobs', 2_000);
const ROUNDS = option('rounds', 5);
const CONCURRENCY = option('concurrency', 16);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function startRedis(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 400));
  return { port, child };
}

/** Raw BullMQ: add every job, a worker doubles each input, the caller collects every result. */
async function rawBullmq(port: number, queueName: string): Promise<number> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  const worker = new Worker(queueName, (job) => Promise.resolve({ doubled: (job.data as { n: number }).n * 2 }), { connection, concurrency: CONCURRENCY });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  const started = process.hrtime.bigint();
  const results = new Map<string, unknown>();
  const done = new Promise<void>((resolve) =>
    events.on('completed', ({ jobId, returnvalue }) => {
      results.set(jobId, returnvalue);
      if (results.size === JOBS) resolve();
    }),
  );
  await Promise.all(Array.from({ length: JOBS }, (_, n) => queue.add('double', { n }, { attempts: 1, removeOnComplete: { age: 600 } })));
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return JOBS / seconds;
}

const double = Process('double', (ctx) => ProcessResult.ok({ doubled: (ctx.input as { n: number }).n * 2 }));

/** stbass: the same jobs as a PLACED_PAR group on `queue:<name>`, served by startWorker. */
async function throughStbass(port: number, queueName: string): Promise<number> {
  const url = `redis://127.0.0.1:${port}`;
  const worker = await startWorker({ connection: url, queue: queueName, processes: [double], concurrency: CONCURRENCY });
  const backend = new QueueBackend({ connection: url, concurrencyLimit: JOBS });
  const registry = new BackendRegistry().register('queue', backend);
  const on = new Placement({ endpoint: `queue:${queueName}` });
  await backend.healthCheck();
  const group = PLACED_PAR(...Array.from({ length: JOBS }, (_, n) => [double.withInput({ n }), on] as const), { registry, onFailure: FailurePolicy.COLLECT });
  const started = process.hrtime.bigint();
  const result = await group.run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.isOk || result.results.length !== JOBS) throw new Error(`stbass queue run failed: ${JSON.stringify(result.report())}`);
  await backend.close();
  await worker.close();
  const queue = new Queue(queueName, { connection: { host: '127.0.0.1', port } });
  await queue.obliterate({ force: true });
  await queue.close();
  return JOBS / seconds;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

async function main(): Promise<void> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log('queue benchmark skipped: redis-server is not installed (apt-get install redis-server)');
    return;
  }
  const { port, child } = await startRedis();
  try {
    console.log(`queue throughput: ${JOBS} jobs a round, worker concurrency ${CONCURRENCY}, ${ROUNDS} rounds (order alternates), redis-server on 127.0.0.1:${port}`);
    await rawBullmq(port, 'warmup-raw');
    await throughStbass(port, 'warmup-stbass');
    const raw: number[] = [];
    const stbass: number[] = [];
    const overheads: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const first = round % 2 === 0;
      const a = first ? await rawBullmq(port, `raw-${round}`) : await throughStbass(port, `stbass-${round}`);
      const b = first ? await throughStbass(port, `stbass-${round}`) : await rawBullmq(port, `raw-${round}`);
      const [rawRate, stbassRate] = first ? [a, b] : [b, a];
      raw.push(rawRate);
      stbass.push(stbassRate);
      overheads.push(rawRate / stbassRate - 1);
    }
    const fmt = (values: number[]): string => `${Math.round(median(values))} jobs/s (${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))})`;
    const overhead = median(overheads);
    console.log(`raw BullMQ (add + Worker + QueueEvents)   ${fmt(raw)}`);
    console.log(`stbass QueueBackend (PLACED_PAR)          ${fmt(stbass)}`);
    console.log(`stbass costs ${(overhead * 100).toFixed(1)}% more time per job than raw BullMQ (median of pairwise rounds); target ≤ 15%: ${overhead <= 0.15 ? 'met' : 'MISS'}`);
    const out = join(__dirname, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'queue.json'), `${JSON.stringify({ benchmark: 'queue', jobs: JOBS, rounds: ROUNDS, concurrency: CONCURRENCY, rawJobsPerSecond: raw, stbassJobsPerSecond: stbass, overheadMedian: overhead }, null, 2)}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

void main().then(() => process.exit(0));
