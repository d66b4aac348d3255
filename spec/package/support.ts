/**
 * What the package suites share: the packed tarball and a consumer project with it installed, both
 * made once per `npm run test:package` by `globalSetup.ts`, and a way to run a command there.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository root. */
export const root = resolve(__dirname, '..', '..');

/** How long one packaging step may take (build, pack, install, bundle, a browser). */
export const TIMEOUT = 180_000;

/** The version of a package that this repository's lockfile installs. */
export function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string } | undefined>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/**
 * The environment for child commands: this one, less what `npm test` / `npm run` put there about
 * *this* package, so that an `npm install` in the consumer project acts on that project only.
 * (Registry, cache and certificate settings, `npm_config_*`, are kept.)
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_') && !lower.startsWith('npm_config_')) continue;
    if (lower === 'npm_config_local_prefix' || lower === 'npm_config_call' || lower === 'init_cwd') continue;
    env[key] = value;
  }
  return env;
}

/** What a command printed, whether it succeeded or not. */
export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command and gives back its exit code and output, failing or not. */
export async function attempt(command: string, args: readonly string[], cwd: string): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof code === 'number' ? code : -1, stdout: stdout ?? '', stderr: stderr ?? String(error) };
  }
}

/** Runs a command; on failure the error carries its output, so a red test says why. */
export async function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  const ran = await attempt(command, args, cwd);
  if (ran.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${ran.code}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`);
  }
  return ran.stdout;
}

/** Where globalSetup.ts left the tarball and the consumer project. */
export interface Packed {
  /** The temporary folder that holds everything below. */
  readonly tmp: string;
  /** The path of the packed tarball. */
  readonly tarball: string;
  /** The files in the tarball, as `npm pack` lists them. */
  readonly files: readonly string[];
  /** A project with the tarball and its peers installed. */
  readonly consumer: string;
}

/** The environment variable through which globalSetup.ts hands `Packed` to the suites. */
export const PACKED_VARIABLE = 'STBASS_PACKED';

/** The tarball and consumer that globalSetup.ts made. */
export function packed(): Packed {
  const json = process.env[PACKED_VARIABLE];
  if (!json) throw new Error(`${PACKED_VARIABLE} is not set: run these suites with \`npm run test:package\` (jest.package.config.ts)`);
  return JSON.parse(json) as Packed;
}

/** Runs a Node script of the consumer project and parses the last line it prints as JSON. */
export async function runReport(script: string, cwd: string): Promise<unknown> {
  const lines = (await run(process.execPath, [script], cwd)).trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as unknown;
}
