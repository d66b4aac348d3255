// What production does to Redis: jobs removed under the caller, a restart without persistence, a
// server that is down when the caller closes or the worker starts, a wrong password.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { BackendRegistry, BackendUnavailableError, FailurePolicy, PLACED_PAR, Placement } from '../../lib';
import { QueueBackend, RemoteProcessError, startWorker } from '../../lib/queue';
import { echo, processes } from './fixtures/processes';
import { TestRedis, describeWithRedis, freePort } from './support/redis';

jest.setTimeout(60_000);

const cli = join(__dirname, '..', '..', 'lib', 'cli.ts');
const tsx = require.resolve('tsx/cjs');

describeWithRedis('QueueBackend and workers through Redis outages', () => {
  const servers: TestRedis[] = [];
  const backends: QueueBackend[] = [];

  afterEach(async () => {
    await Promise.all(backends.splice(0).map((backend) => backend.close()));
    await Promise.all(servers.splice(0).map((server) => server.dispose()));
  });

  const server = async (options: { password?: string } = {}): Promise<TestRedis> => {
    const started = await TestRedis.start(options);
    servers.push(started);
    return started;
  };
  const caller = (url: string, options: { pollInterval?: number; closeTimeout?: number; healthTimeout?: number; concurrencyLimit?: number } = {}): { backend: QueueBackend; registry: BackendRegistry } => {
    const backend = new QueueBackend({ connection: url, pollInterval: 0.1, ...options });
    backends.push(backend);
    return { backend, registry: new BackendRegistry().register('queue', backend) };
  };
  /** No worker consumes this queue: its jobs wait until something else happens to them. */
  const nowhere = new Placement({ endpoint: 'queue:unserved' });

  test('a waiting job removed by Queue.drain() settles as a RemoteJobLost failure', async () => {
    const redis = await server();
    const { registry } = caller(redis.url);
    const run = PLACED_PAR([echo.withInput({ text: 'doomed' }), nowhere], { registry, onFailure: FailurePolicy.COLLECT }).run();
    const queue = new Queue('unserved', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    while ((await queue.getWaitingCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await queue.drain();
    await queue.close();
    const result = await run;
    const error = result.failures[0]?.error;
    expect(error).toBeInstanceOf(RemoteProcessError);
    expect(error?.name).toBe('RemoteJobLost');
    expect(error?.message).toContain('is no longer in Redis');
  });

  test('a backlog of more waiting jobs than one poll takes is polled in turns of at most 1,000, and every one is still found lost', async () => {
    const redis = await server();
    const count = 1_500;
    const { registry } = caller(redis.url, { pollInterval: 0.3, concurrencyLimit: count });
    const run = PLACED_PAR(...Array.from({ length: count }, (_, n) => [echo.withInput({ text: `backlog ${n}` }), nowhere] as const), { registry, onFailure: FailurePolicy.COLLECT }).run();
    const queue = new Queue('unserved', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    while ((await queue.getWaitingCount()) < count) await new Promise((resolve) => setTimeout(resolve, 20));
    // Let a few polls pass over the whole backlog: each is one MULTI…EXEC with one HMGET per job
    // looked up (counted at EXEC, where they run, so a count never splits a poll).
    try {
      const [pollsBefore = 0, lookupsBefore = 0] = await redis.commandCallsOf(['exec', 'hmget']);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const [pollsAfter = 0, lookupsAfter = 0] = await redis.commandCallsOf(['exec', 'hmget']);
      expect(pollsAfter - pollsBefore).toBeGreaterThan(0);
      expect(lookupsAfter - lookupsBefore).toBeGreaterThan(0);
      expect(lookupsAfter - lookupsBefore).toBeLessThanOrEqual((pollsAfter - pollsBefore) * 1_000);
      await queue.drain();
    } finally {
      await queue.close();
    }
    const result = await run;
    expect(result.failures).toHaveLength(count);
    expect(result.failures.every((failure) => failure.error.name === 'RemoteJobLost')).toBe(true);
  });

  test('jobs lost in a Redis restart without persistence settle as RemoteJobLost', async () => {
    const redis = await server();
    const { registry } = caller(redis.url);
    const run = PLACED_PAR(...['a', 'b', 'c'].map((text) => [echo.withInput({ text }), nowhere] as const), { registry, onFailure: FailurePolicy.COLLECT }).run();
    const queue = new Queue('unserved', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    while ((await queue.getWaitingCount()) < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    await queue.close();
    await redis.restart(200);
    const result = await run;
    expect(result.failures.map((failure) => failure.error.name)).toEqual(['RemoteJobLost', 'RemoteJobLost', 'RemoteJobLost']);
  });

  test('close() while Redis is down returns in bounded time and settles the runs still waiting', async () => {
    const redis = await server();
    const { backend, registry } = caller(redis.url, { closeTimeout: 0.5 });
    const run = PLACED_PAR([echo.withInput({ text: 'stranded' }), nowhere], { registry, onFailure: FailurePolicy.COLLECT }).run();
    const queue = new Queue('unserved', { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
    while ((await queue.getWaitingCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await queue.close();
    await redis.stop();
    // Before, close() never returned here. Ten times closeTimeout is a bound no healthy run nears.
    const closed = await Promise.race([backend.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still closing'), 5_000))]);
    expect(closed).toBe('closed');
    const result = await run;
    expect(result.failures[0]?.error).toBeInstanceOf(BackendUnavailableError);
    expect(result.failures[0]?.error.message).toContain('the QueueBackend was closed before the job settled');
  });

  test('a wrong password is named as the cause when the health check fails', async () => {
    const redis = await server({ password: 'right-secret' });
    const { registry } = caller(`redis://:wrong-secret@127.0.0.1:${redis.port}`, { healthTimeout: 0.5 });
    const result = await PLACED_PAR([echo.withInput({ text: 'x' }), nowhere], { registry }).run();
    const message = result.failures[0]?.error.message ?? '';
    expect(result.failures[0]?.error).toBeInstanceOf(BackendUnavailableError);
    expect(message).toContain('authentication failed');
    expect(message).toMatch(/WRONGPASS|invalid password/);
  });

  test('an untrusted TLS certificate is named as the cause; with its CA the same server is healthy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stbass-tls-'));
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost']);
    expect(made.status).toBe(0); // openssl is needed (.ci/run installs it)
    const port = await freePort();
    const tlsRedis = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-auth-clients', 'no', '--save', ''], { stdio: 'ignore' });
    try {
      const ca = readFileSync(join(dir, 'cert.pem'));
      const trusting = new QueueBackend({ connection: { host: '127.0.0.1', port, tls: { ca, servername: 'localhost' } }, healthTimeout: 5 });
      backends.push(trusting);
      let healthy = false;
      for (let tries = 0; tries < 50 && !healthy; tries += 1) healthy = await trusting.healthCheck().catch(() => false);
      expect(healthy).toBe(true);
      const wary = new QueueBackend({ connection: { host: '127.0.0.1', port, tls: {} }, healthTimeout: 1 });
      backends.push(wary);
      const result = await PLACED_PAR([echo.withInput({ text: 'x' }), nowhere], { registry: new BackendRegistry().register('queue', wary) }).run();
      expect(result.failures[0]?.error.message).toMatch(/TLS failed: self[- ]signed certificate/);
    } finally {
      tlsRedis.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('startWorker rejects, saying why, when Redis cannot be reached in connectTimeout', async () => {
    await expect(startWorker({ connection: 'redis://127.0.0.1:1', queue: 'nowhere', processes, connectTimeout: 0.3 })).rejects.toThrow(
      /startWorker: cannot reach Redis for queue "nowhere": Redis did not answer within 0.3 s \(.*ECONNREFUSED.*\)/,
    );
    const redis = await server({ password: 'right-secret' });
    await expect(startWorker({ connection: `redis://:wrong@127.0.0.1:${redis.port}`, queue: 'nowhere', processes, connectTimeout: 0.3 })).rejects.toThrow(/authentication failed/);
  });

  test('the stbass worker command exits non-zero with the reason when Redis is unreachable', async () => {
    const child = spawn(process.execPath, ['-r', tsx, cli, 'worker', '--queue', 'q', '--processes', join(__dirname, 'fixtures', 'processes.ts'), '--redis', 'redis://127.0.0.1:1', '--connect-timeout', '0.5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('cannot reach Redis for queue "q"');
    expect(output).toContain('ECONNREFUSED');
  });
});
