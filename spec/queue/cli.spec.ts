import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendRegistry, PLACED_PAR, Placement } from '../../lib';
import { QueueBackend } from '../../lib/queue';
import { echo } from './fixtures/processes';
import { TestRedis, describeWithRedis } from './support/redis';

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
