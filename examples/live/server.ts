/**
 * The live run view: `npm run demo:live`, then open the URL it prints (PORT sets the port).
 *
 * A Node HTTP server without a framework. `GET /run` starts a run of the agents in ./scenario.ts
 * and streams its events to the page with `sendServerSentEvents`; when the page cancels (or is
 * closed), the connection closes, the stream's subscription ends, and the run is cancelled: every
 * unsettled process's `ctx.signal` aborts.
 *
 *   GET /               the page (./page/index.html)
 *   GET /run?run=<id>   the event stream of a new run; also scenario, deadline, pace, label
 *   GET /runs/<id>      what that run's processes did on the server (JSON)
 *   GET /health         200 once the server listens
 *   GET /modules/...    the page's TypeScript and stbass/sse's client, compiled as they are served
 *   GET /vendor/...     rxjs (and its tslib) as ES modules, for the page's import map
 */
import { readFile, stat } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { tap } from 'rxjs';
import ts from 'typescript';
// In your project: from 'stbass/sse'.
import { sendServerSentEvents } from '../../lib/sse';
import { type RunRecord, type RunSettings, liveRun } from './scenario';

const ROOT = resolve(__dirname, '..', '..');
const PAGE = join(__dirname, 'page');
/** Where the page's modules may come from: the page itself and the library's browser-safe code. */
const MODULE_ROOTS = [join(ROOT, 'lib'), PAGE];
const VENDOR: Readonly<Record<string, string>> = {
  rxjs: join(ROOT, 'node_modules', 'rxjs', 'dist', 'esm'),
  'tslib.js': join(ROOT, 'node_modules', 'tslib', 'tslib.es6.mjs'),
};
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
};
/** Runs kept for `GET /runs/<id>`; the oldest go first. */
const KEPT_RUNS = 1000;

/** A running live server. */
export interface LiveServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Every run by id, as `GET /runs/<id>` reports it. */
  readonly runs: ReadonlyMap<string, RunRecord>;
  close(): Promise<void>;
}

class BadRequest extends Error {}

function settingsOf(query: URLSearchParams): RunSettings {
  const number = (name: string, fallback: number): number => {
    const text = query.get(name);
    if (text === null) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new BadRequest(`${name} must be a number > 0, got ${JSON.stringify(text)}`);
    return value;
  };
  const scenario = query.get('scenario') ?? 'agents';
  if (scenario !== 'agents' && scenario !== 'stream' && scenario !== 'quick') throw new BadRequest(`scenario must be agents, stream or quick, got ${JSON.stringify(scenario)}`);
  const label = query.get('label') ?? '';
  return { scenario, deadline: number('deadline', 8), pace: number('pace', 1), label: label === '' ? '' : `${label.slice(0, 20)}: ` };
}

async function fileIn(roots: readonly string[], path: string): Promise<string | undefined> {
  for (const root of roots) {
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) && file !== root) continue;
    try {
      if ((await stat(file)).isFile()) return file;
    } catch {
      // Not in this root: try the next.
    }
  }
  return undefined;
}

/** `/modules/lib/sse/fromServerSentEvents.js` → that .ts file, compiled to an ES module. */
async function moduleAt(path: string): Promise<string | undefined> {
  const relative = path.replace(/\.js$/, '');
  const file =
    (await fileIn([ROOT], `${relative}.ts`)) ?? (await fileIn([ROOT], join(relative, 'index.ts')));
  if (file === undefined || !MODULE_ROOTS.some((root) => file.startsWith(root + sep))) return undefined;
  const source = await readFile(file, 'utf8');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 }, fileName: file }).outputText;
}

/** `/vendor/rxjs/internal/Observable` → rxjs's ES module (its imports name no extension). */
async function vendorAt(path: string): Promise<string | undefined> {
  const [name = '', ...rest] = path.split('/');
  const base = VENDOR[name];
  if (base === undefined) return undefined;
  if (rest.length === 0) return base;
  const inner = rest.join('/').replace(/\.js$/, '');
  return (await fileIn([base], `${inner}.js`)) ?? (await fileIn([base], join(inner, 'index.js')));
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/** Starts the server on 127.0.0.1 (`port` 0 picks a free one). */
export async function startLiveServer(options: { port?: number } = {}): Promise<LiveServer> {
  const runs = new Map<string, RunRecord>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (request.method !== 'GET') return send(response, 405, 'text/plain', 'only GET');
    if (path === '/health') return send(response, 200, 'text/plain', 'ok');
    if (path === '/run') {
      const id = url.searchParams.get('run') ?? '';
      if (!/^[\w-]{1,64}$/.test(id)) throw new BadRequest('run must be an id of letters, digits, - and _');
      if (runs.has(id)) return send(response, 409, 'text/plain', `run ${id} exists already`);
      const settings = settingsOf(url.searchParams);
      const record: RunRecord = { id, status: 'running', aborted: [], emits: [] };
      runs.set(id, record);
      for (const old of runs.keys()) {
        if (runs.size <= KEPT_RUNS) break;
        runs.delete(old);
      }
      const events$ = liveRun(settings, record).events$.pipe(
        tap((event) => {
          if (event.type === 'done') record.status = 'done';
        }),
      );
      await sendServerSentEvents(response, events$);
      // The stream ended before `done`: the page went away, which cancelled the run.
      if (record.status === 'running') record.status = 'cancelled';
      return;
    }
    const runMatch = /^\/runs\/([\w-]+)$/.exec(path);
    if (runMatch !== null) {
      const record = runs.get(runMatch[1] ?? '');
      return record === undefined ? send(response, 404, 'text/plain', 'no such run') : send(response, 200, 'application/json', JSON.stringify(record));
    }
    if (path.startsWith('/modules/')) {
      const code = await moduleAt(path.slice('/modules/'.length));
      return code === undefined ? send(response, 404, 'text/plain', 'no such module') : send(response, 200, TYPES['.js'] ?? '', code);
    }
    if (path.startsWith('/vendor/')) {
      const file = await vendorAt(path.slice('/vendor/'.length));
      return file === undefined ? send(response, 404, 'text/plain', 'no such file') : send(response, 200, TYPES['.js'] ?? '', await readFile(file));
    }
    const file = await fileIn([PAGE], path === '/' ? 'index.html' : path.slice(1));
    const type = file === undefined ? undefined : TYPES[extname(file)];
    if (file === undefined || type === undefined || extname(file) === '.ts') return send(response, 404, 'text/plain', 'not found');
    return send(response, 200, type, await readFile(file));
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) return void response.end();
      send(response, error instanceof BadRequest ? 400 : 500, 'text/plain', error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolvePromise());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    runs,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}

if (require.main === module) {
  const port = Number(process.env['PORT'] ?? 3000);
  startLiveServer({ port })
    .then((live) => console.log(`stbass live run view: ${live.url}  (Ctrl-C stops it)`))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    });
}
