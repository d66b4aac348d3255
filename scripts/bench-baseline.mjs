// Runs `npm run bench` beside the engine that issue 10 replaced (`npm run bench:baseline -- <bench
// args>`): builds that commit once, from this clone's history, into the system's temporary directory
// (its sources, a link to this checkout's node_modules, its own build script), then runs the bench
// with STBASS_BENCH_BASELINE pointing at its dist/cjs, so that every overhead table shows the
// "× previous engine" ratios.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** The last commit of the hand-written engine (lib/par/engine.ts), before the RxJS pipeline. */
const BASELINE_COMMIT = '041b2aa4b2ebb8fb09c53c67f4280839a4f6750d';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// Outside the checkout: inside it, the linter and the tests would crawl it (and node_modules would hold a link to itself).
const dir = join(tmpdir(), `stbass-baseline-${BASELINE_COMMIT.slice(0, 12)}`);
const entry = join(dir, 'dist', 'cjs', 'index.js');

if (!existsSync(entry)) {
  process.stderr.write(`bench:baseline: building ${BASELINE_COMMIT.slice(0, 7)} into ${dir}\n`);
  // A clone made with --depth has no such commit: say so rather than run the bench without it.
  try {
    execFileSync('git', ['cat-file', '-e', `${BASELINE_COMMIT}^{commit}`], { cwd: root, stdio: 'ignore' });
  } catch {
    process.stderr.write(`bench:baseline: commit ${BASELINE_COMMIT} is not in this clone's history (a shallow clone?); fetch it first\n`);
    process.exit(1);
  }
  // A build cut short leaves no entry point: start it again from nothing.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', BASELINE_COMMIT], { cwd: root, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  execFileSync(process.execPath, [join(dir, 'scripts', 'build.mjs')], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
}

const bench = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'bench', 'index.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, STBASS_BENCH_BASELINE: entry },
});
process.exit(bench.status ?? 1);
