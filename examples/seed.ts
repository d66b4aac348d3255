/**
 * The seed's heterogeneous PLACED_PAR in TypeScript: three agents, three placements, two backends.
 *
 *   reasoner    model=claude-opus-4-5-20250414   endpoint=anthropic   ─┐
 *   classifier  model=claude-haiku-4-5-20250414  endpoint=anthropic   ─┴─ anthropic-sim  (a class, async, cap 2)
 *   embedder    model=nomic                      endpoint=local:8080  ─── local-sim      (a plain object, an Observable, cap 1)
 *
 * Both backends are simulations (no server, no API key): `anthropic-sim` waits for a first token,
 * streams the answer token by token through `ctx.emit` and stops the moment `ctx.signal` aborts;
 * `local-sim` answers after a flat latency. The same group runs three times:
 *
 *   1. COLLECT with a deadline: every agent succeeds.
 *   2. retry: the classifier is rate limited on every attempt; it is retried with backoff, then
 *      the group collects what it has.
 *   3. HALT: the same failure cancels the other agents mid-stream.
 *
 * Each run prints its event stream as it happens, then its PARResult. About a second in all.
 * Run it with `npm run demo`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { type Observable, filter, lastValueFrom, switchMap, tap, timer } from 'rxjs';
// In your project: from 'stbass'.
import {
  type Backend,
  BackendRegistry,
  CancelledError,
  DeadlineExceededError,
  ExecutionBackend,
  FailurePolicy,
  type PARResult,
  type ParEvent,
  PLACED_PAR,
  Placement,
  type PlacedPair,
  type PlacedParOptions,
  Process,
  type ProcessContext,
  ProcessResult,
} from '../lib';
import { type Column, type Print, StreamingTable, printTable } from './support/table';

// ── Where each agent runs ─────────────────────────────────────────────────────────────────────

const OPUS = 'claude-opus-4-5-20250414';
const HAIKU = 'claude-haiku-4-5-20250414';

const opus = new Placement({ model: OPUS, endpoint: 'anthropic' });
const haiku = new Placement({ model: HAIKU, endpoint: 'anthropic' });
const nomic = new Placement({ model: 'nomic', endpoint: 'local:8080' });

// ── The agents ────────────────────────────────────────────────────────────────────────────────
// A support ticket reads "My invoice doubled after the upgrade". Each agent decides what it
// answers; the backend it is placed on decides how (and whether) that answer arrives.

const reasoner = Process('reasoner', () => ProcessResult.ok('Refund the duplicate proration charge.'));
const classifier = Process('classifier', () => ProcessResult.ok('label: billing'));
const embedder = Process('embedder', () => ProcessResult.ok([0.12, -0.48, 0.33, 0.07]));

/** The seed's pairs: `(reasoning_agent, opus), (classifier_agent, haiku), (embed_agent, nomic)`. */
const PAIRS: readonly PlacedPair[] = [
  [reasoner, opus],
  [classifier, haiku],
  [embedder, nomic],
];

// ── Backend 1: a simulated Anthropic API ─────────────────────────────────────────────────────

/** How an answer arrives from a model: the wait for the first token, then the gap between tokens (ms). */
interface LatencyProfile {
  readonly firstToken: number;
  readonly perToken: number;
}

const ANTHROPIC_LATENCY: Readonly<Record<string, LatencyProfile>> = {
  [OPUS]: { firstToken: 30, perToken: 60 },
  [HAIKU]: { firstToken: 50, perToken: 20 },
};
const SLOW_MODEL: LatencyProfile = { firstToken: 100, perToken: 60 };
/** How long the API takes to say no to a rate-limited model (ms). */
const RATE_LIMIT_REPLY = 60;

/** What the simulated API answers for a rate-limited model. */
class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
  constructor(readonly model: string) {
    super(`429 Too Many Requests for ${model}`);
  }
}

