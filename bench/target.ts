// Which stbass the benchmarks measure. Compiled JavaScript is preferred: tsx compiles lib/ with
// esbuild's keepNames helpers, which add some overhead of their own. So, in order:
//   1. dist/cjs (`npm run build`) when it is at least as new as every file in lib/;
//   2. otherwise lib/ compiled now by tsc (tsconfig.build.json), so that what is measured is
//      whatever lib/ is now, without touching dist/;
//   3. otherwise (or with --source) lib/ itself through tsx.
// 1 and 2 live in a private directory per run (node_modules/.cache/stbass-bench/run-<pid>, removed
// at the end), so a rebuild of dist/ or another bench run cannot change the code under a run.
// The main process resolves the target once and hands it to every worker in STBASS_BENCH_TARGET.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type * as Stbass from '../lib/index';

const root = join(__dirname, '..');
const load = createRequire(__filename);

export interface Target {
  readonly kind: 'dist' | 'compiled' | 'source';
  /** The module the workers load. */
  readonly entry: string;
  /** One line for the tables and the JSON files. */
  readonly description: string;
  readonly warnings: readonly string[];
  /** Removes the run's private copy (if any). */
  dispose(): void;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** node_modules/.cache/stbass-bench/run-<pid>: inside node_modules, so rxjs and zod resolve from it. */
function runDirectory(): { dir: string; dispose: () => void } {
  const dir = join(root, 'node_modules', '.cache', 'stbass-bench', `run-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The copy is CommonJS whatever the package's own "type" may become.
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function source(warnings: string[]): Target {
  return {
    kind: 'source',
    entry: join(root, 'lib', 'index.ts'),
    description: 'lib/ through tsx (esbuild keepNames helpers add some overhead)',
    warnings,
    dispose: () => undefined,
  };
}

/** Compiles lib/ with tsconfig.build.json into the run's directory; undefined if nothing came out. */
function compile(warnings: string[], why: string): Target | undefined {
  const run = runDirectory();
  const outDir = join(run.dir, 'cjs');
  const entry = join(outDir, 'index.js');
  try {
    execFileSync(process.execPath, [load.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString().trim().split('\n').slice(0, 3).join(' | ') ?? String(error);
    if (!existsSync(entry)) {
      run.dispose();
      warnings.push(`tsc could not compile lib/ (${output})`);
      return undefined;
    }
    warnings.push(`lib/ has type errors right now; measured what tsc emitted anyway (${output})`);
  }
  return { kind: 'compiled', entry, description: `lib/ compiled by tsc for this run (${why})`, warnings, dispose: run.dispose };
}

/** Decides what to measure: `auto` (above), `dist` (dist/cjs even if stale) or `source`. */
export function resolveTarget(mode: 'auto' | 'dist' | 'source'): Target {
  const warnings: string[] = [];
  if (mode === 'source') return source(warnings);
  const dist = join(root, 'dist', 'cjs');
  if (existsSync(join(dist, 'index.js'))) {
    const stale = newestMtime(join(root, 'lib')) > statSync(join(dist, 'index.js')).mtimeMs;
    if (!stale || mode === 'dist') {
      if (stale) warnings.push('dist/cjs is older than lib/: run `npm run build` to measure the current code');
      const run = runDirectory();
      cpSync(dist, join(run.dir, 'cjs'), { recursive: true });
      return {
        kind: 'dist',
        entry: join(run.dir, 'cjs', 'index.js'),
        description: `dist/cjs (npm run build${stale ? ', STALE' : ''}; a copy taken at the start, in ${relative(root, run.dir)})`,
        warnings,
        dispose: run.dispose,
      };
    }
    return compile(warnings, 'dist/cjs is older than lib/') ?? source(warnings);
  }
  if (mode === 'dist') warnings.push('no dist/cjs (run `npm run build`); measuring lib/ instead');
  return compile(warnings, 'no dist/cjs') ?? source(warnings);
}

let loaded: typeof Stbass | undefined;

/** The stbass under test, in a worker (the module named by STBASS_BENCH_TARGET, else lib/). */
export function stbass(): typeof Stbass {
  loaded ??= load(process.env.STBASS_BENCH_TARGET ?? join(root, 'lib', 'index.ts')) as typeof Stbass;
  return loaded;
}

let baseline: typeof Stbass | undefined;

/**
 * A second build of stbass to measure beside the current one (STBASS_BENCH_BASELINE: the path of
 * its compiled index.js), e.g. the engine before a rewrite: `npm run bench -- --only=overhead`
 * then shows both in one run. Undefined when the variable is not set.
 */
export function baselineStbass(): typeof Stbass | undefined {
  const path = process.env.STBASS_BENCH_BASELINE;
  if (path === undefined || path === '') return undefined;
  baseline ??= load(path) as typeof Stbass;
  return baseline;
}
