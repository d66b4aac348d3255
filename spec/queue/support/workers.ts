import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A worker in a process of its own, as on another machine. */
export interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** Sends a signal; with SIGKILL the worker dies mid-job without any clean-up. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const tsx = require.resolve('tsx/cjs');

/** Runs `spec/queue/fixtures/<script>.ts` in a new Node process; resolves once it prints "ready". */
export async function spawnFixture(script: string, env: Record<string, string>, id = script): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['-r', tsx, join(__dirname, '..', 'fixtures', `${script}.ts`)], {
    env: { ...process.env, ...env, STBASS_WORKER_ID: id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} ${id} did not start: ${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} ${id} exited with ${String(code)} before it was ready: ${output}`));
    });
  });
  return {
    id,
    child,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
