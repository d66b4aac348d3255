/**
 * The published package, consumed the way a user consumes it: build, `npm pack`, install the tarball
 * (with its peer `rxjs`) into a fresh project, then import it as ESM and require it as CommonJS, and
 * type-check consumer code against the shipped declarations with `moduleResolution: node16`.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const root = resolve(__dirname, '..', '..');
const TIMEOUT = 180_000;

/** The version of a package that this repository's lockfile installs. */
function lockedVersion(name: string): string {
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
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower.startsWith('npm_') && !lower.startsWith('npm_config_')) continue;
    if (lower === 'npm_config_local_prefix' || lower === 'npm_config_call' || lower === 'init_cwd') continue;
    env[key] = value;
  }
  return env;
}

/** Runs a command; on failure the error carries its output, so a red test says why. */
async function run(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${String(error)}\n--- stdout\n${stdout ?? ''}\n--- stderr\n${stderr ?? ''}`);
  }
}

/** What each runtime consumer script prints, as one line of JSON. */
interface Report {
  format: string;
  value: unknown;
  isOk: boolean;
  samePlacement: boolean;
  samePlacedPar: boolean;
  sameAcrossFormats: boolean;
  instanceAcrossFormats: boolean;
  localName: string;
  localIsExecutionBackend: boolean;
  defaultIsLocal: boolean;
}

const ESM_SCRIPT = `
import { createRequire } from 'node:module';
import stbass, { Placement, PLACED_PAR, Process, ProcessResult } from 'stbass';
import { Placement as P2, BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR as PP } from 'stbass/placement';

const required = createRequire(import.meta.url)('stbass');
const registry = new BackendRegistry();
const placement = new P2({ model: 'tiny', endpoint: 'local:1' });
const result = await PLACED_PAR(
  [Process('one', () => ProcessResult.ok(1)), new Placement({})],
  [Process('two', async () => ProcessResult.ok(2)), placement],
  { registry },
).run();

console.log(JSON.stringify({
  format: 'esm',
  value: result.value,
  isOk: result.isOk,
  samePlacement: Placement === P2,
  samePlacedPar: PLACED_PAR === PP,
  sameAcrossFormats: Placement === required.Placement && PLACED_PAR === required.PLACED_PAR && stbass.Placement === Placement,
  instanceAcrossFormats: placement instanceof required.Placement,
  localName: new LocalBackend().name,
  localIsExecutionBackend: new LocalBackend() instanceof ExecutionBackend,
  defaultIsLocal: registry.default instanceof LocalBackend,
}));
`;

const CJS_SCRIPT = `
'use strict';
const { Placement, PLACED_PAR, Process, ProcessResult } = require('stbass');
const { Placement: P2, BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR: PP } = require('stbass/placement');

async function main() {
  const imported = await import('stbass');
  const registry = new BackendRegistry();
  const placement = new P2({ model: 'tiny', endpoint: 'local:1' });
  const result = await PLACED_PAR(
    [Process('one', () => ProcessResult.ok(1)), new Placement({})],
    [Process('two', async () => ProcessResult.ok(2)), placement],
    { registry },
  ).run();

  console.log(JSON.stringify({
    format: 'cjs',
    value: result.value,
    isOk: result.isOk,
    samePlacement: Placement === P2,
    samePlacedPar: PLACED_PAR === PP,
    sameAcrossFormats: Placement === imported.Placement && PLACED_PAR === imported.PLACED_PAR,
    instanceAcrossFormats: placement instanceof imported.Placement,
    localName: new LocalBackend().name,
    localIsExecutionBackend: new LocalBackend() instanceof ExecutionBackend,
    defaultIsLocal: registry.default instanceof LocalBackend,
  }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Consumer code for the type check; the same body serves the ESM (.mts) and CommonJS (.cts) files. */
const TYPES_BODY = `
import { Placement, PLACED_PAR, Process, ProcessResult, type PARResult, type ProcessContext } from 'stbass';
import { Placement as P2, BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR as PP } from 'stbass/placement';
import type { Observable } from 'rxjs';

class EchoBackend extends ExecutionBackend {
  readonly name = 'echo';
  execute(process: Process, ctx: ProcessContext): Promise<ProcessResult> {
    return process.execute(ctx);
  }
}

const registry: BackendRegistry = new BackendRegistry().register('echo', new EchoBackend());
const placement: Placement = new P2({ model: 'tiny', endpoint: 'echo' });
const one = Process('one', () => ProcessResult.ok(1));
const group = PLACED_PAR([one, placement], { registry });
const viaSubpath = PP([one, new Placement({})], { registry });
export const pending: Promise<PARResult> = group.run();
export const events$: Observable<unknown> = viaSubpath.events$;
export const localName: string = new LocalBackend({ concurrency: 2 }).name;

// The declarations are real types, not \`any\`: each of these must be an error.
// @ts-expect-error model is a string
new Placement({ model: 42 });
// @ts-expect-error a Placement is not a number
export const notANumber: number = placement;
`;

describe('the packed package', () => {
  let tmp = '';
  let consumer = '';
  let packedFiles: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'stbass-pack-'));
    consumer = join(tmp, 'consumer');
    mkdirSync(consumer);

    await run('npm', ['run', 'build'], root);
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const [tarball] = packed;
    if (!tarball) throw new Error('npm pack reported no tarball');
    packedFiles = tarball.files.map((file) => file.path);

    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'stbass-consumer', version: '0.0.0', private: true }, null, 2));
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(tmp, tarball.filename),
        `rxjs@${lockedVersion('rxjs')}`,
        `@types/node@${lockedVersion('@types/node')}`,
      ],
      consumer,
    );
    writeFileSync(join(consumer, 'esm.mjs'), ESM_SCRIPT);
    writeFileSync(join(consumer, 'cjs.cjs'), CJS_SCRIPT);
    writeFileSync(join(consumer, 'types-esm.mts'), TYPES_BODY);
    writeFileSync(join(consumer, 'types-cjs.cts'), TYPES_BODY);
  }, TIMEOUT);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('ships the build and its declarations, not the sources', () => {
    for (const file of [
      'package.json',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/placement.js',
      'dist/cjs/placement.d.ts',
      'dist/esm/index.mjs',
      'dist/esm/placement.mjs',
    ]) {
      expect(packedFiles).toContain(file);
    }
    expect(packedFiles.filter((file) => /^(lib|spec|scripts|examples|bench)\//.test(file))).toEqual([]);
  });

  test.each([
    ['esm', 'esm.mjs'],
    ['cjs', 'cjs.cjs'],
  ])(
    'runs a PLACED_PAR group when loaded as %s, with one copy of each class',
    async (format, script) => {
      const lines = (await run(process.execPath, [script], consumer)).trim().split('\n');
      const report = JSON.parse(lines[lines.length - 1] ?? '') as Report;
      expect(report).toEqual({
        format,
        value: [1, 2],
        isOk: true,
        samePlacement: true,
        samePlacedPar: true,
        sameAcrossFormats: true,
        instanceAcrossFormats: true,
        localName: 'local',
        localIsExecutionBackend: true,
        defaultIsLocal: true,
      });
    },
    TIMEOUT,
  );

  test.each(['types-esm.mts', 'types-cjs.cts'])(
    'type-checks %s against the shipped declarations (node16 resolution)',
    async (file) => {
      const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
      await run(
        process.execPath,
        [
          tsc,
          '--noEmit',
          '--strict',
          '--skipLibCheck',
          'false',
          '--target',
          'es2022',
          '--module',
          'node16',
          '--moduleResolution',
          'node16',
          '--types',
          'node',
          file,
        ],
        consumer,
      );
    },
    TIMEOUT,
  );
});
