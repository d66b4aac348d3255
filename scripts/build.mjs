// Builds the publishable package into dist/ (run by `npm run build`):
//
//   dist/cjs/**.js + .d.ts     CommonJS, compiled by tsc (tsconfig.build.json), one file per module.
//                              In Node this is the one copy of the code, whether the package is
//                              required or imported.
//   dist/node/<entry>.mjs      Node's `import` entry: an ES module that re-exports dist/cjs/<entry>.js
//        + .d.mts              by name, so that `import` and `require` in one Node process share every
//                              class (`instanceof` agrees), the default registry, and the worker CLI's
//                              view of a user's process file.
//   dist/esm/<entry>.mjs       A real ES-module build (esbuild, shared chunks, dependencies external)
//        + **.d.mts            with its own declarations, for bundlers (the `module` condition, which
//                              esbuild, webpack, Rollup and Vite resolve for `import` and `require`
//                              alike, so a bundle too holds one copy), browsers and edge runtimes.
//
// To add a subpath export (say `stbass/testing`), add one line to ENTRY_POINTS below and the
// matching entries to `exports` and `typesVersions` in package.json; the build checks that they agree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/** Each entry point: the file `lib/<source>.ts` is published as the package subpath `subpath`. */
const ENTRY_POINTS = [
  { subpath: '.', source: 'index' },
  { subpath: './placement', source: 'placement' },
  { subpath: './testing', source: 'testing' },
  { subpath: './models', source: 'models' },
  { subpath: './queue', source: 'queue' },
  { subpath: './ai-sdk', source: 'ai-sdk' },
  { subpath: './sse', source: 'sse' },
];

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);
const identifier = /^[A-Za-z_$][\w$]*$/;

function log(message) {
  process.stdout.write(`build: ${message}\n`);
}

/** The exports-map entry that ENTRY_POINTS implies for one entry point (the order of keys matters). */
function expectedExport(source) {
  const esm = { types: `./dist/esm/${source}.d.mts`, default: `./dist/esm/${source}.mjs` };
  const cjs = { types: `./dist/cjs/${source}.d.ts`, default: `./dist/cjs/${source}.js` };
  return {
    module: esm,
    node: { import: { types: `./dist/node/${source}.d.mts`, default: `./dist/node/${source}.mjs` }, require: cjs },
    import: esm,
    default: cjs,
  };
}

/** Fails the build when package.json's `exports`, `typesVersions`, `main` or `types` disagree with ENTRY_POINTS. */
function checkPackageJson() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const problems = [];
  for (const { subpath, source } of ENTRY_POINTS) {
    const want = JSON.stringify(expectedExport(source));
    const have = JSON.stringify(pkg.exports?.[subpath]);
    if (want !== have) problems.push(`exports["${subpath}"] should be ${want}, is ${have}`);
    // TypeScript's node10 resolution ignores `exports`; typesVersions is how it finds a subpath's types.
    if (subpath !== '.') {
      const wantTypes = JSON.stringify([`./dist/cjs/${source}.d.ts`]);
      const haveTypes = JSON.stringify(pkg.typesVersions?.['*']?.[subpath.slice(2)]);
      if (wantTypes !== haveTypes) problems.push(`typesVersions["*"]["${subpath.slice(2)}"] should be ${wantTypes}, is ${haveTypes}`);
    }
  }
  const subpaths = new Set(ENTRY_POINTS.map((entry) => entry.subpath));
  for (const key of Object.keys(pkg.exports ?? {})) {
    if (!subpaths.has(key) && key !== './package.json') problems.push(`exports["${key}"] has no entry point in scripts/build.mjs`);
  }
  const main = ENTRY_POINTS.find((entry) => entry.subpath === '.');
  if (main) {
    const { default: file, types } = expectedExport(main.source).default;
    if (pkg.main !== file) problems.push(`main should be ${file}`);
    if (pkg.types !== types) problems.push(`types should be ${types}`);
  }
  if (problems.length > 0) throw new Error(`package.json does not match scripts/build.mjs:\n  ${problems.join('\n  ')}`);
}

