import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

// Issue 12: `import 'stbass/queue'` without its optional peers names the missing one and the
// command that installs it, as `stbass/models` does. Real module resolution, no mock of require: a
// child process loads the sources from a copy outside this repository, in a folder whose
// node_modules holds only the peers each case installs (rxjs and zod always).
const run = promisify(execFile);
const root = resolve(__dirname, '..', '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const made: string[] = [];

const CHECK = `
const report = (outcome) => console.log(JSON.stringify(outcome));
try {
  const queue = require('./lib/queue');
  report({ loaded: Object.keys(queue).sort() });
} catch (error) {
  report({ message: error.message, cause: error.cause?.code });
}
`;

/** A project outside the repository with a copy of lib/ and only `installed` in its node_modules. */
function projectWith(installed: readonly string[]): string {
  const project = mkdtempSync(join(tmpdir(), 'stbass-peers-'));
  made.push(project);
  cpSync(join(root, 'lib'), join(project, 'lib'), { recursive: true });
  for (const name of installed) {
    const target = join(project, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(realpathSync(join(root, 'node_modules', name)), target, 'dir');
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }));
  writeFileSync(join(project, 'check.ts'), CHECK);
  return project;
}

async function outcomeIn(project: string): Promise<{ loaded?: string[]; message?: string; cause?: string }> {
  const { stdout } = await run(process.execPath, [tsx, 'check.ts'], { cwd: project, env: { ...process.env, NODE_PATH: '' } });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { loaded?: string[]; message?: string; cause?: string };
}

afterAll(() => {
  for (const project of made) rmSync(project, { recursive: true, force: true });
});

describe('stbass/queue without its optional peers', () => {
  test('with bullmq and ioredis installed it loads (the control: the copy and the resolution work)', async () => {
    const outcome = await outcomeIn(projectWith(['rxjs', 'zod', 'bullmq', 'ioredis']));
    expect(outcome.loaded).toEqual(expect.arrayContaining(['QueueBackend', 'startWorker', 'RemoteProcessError']));
  }, 60_000);

  test('without bullmq: names bullmq and the install command', async () => {
    const outcome = await outcomeIn(projectWith(['rxjs', 'zod', 'ioredis']));
    expect(outcome.message).toBe('stbass/queue needs the optional peer dependency bullmq: install it with `npm install bullmq`');
    expect(outcome.cause).toBe('MODULE_NOT_FOUND');
  }, 60_000);

  test('the `stbass worker` command without bullmq says the same and exits 1', async () => {
    const project = projectWith(['rxjs', 'zod', 'ioredis']);
    writeFileSync(join(project, 'agents.ts'), "import { Process, ProcessResult } from './lib';\nexport const echo = Process('echo', () => ProcessResult.ok(1));\n");
    const failed = await run(process.execPath, [tsx, 'lib/cli.ts', 'worker', '--queue', 'q', '--processes', './agents.ts'], { cwd: project }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('stbass/queue needs the optional peer dependency bullmq: install it with `npm install bullmq`');
  }, 60_000);

  test('without either: names ioredis first (bullmq needs it too)', async () => {
    const outcome = await outcomeIn(projectWith(['rxjs', 'zod']));
    expect(outcome.message).toBe('stbass/queue needs the optional peer dependency ioredis: install it with `npm install ioredis`');
  }, 60_000);
});
