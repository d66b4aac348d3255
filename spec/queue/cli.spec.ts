import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendRegistry, PLACED_PAR, Placement } from '../../lib';
import { QueueBackend } from '../../lib/queue';
import { echo } from './fixtures/processes';
import { TestRedis, describeWithRedis, freePort } from './support/redis';

jest.setTimeout(60_000);

const cli = join(__dirname, '..', '..', 'lib', 'cli.ts');
const tsx = require.resolve('tsx/cjs');

describeWithRedis('the stbass worker command', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await TestRedis.start();
  });

  afterAll(async () => {
    await redis.dispose();
  });

  test('runs the processes a module exports, for callers placing work on its queue', async () => {
    const worker = spawn(process.execPath, ['-r', tsx, cli, 'worker', '--queue', 'cli', '--processes', join(__dirname, 'fixtures', 'processes.ts'), '--redis', redis.url], {
      env: { ...process.env, STBASS_TEST_REDIS: redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(() => output.includes('consuming queue "cli"'));
      for (const name of ['echo', 'streamer', 'sleepy', 'failing', 'failsLater', 'unserialisable']) expect(output).toContain(name);
      const backend = new QueueBackend({ connection: redis.url });
      const result = await PLACED_PAR([echo.withInput({ text: 'from the CLI' }), new Placement({ endpoint: 'queue:cli' })], {
        registry: new BackendRegistry().register('queue', backend),
        deadline: 20,
      }).run();
      await backend.close();
      expect(result.value).toEqual([{ echoed: 'from the CLI', worker: 'in-process' }]);
    } finally {
      await new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.kill('SIGTERM');
      });
    }
  });

  test('takes the Redis password from a file or $REDIS_PASSWORD, never needing it on the command line', async () => {
    const guarded = await TestRedis.start({ password: 'file-secret' });
    const dir = mkdtempSync(join(tmpdir(), 'stbass-cli-'));
    writeFileSync(join(dir, 'password'), 'file-secret\n');
    const bare = `redis://127.0.0.1:${guarded.port}`;
    const start = (args: string[], env: Record<string, string> = {}): ReturnType<typeof spawn> =>
      spawn(process.execPath, ['-r', tsx, cli, 'worker', '--queue', 'guarded', '--processes', join(__dirname, 'fixtures', 'processes.ts'), '--redis', bare, '--connect-timeout', '5', ...args], {
        env: { ...process.env, STBASS_TEST_REDIS: guarded.url, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    try {
      for (const worker of [start(['--password-file', join(dir, 'password')]), start([], { REDIS_PASSWORD: 'file-secret' })]) {
        let output = '';
        worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await waitFor(() => output.includes('consuming queue "guarded"') || output.includes('stbass:'));
        expect(output).toContain('consuming queue "guarded"');
        await new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.kill('SIGTERM');
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await guarded.dispose();
    }
  });

  test('connects with a client certificate (mTLS) and a secret from a file; without the certificate it exits non-zero naming TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stbass-mtls-'));
    const file = (name: string): string => join(dir, name);
    const openssl = (...args: string[]): void => {
      const made = spawnSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      if (made.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed (.ci/run installs openssl): ${made.stderr.toString()}`);
    };
    const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    // A CA of the test's own, a server certificate for 127.0.0.1 and a client certificate, both signed by it.
    openssl('req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=stbass test CA');
    writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    for (const [name, subject, ext] of [['server', '/CN=localhost', ['-extfile', file('server.ext')]], ['client', '/CN=stbass worker', []]] as const) {
      openssl('req', ...ecKey, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '1', ...ext);
    }
    writeFileSync(file('secret'), 'a-secret-the-caller-and-worker-share\n');
    const port = await freePort();
    const server = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', file('server.pem'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.pem'), '--tls-auth-clients', 'yes', '--save', ''], { stdio: 'ignore' });
    const tls = { ca: readFileSync(file('ca.pem')), cert: readFileSync(file('client.pem')), key: readFileSync(file('client.key')) };
    const start = (args: string[]): { child: ReturnType<typeof spawn>; output: () => string; exit: Promise<number | null> } => {
      const child = spawn(process.execPath, ['-r', tsx, cli, 'worker', '--queue', 'mtls', '--processes', join(__dirname, 'fixtures', 'processes.ts'), '--redis', `redis://127.0.0.1:${port}`, '--connect-timeout', '5', '--tls-ca', file('ca.pem'), ...args], {
        env: { ...process.env, STBASS_TEST_REDIS: redis.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      return { child, output: () => output, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
    };
    try {
      const withCert = start(['--tls-cert', file('client.pem'), '--tls-key', file('client.key'), '--secret-file', file('secret')]);
      try {
        // The server may still be starting: the CLI waits up to --connect-timeout for it.
        await waitFor(() => withCert.output().includes('consuming queue "mtls"') || withCert.output().includes('stbass:'));
        expect(withCert.output()).toContain('consuming queue "mtls" with echo');
        expect(withCert.output()).toContain('(signed cancellations and heartbeats only)');
        const backend = new QueueBackend({ connection: { host: '127.0.0.1', port, tls }, secret: 'a-secret-the-caller-and-worker-share' });
        const result = await PLACED_PAR([echo.withInput({ text: 'over mTLS' }), new Placement({ endpoint: 'queue:mtls' })], {
          registry: new BackendRegistry().register('queue', backend),
          deadline: 20,
        }).run();
        await backend.close();
        expect(result.value).toEqual([{ echoed: 'over mTLS', worker: 'in-process' }]);
      } finally {
        withCert.child.kill('SIGTERM');
        await withCert.exit;
      }

      const withoutCert = start([]);
      const code = await withoutCert.exit;
      expect(code).not.toBe(0);
      expect(withoutCert.output()).toMatch(/^stbass: startWorker: cannot reach Redis for queue "mtls": .*TLS failed: .*client certificate/m);
    } finally {
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('explains itself when called wrongly', async () => {
    const run = (args: string[]): Promise<{ code: number | null; output: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['-r', tsx, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.once('exit', (code) => resolve({ code, output }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('usage: stbass worker --queue <name> --processes <module>');
    const missing = await run(['worker', '--queue', 'cli']);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('--queue and --processes are required');
  });
});

async function waitFor(condition: () => boolean, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
