/**
 * The published package in Node, consumed the way a user consumes it: the packed tarball installed
 * into a fresh project (spec/package/globalSetup.ts), imported as ESM and required as CommonJS in
 * one process, which must see one copy of each class.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIMEOUT, packed, runReport } from './support';

/** What each runtime consumer script prints, as one line of JSON. */
interface Report {
  format: string;
  value: unknown;
  isOk: boolean;
  samePlacement: boolean;
  samePlacedPar: boolean;
  sameAcrossFormats: boolean;
  instanceAcrossFormats: boolean;
  failureAcrossFormats: boolean;
  localName: string;
  localIsExecutionBackend: boolean;
  defaultIsLocal: boolean;
  subpathsLoad: boolean;
}

const SUBPATHS = ['stbass', 'stbass/placement', 'stbass/testing', 'stbass/models', 'stbass/queue'];

const ESM_SCRIPT = `
import { createRequire } from 'node:module';
import { Placement, PLACED_PAR, Process, ProcessResult, Failure } from 'stbass';
import { Placement as P2, BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR as PP } from 'stbass/placement';

const required = createRequire(import.meta.url)('stbass');
const registry = new BackendRegistry();
const placement = new P2({ model: 'tiny', endpoint: 'local:1' });
const result = await PLACED_PAR(
  [Process('one', () => ProcessResult.ok(1)), new Placement({})],
  [Process('two', async () => ProcessResult.ok(2)), placement],
  [Process('three', () => required.ProcessResult.fail(new Error('no'))), placement],
  { registry, onFailure: required.FailurePolicy.COLLECT },
).run();
const subpaths = await Promise.all(${JSON.stringify(SUBPATHS)}.map((name) => import(name)));

console.log(JSON.stringify({
  format: 'esm',
  value: result.value,
  isOk: result.isOk,
  samePlacement: Placement === P2,
  samePlacedPar: PLACED_PAR === PP,
  sameAcrossFormats: Placement === required.Placement && PLACED_PAR === required.PLACED_PAR,
  instanceAcrossFormats: placement instanceof required.Placement,
  failureAcrossFormats: result.failures.length === 1 && result.failures[0] instanceof Failure,
  localName: new LocalBackend().name,
  localIsExecutionBackend: new LocalBackend() instanceof ExecutionBackend,
  defaultIsLocal: registry.default instanceof LocalBackend,
  subpathsLoad: subpaths.every((module) => Object.keys(module).length > 0),
}));
`;

const CJS_SCRIPT = `
'use strict';
const { Placement, PLACED_PAR, Process, ProcessResult, Failure } = require('stbass');
const { Placement: P2, BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR: PP } = require('stbass/placement');

async function main() {
  const imported = await import('stbass');
  const registry = new BackendRegistry();
  const placement = new P2({ model: 'tiny', endpoint: 'local:1' });
  const result = await PLACED_PAR(
    [Process('one', () => ProcessResult.ok(1)), new Placement({})],
    [Process('two', async () => ProcessResult.ok(2)), placement],
    [Process('three', () => imported.ProcessResult.fail(new Error('no'))), placement],
    { registry, onFailure: imported.FailurePolicy.COLLECT },
  ).run();
  const subpaths = ${JSON.stringify(SUBPATHS)}.map((name) => require(name));

  console.log(JSON.stringify({
    format: 'cjs',
    value: result.value,
    isOk: result.isOk,
    samePlacement: Placement === P2,
    samePlacedPar: PLACED_PAR === PP,
    sameAcrossFormats: Placement === imported.Placement && PLACED_PAR === imported.PLACED_PAR,
    instanceAcrossFormats: placement instanceof imported.Placement,
    failureAcrossFormats: result.failures.length === 1 && result.failures[0] instanceof Failure,
    localName: new LocalBackend().name,
    localIsExecutionBackend: new LocalBackend() instanceof ExecutionBackend,
    defaultIsLocal: registry.default instanceof LocalBackend,
    subpathsLoad: subpaths.every((module) => Object.keys(module).length > 0),
  }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

describe('the packed package', () => {
  const { files, consumer } = packed();

  beforeAll(() => {
    writeFileSync(join(consumer, 'esm.mjs'), ESM_SCRIPT);
    writeFileSync(join(consumer, 'cjs.cjs'), CJS_SCRIPT);
  });

  test('ships the builds, their declarations, LICENSE and CHANGELOG, not the sources', () => {
    for (const file of [
      'package.json',
      'LICENSE',
      'CHANGELOG.md',
      'README.md',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/placement.js',
      'dist/cjs/placement.d.ts',
      'dist/cjs/cli.js',
      'dist/node/index.mjs',
      'dist/node/index.d.mts',
      'dist/esm/index.mjs',
      'dist/esm/index.d.mts',
      'dist/esm/placement.mjs',
      'dist/esm/placement.d.mts',
    ]) {
      expect(files).toContain(file);
    }
    expect(files.filter((file) => /^(lib|spec|scripts|examples|bench)\//.test(file))).toEqual([]);
  });

  test.each([
    ['esm', 'esm.mjs'],
    ['cjs', 'cjs.cjs'],
  ])(
    'in Node, runs a PLACED_PAR group when loaded as %s, with one copy of each class for import and require',
    async (format, script) => {
      const report = (await runReport(script, consumer)) as Report;
      expect(report).toEqual({
        format,
        value: [1, 2],
        isOk: false,
        samePlacement: true,
        samePlacedPar: true,
        sameAcrossFormats: true,
        instanceAcrossFormats: true,
        failureAcrossFormats: true,
        localName: 'local',
        localIsExecutionBackend: true,
        defaultIsLocal: true,
        subpathsLoad: true,
      });
    },
    TIMEOUT,
  );
});