/** Splits a text into word tokens that keep their leading space: `"a b"` → `["a", " b"]`. */
function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/**
 * A stand-in for a model API, written as the seed writes a backend: a subclass with an async
 * `execute`. It honours `ctx.signal`, so a cancelled process stops streaming at once.
 */
class SimulatedAnthropic extends ExecutionBackend {
  readonly name = 'anthropic-sim';
  /** Requests in flight at once, across every run that uses this instance; the rest queue FIFO. */
  override readonly concurrencyLimit = 2;
  readonly #rateLimited: ReadonlySet<string>;

  constructor(options: { rateLimited?: readonly string[] } = {}) {
    super();
    this.#rateLimited = new Set(options.rateLimited);
  }

  async execute(process: Process, ctx: ProcessContext): Promise<ProcessResult> {
    const model = ctx.placement.model ?? 'unknown';
    const { signal } = ctx;
    if (this.#rateLimited.has(model)) {
      await sleep(RATE_LIMIT_REPLY, undefined, { signal });
      return ProcessResult.fail(new RateLimitError(model));
    }
    const answer = await process.execute(ctx);
    if (answer.isFail || typeof answer.value !== 'string') return answer;
    const { firstToken, perToken } = ANTHROPIC_LATENCY[model] ?? SLOW_MODEL;
    let wait = firstToken;
    for (const token of tokenize(answer.value)) {
      await sleep(wait, undefined, { signal }); // rejects as soon as the group cancels this process
      ctx.emit(token);
      wait = perToken;
    }
    return answer;
  }
}

// ── Backend 2: a simulated model server on this machine ──────────────────────────────────────

/** The local server answers in one piece after a flat latency (ms). */
const LOCAL_LATENCY = 120;

/**
 * The plain-object form of a backend. `execute` returns an Observable, so cancelling is just
 * unsubscribing (no signal needed), and under a TestScheduler the timer runs in virtual time.
 */
const localServer: Backend = {
  name: 'local-sim',
  concurrencyLimit: 1,
  execute: (process, ctx): Observable<ProcessResult> => timer(LOCAL_LATENCY).pipe(switchMap(() => process.execute$(ctx))),
};

function simulatedRegistry(rateLimited: readonly string[] = []): BackendRegistry {
  return new BackendRegistry()
    .register('anthropic', new SimulatedAnthropic({ rateLimited }))
    .register('local', localServer); // `local:8080` reaches it through its scheme, `local`
}

// ── Printing ──────────────────────────────────────────────────────────────────────────────────

const EVENT_COLUMNS: readonly Column[] = [
  { header: 'ms', width: 5, align: 'right' },
  { header: '#', width: 1 },
  { header: 'process', width: 10 },
  { header: 'event', width: 8 },
  { header: 'backend', width: 13 },
  { header: 'detail', width: 72 },
];

const RESULT_COLUMNS: readonly Column[] = [
  { header: 'process' },
  { header: 'placement' },
  { header: 'backend' },
  { header: 'attempts', align: 'right' },
  { header: 'elapsed', align: 'right' },
  { header: 'outcome' },
];

