import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REDIS_SERVER, describeWith } from '../../support/services';

/** Whether redis-server can be started here. */
export function redisServerInstalled(): boolean {
  return REDIS_SERVER.available();
}

/**
 * The queue suites run against a real redis-server. Under CI=true a missing server fails them (the
 * CI script installs it); on a developer machine without one they are skipped with one line saying so.
 */
export function describeWithRedis(name: string, body: () => void): void {
  describeWith([REDIS_SERVER], name, body);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of a test's own, on a free loopback port. */
export class TestRedis {
  readonly url: string;
  #child: ChildProcess | undefined;
  readonly #dir = mkdtempSync(join(tmpdir(), 'stbass-redis-'));

  private constructor(
    readonly port: number,
    private readonly appendOnly: boolean,
    private readonly password: string | undefined,
  ) {
    this.url = password === undefined ? `redis://127.0.0.1:${port}` : `redis://:${password}@127.0.0.1:${port}`;
  }

  /** Starts a server; `password` sets `requirepass` (the url then carries it). */
  static async start(options: { appendOnly?: boolean; password?: string } = {}): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), options.appendOnly ?? false, options.password);
    await redis.launch();
    return redis;
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.#dir, '--appendonly', this.appendOnly ? 'yes' : 'no', '--appendfsync', 'always', ...(this.password === undefined ? [] : ['--requirepass', this.password])];
    this.#child = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        client.disconnect();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Stops the server (a clean shutdown: the append-only file is flushed). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  /** Stops and starts the server on the same port and data directory. */
  async restart(downFor = 0): Promise<void> {
    await this.stop();
    if (downFor > 0) await new Promise((resolve) => setTimeout(resolve, downFor));
    await this.launch();
  }

  /** How many times the server has run a command (from INFO commandstats), e.g. `exists`. */
  async commandCalls(command: string): Promise<number> {
    const [calls = 0] = await this.commandCallsOf([command]);
    return calls;
  }

  /** The calls of several commands, read at one instant (one INFO), so no command runs between the counts. */
  async commandCallsOf(commands: readonly string[]): Promise<number[]> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 });
    try {
      const stats = await client.info('commandstats');
      return commands.map((command) => {
        const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats);
        return match === null ? 0 : Number(match[1]);
      });
    } finally {
      client.disconnect();
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
