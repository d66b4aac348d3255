/**
 * stbass in an RxJS flow: a stream of user questions, each answered by three placed agents at once.
 *
 *   questions$ ──switchMap──▶ PLACED_PAR(researcher@opus, critic@haiku, retriever@local).events$
 *
 *   researcher  model=claude-opus-4-5-20250414   endpoint=anthropic   ─┐
 *   critic      model=claude-haiku-4-5-20250414  endpoint=anthropic   ─┴─ anthropic-sim (an Observable backend: network latency, then the agent)
 *   retriever   model=nomic                      endpoint=local:8080  ─── local          (a LocalBackend)
 *
 * The agents stream their answers token by token with `ctx.emit`. The user asks a second question
 * before the first is answered: `switchMap` unsubscribes from the first run's `events$`, which
 * cancels every agent still working on it. Each agent listens to `ctx.signal` and reports the
 * abort, so the cancellation shows in the output. The second question is answered in full, then a
 * third.
 *
 * Everything runs on one RxJS scheduler: `asyncScheduler` when you run it (about a second), a
 * `TestScheduler` in examples/rx-flow.example.spec.ts, where the same flow runs in virtual time.
 * Run it with `npm run demo:rx`.
 */
import { Observable, type SchedulerLike, asyncScheduler, filter, finalize, interval, lastValueFrom, map, merge, switchMap, take, tap, timer } from 'rxjs';
// In your project: from 'stbass'.
import {
  type Backend,
  BackendRegistry,
  CancelledError,
  LocalBackend,
  type ParEvent,
  PLACED_PAR,
  Placement,
  type PlacedPair,
  Process,
  ProcessResult,
} from '../lib';
import { type Column, type Print, StreamingTable } from './support/table';

// ── The questions, and when the user asks them (ms from the start) ───────────────────────────

/** A user question and the canned answers of the simulated agents. */
export interface Question {
  readonly id: number;
  readonly at: number;
  readonly text: string;
  readonly answers: Readonly<Record<AgentName, string>>;
}

type AgentName = 'researcher' | 'critic' | 'retriever';

export const QUESTIONS: readonly Question[] = [
  {
    id: 1,
    at: 0,
    text: 'What does PLACED_PAR do?',
    answers: {
      researcher: 'It runs processes in parallel, each on its own backend.',
      critic: 'Mention the failure policy.',
      retriever: 'docs: placement.md',
    },
  },
  {
    // Asked while the agents still work on question 1: switchMap cancels that run.
    id: 2,
    at: 90,
    text: 'And what does HALT cancel?',
    answers: {
      researcher: 'Every unsettled process, running or waiting.',
      critic: 'Say that the signal aborts.',
      retriever: 'docs: policy.md',
    },
  },
  {
    id: 3,
    at: 600,
    text: 'Can I test it without waiting?',
    answers: {
      researcher: 'Yes: marble tests run in virtual time.',
      critic: 'Show FakeBackend too.',
      retriever: 'docs: testing.md',
    },
  },
];

// ── Where the agents run ──────────────────────────────────────────────────────────────────────

const opus = new Placement({ model: 'claude-opus-4-5-20250414', endpoint: 'anthropic' });
const haiku = new Placement({ model: 'claude-haiku-4-5-20250414', endpoint: 'anthropic' });
const nomic = new Placement({ model: 'nomic', endpoint: 'local:8080' });

/** The time between two tokens of each agent (ms); the researcher is the slow, thorough one. */
const PER_TOKEN: Readonly<Record<AgentName, number>> = { researcher: 40, critic: 20, retriever: 10 };
/** The simulated network round trip to the model API (ms). */
const NETWORK_LATENCY = 30;

/**
 * A model API as an Observable backend: the network latency, then the agent itself. Being an
 * Observable, it is cancelled by unsubscription, and its timer runs on the given scheduler.
 */
function simulatedApi(scheduler: SchedulerLike): Backend {
  return {
    name: 'anthropic-sim',
    concurrencyLimit: 4,
    execute: (process, ctx) => timer(NETWORK_LATENCY, scheduler).pipe(switchMap(() => process.execute$(ctx))),
  };
}

// ── The agents ────────────────────────────────────────────────────────────────────────────────

/** What an agent tells the flow when its signal aborts. */
export interface AbortReport {
  readonly question: number;
  readonly agent: string;
  readonly reason: unknown;
}

/** Splits a text into word tokens that keep their leading space: `"a b"` → `["a", " b"]`. */
function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/**
 * An agent that streams its answer to the bound question (its input) token by token, and reports
 * when its `ctx.signal` aborts: that is how a real agent would stop its model call.
 */
function agent(name: AgentName, scheduler: SchedulerLike, onAbort: (report: AbortReport) => void): Process<string> {
  return Process<string>(name, (ctx) => {
    const question = ctx.input as Question;
    const tokens = tokenize(question.answers[name]);
    const reportAbort = (): void => onAbort({ question: question.id, agent: name, reason: ctx.signal.reason });
    ctx.signal.addEventListener('abort', reportAbort, { once: true });
    return interval(PER_TOKEN[name], scheduler).pipe(
      take(tokens.length),
      tap((index) => ctx.emit(tokens[index])),
      filter((index) => index === tokens.length - 1),
      map(() => ProcessResult.ok(tokens.join(''))),
      finalize(() => ctx.signal.removeEventListener('abort', reportAbort)),
    );
  });
}

