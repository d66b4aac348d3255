// Measures the core's own code as an app's bundler would ship it (run by `npm run size`, after
// `npm run build`, and in CI): `stbass`, `stbass/placement` and `stbass/testing` from dist/esm,
// bundled and minified by esbuild with rxjs and zod left external, so only stbass's bytes count.
// Fails when the minified size passes the budget that the README states.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The budget for the minified core, in bytes; the README's "Bundle size" section states it. */
const BUDGET_BYTES = 72 * 1024;

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const CORE = ['index', 'placement', 'testing'];

const kB = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;

/** The minified bundle of some dist/esm entry points, as bytes. */
async function minified(sources) {
  const result = await build({
    stdin: { contents: sources.map((source) => `export * from './dist/esm/${source}.mjs';`).join('\n'), resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['rxjs', 'rxjs/*', 'zod', 'zod/*'],
    write: false,
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote nothing');
  return output.contents;
}

try {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  if (!readme.includes(`budget of ${kB(BUDGET_BYTES)}`)) throw new Error(`README.md does not state the budget ("budget of ${kB(BUDGET_BYTES)}")`);
  for (const source of CORE) {
    const bytes = await minified([source]);
    process.stdout.write(`size: stbass${source === 'index' ? '' : `/${source}`}: ${kB(bytes.length)} minified, ${kB(gzipSync(bytes).length)} gzipped\n`);
  }
  const all = await minified(CORE);
  const verdict = all.length <= BUDGET_BYTES ? 'within' : 'OVER';
  process.stdout.write(`size: the core together: ${kB(all.length)} minified (${all.length} bytes), ${kB(gzipSync(all).length)} gzipped; ${verdict} the budget of ${kB(BUDGET_BYTES)}\n`);
  if (all.length > BUDGET_BYTES) process.exitCode = 1;
} catch (error) {
  process.stderr.write(`size: failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