/** Compiles lib/ to CommonJS JavaScript and declarations in dist/cjs. */
function compileCommonJs() {
  const tsc = require.resolve('typescript/bin/tsc');
  log('tsc -p tsconfig.build.json');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  // Pin the format of dist/cjs whatever the package's own "type" may become.
  writeFileSync(join(dist, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
}

/** The runtime export names of dist/cjs/<source>.js. */
function commonJsNames(source) {
  const names = Object.keys(require(join(dist, 'cjs', `${source}.js`))).filter((name) => name !== '__esModule' && name !== 'default');
  const bad = names.filter((name) => !identifier.test(name));
  if (bad.length > 0) throw new Error(`${source}: exports that are not identifiers: ${bad.join(', ')}`);
  if (names.length === 0) throw new Error(`${source}: the CommonJS build exports nothing`);
  return names;
}

/** Writes dist/node/<source>.mjs and .d.mts: Node's ES-module face of the CommonJS build. */
function writeNodeWrapper(source) {
  const names = commonJsNames(source);
  const header = '// Generated by scripts/build.mjs: in Node, `import` and `require` share the one CommonJS copy.';
  const lines = [header, `import cjs from '../cjs/${source}.js';`, '', `export const {\n${names.map((name) => `  ${name},`).join('\n')}\n} = cjs;`, ''];
  writeFileSync(join(dist, 'node', `${source}.mjs`), lines.join('\n'));
  writeFileSync(join(dist, 'node', `${source}.d.mts`), `${header}\nexport * from '../cjs/${source}.js';\n`);
  return names;
}

/** Bundles the ES-module build: one file per entry point, the modules they share in chunks. */
async function bundleEsm() {
  log('esbuild: dist/esm (ES modules, rxjs, zod and the peers external)');
  await build({
    absWorkingDir: root,
    entryPoints: ENTRY_POINTS.map(({ source }) => ({ in: `lib/${source}.ts`, out: source })),
    outdir: join(dist, 'esm'),
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    packages: 'external',
    external: ['node:*'],
    // Error and class names are part of the API (error.name, failure reports): no renaming.
    keepNames: true,
    sourcemap: true,
    logLevel: 'warning',
  });
}

/** Every .d.ts file under a folder, as paths relative to it. */
function declarationFiles(folder, prefix = '') {
  return readdirSync(join(folder, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) return declarationFiles(folder, path);
    return entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Writes the ES-module declarations dist/esm/**.d.mts from tsc's dist/cjs/**.d.ts: the same text,
 * with each relative specifier given the `.mjs` extension that ES-module resolution requires.
 */
function writeEsmDeclarations() {
  const cjs = join(dist, 'cjs');
  const files = declarationFiles(cjs).filter((file) => file !== 'cli.d.ts');
  const known = new Set(files.map((file) => file.slice(0, -'.d.ts'.length)));
  for (const file of files) {
    const text = readFileSync(join(cjs, file), 'utf8');
    // `from '...'`, `import('...')` and a side-effect `import '...'` (lib/queue.ts's peer check).
    const rewritten = text.replace(/(\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']*)'/gm, (_match, before, specifier) => {
      const target = relative(cjs, join(cjs, dirname(file), specifier));
      if (!known.has(target)) throw new Error(`${file}: '${specifier}' names no declaration file`);
      return `${before}'${specifier}.mjs'`;
    });
    const out = join(dist, 'esm', `${file.slice(0, -'.d.ts'.length)}.d.mts`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, rewritten);
  }
  log(`dist/esm: ${files.length} declaration files`);
}

/** Fails the build when an entry's ES-module build and its CommonJS build export different names. */
async function checkSameNames(source, cjsNames) {
  const esm = await import(pathToFileURL(join(dist, 'esm', `${source}.mjs`)).href);
  const esmNames = Object.keys(esm).sort();
  const want = [...cjsNames].sort();
  if (JSON.stringify(esmNames) !== JSON.stringify(want)) {
    throw new Error(`${source}: the ES-module build exports [${esmNames.join(', ')}], the CommonJS build [${want.join(', ')}]`);
  }
}

try {
  checkPackageJson();
  log('clean dist/');
  rmSync(dist, { recursive: true, force: true });
  compileCommonJs();
  mkdirSync(join(dist, 'node'), { recursive: true });
  await bundleEsm();
  writeEsmDeclarations();
  for (const { source } of ENTRY_POINTS) {
    const names = writeNodeWrapper(source);
    await checkSameNames(source, names);
    log(`${source}: ${names.length} names, alike in dist/cjs, dist/node and dist/esm`);
  }
  log('done');
} catch (error) {
  // tsc and esbuild have already printed their diagnostics; say what failed without a stack trace.
  process.stderr.write(`build: failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
