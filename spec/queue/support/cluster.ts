import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './redis';

/** A 3-node Redis Cluster of a test's own (no replicas), on free loopback ports. */
export class TestCluster {
  readonly #children: ChildProcess[] = [];
  readonly #dir = mkdtempSync(join(tmpdir(), 'stbass-cluster-'));

  private constructor(readonly ports: readonly number[]) {}

  static async start(): Promise<TestCluster> {
    const cluster = new TestCluster([await freePort(), await freePort(), await freePort()]);
    await cluster.launch();
    return cluster;
  }

  private async launch(): Promise<void> {
    for (const port of this.ports) {
      const dir = join(this.#dir, String(port));
      spawnSync('mkdir', ['-p', dir]);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--save', '', '--appendonly', 'no', '--dir', dir];
      this.#children.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const port of this.ports) await waitFor(async () => (await ask(port, (client) => client.ping())) === 'PONG');
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...this.ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    for (const port of this.ports) await waitFor(async () => ((await ask(port, (client) => client.cluster('INFO'))) ?? '').includes('cluster_state:ok'));
  }

  /** An ioredis Cluster client that knows only the first node (it discovers the rest). */
  client(): Cluster {
    return new Cluster([{ host: '127.0.0.1', port: this.ports[0] ?? 0 }], { redisOptions: { maxRetriesPerRequest: null } });
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

async function ask<T>(port: number, command: (client: Redis) => Promise<T>): Promise<T | undefined> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    return await command(client);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function waitFor(condition: () => Promise<boolean>, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the test cluster did not come up in time');
}
