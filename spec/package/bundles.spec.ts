/**
 * The packed package through a bundler, as apps ship it: esbuild bundles a small app that runs a
 * PLACED_PAR group as an ES module and as CommonJS for Node, each run with node, and for the
 * browser, run in headless Chromium (Debian's, driven by playwright-core), which reports the
 * group's events and result back to the test. The core's own files hold no Node import.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { type BuildOptions, type Metafile, build } from 'esbuild';
import { launchChromium } from '../support/chromium';
import { TIMEOUT, packed, runReport } from './support';

/** The app: two placed processes on the default LocalBackend and one on a FakeBackend of stbass/testing; every core entry point. */
const APP = `
import { lastValueFrom, toArray } from 'rxjs';
import { z } from 'zod';
import { FailurePolicy, Placement, Process, ProcessResult, type ParEvent } from 'stbass';
import { BackendRegistry, PLACED_PAR } from 'stbass/placement';
import { FakeBackend } from 'stbass/testing';

export async function runApp() {
  const fake = new FakeBackend({ name: 'fake', script: { writer: { result: 'draft', delay: 0.005, partials: ['dr', 'aft'] } } });
  const registry = new BackendRegistry().register('fake', fake);
  const ids: string[] = [];
  const group = PLACED_PAR(
    [Process('planner', (ctx) => { ids.push(ctx.processId); ctx.emit('half'); return ProcessResult.ok('plan'); }), new Placement({ endpoint: 'local:1' })],
    [Process({ name: 'checker', output: z.string() }, async () => ProcessResult.ok('checked')), new Placement({})],
    [Process('writer', () => ProcessResult.ok('never: the fake answers')), new Placement({ model: 'small', endpoint: 'fake' })],
    { registry, onFailure: FailurePolicy.COLLECT },
  );
  const events: ParEvent[] = await lastValueFrom(group.events$.pipe(toArray()));
  const byName: Record<string, string[]> = {};
  for (const event of events) {
    if (event.type === 'done' || event.type === 'queued') continue;
    (byName[event.name] ??= []).push(event.type === 'partial' ? 'partial ' + String(event.value) : event.type);
  }
  const done = events[events.length - 1];
  return {
    byName,
    last: done?.type,
    value: done?.type === 'done' ? done.result.value : undefined,
    isOk: done?.type === 'done' ? done.result.isOk : undefined,
    placementsAgree: events.every((event) => event.type === 'done' || event.placement instanceof Placement),
    uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(ids[0] ?? ''),
  };
}
`;

const NODE_MAIN = `
import { runApp } from './app';
runApp().then((report) => console.log(JSON.stringify(report)), (error) => { console.error(error); process.exitCode = 1; });
`;

const BROWSER_MAIN = `
import { runApp } from './app';
declare const report: (value: unknown) => Promise<void>;
declare const reportError: (message: string) => Promise<void>;
runApp().then((value) => report(value), (error) => reportError(String(error && error.stack || error)));
`;

/** What the app reports, wherever it runs. */
const EXPECTED = {
  byName: {
    planner: ['started', 'partial half', 'settled'],
    checker: ['started', 'settled'],
    writer: ['started', 'partial dr', 'partial aft', 'settled'],
  },
  last: 'done',
  value: ['plan', 'checked', 'draft'],
  isOk: true,
  placementsAgree: true,
  uuid: true,
};