function preview(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A settled result in a few words; the error classes' fields say more than their messages. */
function outcome(result: ProcessResult): string {
  if (result.isOk) return `✓ ${preview(result.value)}`;
  const { error } = result.failure;
  if (error instanceof CancelledError) return `✗ CancelledError (reason: ${error.reason}, haltedBy: ${error.haltedBy ?? '—'})`;
  if (error instanceof DeadlineExceededError) return `✗ DeadlineExceededError (phase: ${error.phase})`;
  return `✗ ${error.name}: ${error.message}`;
}

/** The `detail` cell of an event; types this example does not know are shown without one. */
function eventDetail(event: ParEvent): string {
  switch (event.type) {
    case 'queued':
      return 'waiting for a slot';
    case 'started':
      return `attempt ${event.attempt}`;
    case 'partial':
      return preview(event.value);
    case 'retrying':
      return `attempt ${event.attempt} in ${Math.round(event.delay * 1000)} ms, after ${event.failure.error.name}`;
    case 'settled':
      return outcome(event.result);
    case 'done': {
      const { succeeded, failed } = event.result.report();
      return `${succeeded} succeeded, ${failed} failed`;
    }
    default:
      return '';
  }
}

/** Runs `group` once through its `events$`, printing each event as it comes; resolves with the result. */
async function runAndTrace(options: PlacedParOptions, print: Print): Promise<PARResult> {
  const group = PLACED_PAR(...PAIRS, options);
  const table = new StreamingTable(EVENT_COLUMNS, print);
  const backendOf = new Map<number, string>();
  table.printHeader();
  const start = performance.now();
  const done = await lastValueFrom(
    group.events$.pipe(
      tap((event) => {
        const ms = String(Math.round(performance.now() - start));
        if (event.type === 'done') return table.printRow([ms, '', '', 'done', '', eventDetail(event)]);
        if (event.type === 'queued' || event.type === 'started') backendOf.set(event.index, event.backend);
        table.printRow([ms, String(event.index), event.name, event.type, backendOf.get(event.index) ?? '', eventDetail(event)]);
      }),
      filter((event) => event.type === 'done'),
    ),
  );
  return done.result;
}

function printResult(result: PARResult, print: Print): void {
  const rows = result.entries.map((entry) => [
    entry.name,
    entry.placement.summary,
    entry.backend ?? '—',
    String(entry.attempts),
    entry.startedAt === undefined ? '—' : `${entry.settledAt.getTime() - entry.startedAt.getTime()} ms`,
    entry.result.isOk ? '✓ ok' : `✗ ${entry.result.failure.error.name}`,
  ]);
  printTable(RESULT_COLUMNS, rows, print);
  print('');
  for (const failure of result.failures) print(`  ${failure.summary}`);
  if (result.failures.length > 0) print('');
  print(`  result.report() → ${inspect(result.report(), { breakLength: Number.POSITIVE_INFINITY })}`);
}

// ── The three runs ────────────────────────────────────────────────────────────────────────────

interface Act {
  readonly title: string;
  readonly options: PlacedParOptions;
}

const ACTS: readonly Act[] = [
  {
    title: 'COLLECT with a 2 s deadline: every agent succeeds',
    options: { onFailure: FailurePolicy.COLLECT, deadline: 2, registry: simulatedRegistry() },
  },
  {
    title: 'retry: the classifier is rate limited on every attempt, then the group collects',
    options: {
      onFailure: FailurePolicy.retry({ maxAttempts: 3, backoff: 'exponential', baseDelay: 0.12 }),
      deadline: 2,
      registry: simulatedRegistry([HAIKU]),
    },
  },
  {
    title: 'HALT: the same failure cancels the other agents mid-stream',
    options: { onFailure: FailurePolicy.HALT, registry: simulatedRegistry([HAIKU]) },
  },
];

/** Prints where each agent runs, then runs the group under each act; resolves with the three results. */
export async function main(print: Print = console.log): Promise<PARResult[]> {
  const registry = simulatedRegistry();
  print('stbass · the seed\'s PLACED_PAR on two simulated backends (no server, no key)');
  print('');
  printTable(
    [{ header: 'process' }, { header: 'placement' }, { header: 'registry.get(placement)' }, { header: 'cap', align: 'right' }],
    PAIRS.map(([agent, placement]) => {
      const backend = registry.get(placement);
      return [agent.name, placement.summary, backend.name, String(backend.concurrencyLimit ?? '∞')];
    }),
    print,
  );

  const results: PARResult[] = [];
  for (const [number, act] of ACTS.entries()) {
    print('');
    print(`━━ ${number + 1}. ${act.title}`);
    print(`   onFailure: ${String(act.options.onFailure)}${act.options.deadline === undefined ? '' : `, deadline: ${String(act.options.deadline)} s`}`);
    print('');
    const result = await runAndTrace(act.options, print);
    print('');
    printResult(result, print);
    results.push(result);
  }
  return results;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