// ── The flow ──────────────────────────────────────────────────────────────────────────────────

/** One line of the flow's trace: an event of a question's run, or an agent's abort report. */
export type FlowItem = { readonly kind: 'event'; readonly question: number; readonly event: ParEvent<string> } | ({ readonly kind: 'aborted' } & AbortReport);

/**
 * Answers each question with three placed agents; a new question cancels the run of the previous
 * one (`switchMap` unsubscribes from its `events$`). Emits every event of every run and every abort
 * an agent reports.
 */
export function answerQuestions(questions$: Observable<Question>, scheduler: SchedulerLike = asyncScheduler): Observable<FlowItem> {
  const registry = new BackendRegistry().register('anthropic', simulatedApi(scheduler)).register('local', new LocalBackend({ concurrencyLimit: 2 }));
  return new Observable<FlowItem>((subscriber) => {
    // The agents report their aborts into this subscription's trace.
    const onAbort = (report: AbortReport): void => subscriber.next({ kind: 'aborted', ...report });
    const team: readonly PlacedPair<string>[] = [
      [agent('researcher', scheduler, onAbort), opus],
      [agent('critic', scheduler, onAbort), haiku],
      [agent('retriever', scheduler, onAbort), nomic],
    ];
    return questions$
      .pipe(
        switchMap((question) => {
          const pairs = team.map(([process, placement]): PlacedPair<string> => [process.withInput(question), placement]);
          const group = PLACED_PAR(...pairs, { registry, scheduler, deadline: 5 });
          return group.events$.pipe(map((event): FlowItem => ({ kind: 'event', question: question.id, event })));
        }),
      )
      .subscribe(subscriber);
  });
}

/** The questions as a stream, each at its time on the scheduler. */
export function questionStream(questions: readonly Question[], scheduler: SchedulerLike = asyncScheduler): Observable<Question> {
  return merge(...questions.map((question) => timer(question.at, scheduler).pipe(map(() => question))));
}

// ── Printing ──────────────────────────────────────────────────────────────────────────────────

const COLUMNS: readonly Column[] = [
  { header: 'ms', width: 5, align: 'right' },
  { header: 'q', width: 1 },
  { header: 'agent', width: 10 },
  { header: 'event', width: 8 },
  { header: 'detail', width: 70 },
];

function describeReason(reason: unknown): string {
  if (reason instanceof CancelledError) return `ctx.signal aborted: CancelledError (reason: ${reason.reason})`;
  return `ctx.signal aborted: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`;
}

function eventDetail(event: ParEvent<string>, partialText: Map<number, string>): string {
  switch (event.type) {
    case 'queued':
      return `waiting for a slot on ${event.backend}`;
    case 'started':
      return `on ${event.backend} (${event.placement.summary})`;
    case 'partial': {
      const text = (partialText.get(event.index) ?? '') + String(event.value);
      partialText.set(event.index, text);
      return JSON.stringify(text);
    }
    case 'settled':
      return event.result.isOk ? `✓ ${JSON.stringify(event.result.value)}` : `✗ ${event.result.failure.error.name}`;
    case 'done':
      return `${event.result.report().succeeded} of ${event.result.results.length} agents answered`;
    default:
      return '';
  }
}

/** What `main` returns: which questions were answered and which agents reported an abort. */
export interface FlowSummary {
  readonly answered: number[];
  readonly aborted: AbortReport[];
  readonly lines: string[];
}

/** Runs the flow on `scheduler`, printing a line per event and per abort; resolves with a summary. */
export async function main(print: Print = console.log, scheduler: SchedulerLike = asyncScheduler): Promise<FlowSummary> {
  const lines: string[] = [];
  const out: Print = (line) => {
    lines.push(line);
    print(line);
  };
  const answered: number[] = [];
  const aborted: AbortReport[] = [];
  const table = new StreamingTable(COLUMNS, out);
  // The text each agent has streamed so far, by question and agent index.
  const partialText = new Map<number, Map<number, string>>();
  const start = scheduler.now();

  out('stbass · a stream of questions, each fanned out to three placed agents with switchMap');
  out('');
  for (const question of QUESTIONS) out(`  question ${question.id} at ${question.at} ms: ${question.text}`);
  out('');
  table.printHeader();

  const trace = answerQuestions(questionStream(QUESTIONS, scheduler), scheduler).pipe(
    tap((item) => {
      const ms = String(Math.round(scheduler.now() - start));
      if (item.kind === 'aborted') {
        aborted.push(item);
        return table.printRow([ms, String(item.question), item.agent, 'aborted', describeReason(item.reason)]);
      }
      const { question, event } = item;
      if (event.type === 'done') answered.push(question);
      const texts = partialText.get(question) ?? new Map<number, string>();
      partialText.set(question, texts);
      table.printRow([ms, String(question), event.type === 'done' ? '' : event.name, event.type, eventDetail(event, texts)]);
    }),
  );
  await lastValueFrom(trace, { defaultValue: undefined });

  out('');
  for (const question of QUESTIONS) {
    const agents = aborted.filter((report) => report.question === question.id).map((report) => report.agent);
    if (answered.includes(question.id)) out(`  question ${question.id}: answered by every agent`);
    else out(`  question ${question.id}: cancelled by the next question; the agents still at work saw ctx.signal abort: ${agents.join(', ')}`);
  }
  return { answered, aborted, lines };
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
