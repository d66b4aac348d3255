// Queue throughput: jobs per second through the QueueBackend (PLACED_PAR over `queue:bench`, served
// by startWorker) against raw BullMQ (Queue.add per job, Workers, results read back through
// QueueEvents: what a caller needs too), on the same redis-server, with the same workers.
//
//   npm run bench:queue [-- --jobs=20000 --rounds=5 --workers=2 --concurrency=16]
//
// Needs redis-server (apt-get install redis-server); starts its own on a free port. The target:
// stbass adds at most 15% over raw BullMQ.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
const JOBS = option('jobs', 20_000);
const ROUNDS = option('rounds', 5);
const WORKERS = option('workers', 2);
const CONCURRENCY = option('concurrency', 16);
/** `--only=raw|stbass`: run one side alone, printing Redis commands per job by type (for profiling). */
const ONLY = process.argv.find((arg) => arg.startsWith('--only='))?.split('=')[1];
const times = <T>(count: number, make: () => T): T[] => Array.from({ length: count }, make);

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

/**
 * Raw BullMQ, like for like: every job added with Queue.add (the same data stbass sends: process
 * name, input, placement, deadline, attempt, caller id; a UUID job id; one attempt; completed and
 * failed jobs kept 600 s), a Worker that doubles the input and returns it in stbass's outcome shape,
 * and every result read back through QueueEvents "completed" (what a caller needs too).
 */
async function rawBullmq(port: number, queueName: string): Promise<number> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  const workers = times(WORKERS, () => new Worker(queueName, (job) => Promise.resolve({ ok: true, value: { doubled: (job.data as { input: { n: number } }).input.n * 2 } }), { connection, concurrency: CONCURRENCY }));
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), ...workers.map((worker) => worker.waitUntilReady())]);
  const callerId = randomUUID();
  const placement = { endpoint: `queue:${queueName}` };
  const started = process.hrtime.bigint();
  const results = new Map<string, unknown>();
  const done = new Promise<void>((resolve) =>
    events.on('completed', ({ jobId, returnvalue }) => {
      results.set(jobId, returnvalue);
      if (results.size === JOBS) resolve();
    }),
  );
  const data = (n: number) => ({ processName: 'double', input: { n }, placement, deadline: null, attempt: 1, callerId });
  await Promise.all(Array.from({ length: JOBS }, (_, n) => queue.add('double', data(n), { jobId: randomUUID(), attempts: 1, removeOnComplete: { age: 600 }, removeOnFail: { age: 600 } })));
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(workers.map((worker) => worker.close()));
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return JOBS / seconds;
}

const double = Process('double', (ctx) => ProcessResult.ok({ doubled: (ctx.input as { n: number }).n * 2 }));

/** stbass: the same jobs as a PLACED_PAR group on `queue:<name>`, served by startWorker. */
async function throughStbass(port: number, queueName: string): Promise<number> {
  const url = `redis://127.0.0.1:${port}`;
  const workers = await Promise.all(times(WORKERS, () => startWorker({ connection: url, queue: queueName, processes: [double], concurrency: CONCURRENCY })));
  const backend = new QueueBackend({ connection: url, concurrencyLimit: JOBS });
  const registry = new BackendRegistry().register('queue', backend);
  const on = new Placement({ endpoint: `queue:${queueName}` });
  await backend.healthCheck();
  const group = PLACED_PAR(...Array.from({ length: JOBS }, (_, n) => [double.withInput({ n }), on] as const), { registry, onFailure: FailurePolicy.COLLECT });
  const started = process.hrtime.bigint();
  const result = await group.run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.isOk || result.results.length !== JOBS) throw new Error(`stbass queue run failed: ${JSON.stringify(result.report())}: ${result.failures[0]?.error.message ?? ""}`);
  await backend.close();
  await Promise.all(workers.map((worker) => worker.close()));
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

/** Calls per command type from INFO commandstats (commands run inside scripts included). */
async function commandStats(port: number): Promise<Map<string, number>> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: '127.0.0.1', port });
  const info = await client.info('commandstats');
  client.disconnect();
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1] ?? '', Number(match[2]));
  return stats;
}

/** One side alone, ROUNDS times: its rate and the Redis commands it sends per job, by type. */
async function profileOne(port: number, side: 'raw' | 'stbass'): Promise<void> {
  const run = side === 'raw' ? rawBullmq : throughStbass;
  await run(port, `warmup-${side}`);
  for (let round = 0; round < ROUNDS; round += 1) {
    const before = await commandStats(port);
    const cpu = process.cpuUsage();
    const rate = await run(port, `${side}-${round}`);
    const { user, system } = process.cpuUsage(cpu);
    const after = await commandStats(port);
    const perJob = [...after].map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / JOBS] as const).filter(([name, count]) => count > 0.001 && name !== 'info');
    perJob.sort((a, b) => b[1] - a[1]);
    const total = perJob.reduce((sum, [, count]) => sum + count, 0);
    console.log(`${side} round ${round + 1}: ${Math.round(rate)} jobs/s, ${Math.round(user / JOBS)} + ${Math.round(system / JOBS)} µs CPU per job (user + system), ${total.toFixed(2)} commands per job (setup and obliterate included): ${perJob.map(([name, count]) => `${name} ${count.toFixed(2)}`).join(', ')}`);
  }
}

async function main(): Promise<void> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log('queue benchmark skipped: redis-server is not installed (apt-get install redis-server)');
    return;
  }
  const { port, child } = await startRedis();
  try {
    if (ONLY === 'raw' || ONLY === 'stbass') {
      await profileOne(port, ONLY);
      return;
    }
    console.log(`queue throughput: ${JOBS} jobs a round, ${WORKERS} workers × ${CONCURRENCY}, ${ROUNDS} rounds (order alternates), redis-server on 127.0.0.1:${port}`);
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
      console.log(`  round ${round + 1}: raw ${Math.round(rawRate)} jobs/s, stbass ${Math.round(stbassRate)} jobs/s, ratio ${(stbassRate / rawRate).toFixed(3)}`);
    }
    const fmt = (values: number[]): string => `${Math.round(median(values))} jobs/s (${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))})`;
    const overhead = median(overheads);
    console.log(`raw BullMQ (add + Worker + QueueEvents)   ${fmt(raw)}`);
    console.log(`stbass QueueBackend (PLACED_PAR)          ${fmt(stbass)}`);
    const ratio = median(raw.map((rate, index) => (stbass[index] ?? 0) / rate));
    console.log(`stbass throughput is ${ratio.toFixed(3)} of raw BullMQ (median of pairwise rounds; ${(overhead * 100).toFixed(1)}% more time per job); target ≥ 0.87: ${ratio >= 0.87 ? 'met' : 'MISS'}`);
    const out = join(__dirname, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'queue.json'), `${JSON.stringify({ benchmark: 'queue', jobs: JOBS, rounds: ROUNDS, workers: WORKERS, concurrency: CONCURRENCY, rawJobsPerSecond: raw, stbassJobsPerSecond: stbass, ratioMedian: ratio, overheadMedian: overhead }, null, 2)}\n`);
  } finally {
    child.kill('SIGTERM');
  }
}

void main().then(() => process.exit(0));
