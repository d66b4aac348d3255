/**
 * The packed package's declarations as TypeScript users meet them: a consumer project type-checks
 * under each module resolution TypeScript offers (node10, node16 from CommonJS and from ESM,
 * bundler), `@arethetypeswrong/cli` finds nothing wrong with any entry point, and `publint` has
 * nothing to say about the package.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIMEOUT, attempt, packed, root, run } from './support';

/** The consumer code every resolution mode must accept: the core entry points. */
const CORE_BODY = `
import { Placement, PLACED_PAR, Process, ProcessResult, type PARResult, type ParEvent, type ProcessContext } from 'stbass';
import { Placement as P2, BackendRegistry, ExecutionBackend, LocalBackend, PLACED_PAR as PP } from 'stbass/placement';
import { FakeBackend } from 'stbass/testing';
import type { Observable } from 'rxjs';

class EchoBackend extends ExecutionBackend {
  readonly name = 'echo';
  execute(process: Process, ctx: ProcessContext): Promise<ProcessResult> {
    return process.execute(ctx);
  }
}

const registry: BackendRegistry = new BackendRegistry().register('echo', new EchoBackend()).register('fake', new FakeBackend());
const placement: Placement = new P2({ model: 'tiny', endpoint: 'echo' });
const one = Process('one', () => ProcessResult.ok(1));
const group = PLACED_PAR([one, placement], { registry });
const viaSubpath = PP([one, new Placement({})], { registry });
export const pending: Promise<PARResult> = group.run();
export const events$: Observable<ParEvent> = viaSubpath.events$;
export const localName: string = new LocalBackend({ concurrencyLimit: 2 }).name;

// Keyed and positional groups keep each pair's type through the published declarations.
const keyed = PLACED_PAR({ first: [one, placement] }, { registry, signal: new AbortController().signal });
export const fromKey: Promise<ProcessResult<number>> = keyed.run().then((result) => result.get('first'));
export const byKey: Promise<{ first?: number }> = keyed.run().then((result) => result.values);
export const atZero: Promise<ProcessResult<number>> = group.run({ signal: new AbortController().signal }).then((result) => result.at(0));
// @ts-expect-error a key the group does not have
export const noKey = keyed.run().then((result) => result.get('second'));
// @ts-expect-error the first pair gives a number
export const notAString: Promise<ProcessResult<string>> = group.run().then((result) => result.at(0));

// The declarations are real types, not \`any\`: each of these must be an error.
// @ts-expect-error model is a string
new Placement({ model: 42 });
// @ts-expect-error a Placement is not a number
export const notANumber: number = placement;
`;

/** The Node-only entry points, for the Node resolution modes. */
const NODE_BODY = `${CORE_BODY}
import { AnthropicBackend, ModelError } from 'stbass/models';
import { QueueBackend, RemoteProcessError } from 'stbass/queue';

export const modelErrorName: string = ModelError.name;
export const backends: ReadonlyArray<ExecutionBackend> = [] as AnthropicBackend[];
export type Remote = [QueueBackend, RemoteProcessError];
`;

/** A consumer tsconfig: strict, declaration files checked too (skipLibCheck off). */
function tsconfig(compilerOptions: Record<string, unknown>, files: string[]): string {
  return JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', ...compilerOptions }, files }, null, 2);
}

const MODES: Array<[string, string, Record<string, string>]> = [
  [
    'node10 (a classic CommonJS project: "module": "commonjs")',
    'tsconfig.node10.json',
    {
      // esModuleInterop as `tsc --init` writes it: zod's own declarations need it when skipLibCheck is off.
      'tsconfig.node10.json': tsconfig({ module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true, types: ['node'] }, ['node10.ts']),
      'node10.ts': NODE_BODY,
    },
  ],
  [
    'node16, from CommonJS (.cts) and from ESM (.mts)',
    'tsconfig.node16.json',
    {
      'tsconfig.node16.json': tsconfig({ module: 'node16', moduleResolution: 'node16', types: ['node'] }, ['node16-esm.mts', 'node16-cjs.cts']),
      'node16-esm.mts': NODE_BODY,
      'node16-cjs.cts': NODE_BODY,
    },
  ],
  [
    'bundler, for a browser (the DOM lib and no @types/node: the core needs nothing of Node)',
    'tsconfig.bundler.json',
    {
      'tsconfig.bundler.json': tsconfig({ module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] }, ['bundler.ts']),
      'bundler.ts': CORE_BODY,
    },
  ],
];

describe('the packed declarations', () => {
  const { consumer, tarball } = packed();

  test.each(MODES)(
    'type-check a consumer project under %s',
    async (_mode, project, files) => {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(consumer, name), text);
      const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
      // tsc prints nothing and exits 0 when the project checks; run() fails with its diagnostics otherwise.
      await expect(run(process.execPath, [tsc, '-p', project], consumer)).resolves.toBe('');
    },
    TIMEOUT,
  );

  test(
    '@arethetypeswrong/cli: no problem under node10, node16 (CommonJS and ESM) or bundler, for every entry point',
    async () => {
      const attw = join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
      const ran = await attempt(process.execPath, [attw, tarball, '--format', 'json'], root);
      const report = JSON.parse(ran.stdout) as {
        problems: unknown;
        analysis: { entrypoints: Record<string, { resolutions: Record<string, unknown> }> };
      };
      expect(report.problems).toEqual({});
      expect(ran.code).toBe(0);
      const entrypoints = Object.entries(report.analysis.entrypoints).map(([entry, { resolutions }]) => [entry, Object.keys(resolutions).sort()]);
      const modes = ['bundler', 'node10', 'node16-cjs', 'node16-esm'];
      // Every entry point the package exports, each resolved in every mode.
      const exported = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports);
      expect(exported).toEqual(expect.arrayContaining(['.', './placement', './testing', './models', './queue', './ai-sdk', './sse']));
      expect(entrypoints).toEqual(exported.map((entry) => [entry, modes]));
    },
    TIMEOUT,
  );

  test(
    'publint: nothing to report, not even a suggestion',
    async () => {
      const publint = join(root, 'node_modules', 'publint', 'src', 'cli.js');
      const output = await run(process.execPath, [publint, 'run', tarball, '--strict', '--level', 'suggestion'], root);
      expect(output).toContain('All good!');
    },
    TIMEOUT,
  );
});