/** The files of the installed stbass that a bundle took in, by folder of dist/. */
function stbassInputs(metafile: Metafile): string[] {
  const folders = Object.keys(metafile.inputs)
    .map((input) => /node_modules\/stbass\/(dist\/[^/]+)\//.exec(input)?.[1])
    .filter((folder): folder is string => folder !== undefined);
  return [...new Set(folders)].sort();
}

/** The imports a bundle left to its runtime that name a Node builtin. */
function nodeImports(metafile: Metafile): string[] {
  const builtins = new Set(builtinModules);
  return Object.values(metafile.outputs)
    .flatMap((output) => output.imports.map((entry) => entry.path))
    .filter((path) => path.startsWith('node:') || builtins.has(path.split('/')[0] ?? ''));
}

describe('bundles of an app that runs a PLACED_PAR group', () => {
  const { consumer } = packed();
  const out = join(consumer, 'out');

  /** Bundles with esbuild; a warning (say, an import it ignores) fails the test as an error would. */
  async function bundle(options: BuildOptions & { outfile: string }): Promise<Metafile> {
    const result = await build({ absWorkingDir: consumer, entryPoints: ['node-main.ts'], bundle: true, metafile: true, logLevel: 'silent', ...options });
    expect(result.warnings).toEqual([]);
    if (!result.metafile) throw new Error('esbuild gave no metafile');
    return result.metafile;
  }

  beforeAll(() => {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(consumer, 'app.ts'), APP);
    writeFileSync(join(consumer, 'node-main.ts'), NODE_MAIN);
    writeFileSync(join(consumer, 'browser-main.ts'), BROWSER_MAIN);
  });

  test.each<[string, BuildOptions, string, string[]]>([
    ['an ES-module bundle (esbuild --platform=node --format=esm), with the ES-module copy of stbass in it', { format: 'esm' }, 'app.mjs', ['dist/esm']],
    ['a CommonJS bundle (esbuild --platform=node --format=cjs), with the ES-module copy of stbass in it', { format: 'cjs' }, 'app.cjs', ['dist/esm']],
    ['an ES-module bundle with the packages left external (--packages=external), on the installed package', { format: 'esm', packages: 'external' }, 'app-external.mjs', []],
  ])(
    'for Node: %s, runs',
    async (_bundle, options, file, folders) => {
      const metafile = await bundle({ platform: 'node', ...options, outfile: join(out, file) });
      expect(stbassInputs(metafile)).toEqual(folders);
      expect(await runReport(join(out, file), consumer)).toEqual(EXPECTED);
    },
    TIMEOUT,
  );

  test.each([
    ['the ES-module build (module condition)', undefined, 'import', 'dist/esm'],
    ['the CommonJS build (no module condition, require)', [], 'require', 'dist/cjs'],
  ])(
    'the core entry points, from %s, bundle for a browser with no Node import',
    async (_build, conditions, kind, folder) => {
      const entry = join(consumer, `core-${kind}.js`);
      const names = ['stbass', 'stbass/placement', 'stbass/testing'];
      writeFileSync(
        entry,
        kind === 'import'
          ? names.map((name, index) => `export * as m${index} from '${name}';`).join('\n')
          : `module.exports = [${names.map((name) => `require('${name}')`).join(', ')}];`,
      );
      // esbuild fails a browser build that reaches a Node builtin; the metafile says what stayed outside.
      const metafile = await bundle({
        entryPoints: [entry],
        platform: 'browser',
        format: 'esm',
        external: ['rxjs', 'rxjs/*', 'zod', 'zod/*'],
        outfile: join(out, `core-${kind}.js`),
        ...(conditions ? { conditions } : {}),
      });
      expect(stbassInputs(metafile)).toEqual([folder]);
      expect(nodeImports(metafile)).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    'a browser bundle (esbuild --platform=browser) runs in headless Chromium and reports the events and result',
    async () => {
      const metafile = await bundle({ entryPoints: ['browser-main.ts'], platform: 'browser', format: 'esm', outfile: join(out, 'browser.js') });
      expect(stbassInputs(metafile)).toEqual(['dist/esm']);
      expect(nodeImports(metafile)).toEqual([]);

      const files: Record<string, [string, string]> = {
        '/': ['text/html', '<!doctype html><title>stbass</title><script type="module" src="/app.js"></script>'],
        '/app.js': ['text/javascript', readFileSync(join(out, 'browser.js'), 'utf8')],
      };
      const server = createServer((request, response) => {
        const file = files[request.url ?? ''];
        response.writeHead(file ? 200 : 404, { 'content-type': file?.[0] ?? 'text/plain' }).end(file?.[1] ?? 'not found');
      });
      await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
      const { port } = server.address() as AddressInfo;
      const { context, close } = await launchChromium();
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        let settle: { resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
        const reported = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }));
        await page.exposeFunction('report', (value: unknown) => settle?.resolve(value));
        await page.exposeFunction('reportError', (message: string) => settle?.reject(new Error(`in the page: ${message}`)));
        page.on('pageerror', (error) => settle?.reject(error));
        await page.goto(`http://127.0.0.1:${port}/`);
        expect(await reported).toEqual(EXPECTED);
        expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
      } finally {
        await close();
        await new Promise((closed) => server.close(closed));
      }
    },
    TIMEOUT,
  );
});
