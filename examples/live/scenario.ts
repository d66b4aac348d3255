/**
 * The runs that the live page shows: agents that write their answers token by token, placed on
 * simulated backends with different latencies and caps, under a deadline.
 *
 *   planner       fast    (cap 2, 40 ms to start)   short plan, done early
 *   researcher    remote  (cap 1, 300 ms to start)  slow tokens
 *   writer        remote  (cap 1)                   waits for the researcher's slot
 *   critic        flaky   (cap 2)                   fails half-way the first time, retried
 *   summarizer    fast    (cap 2)                   too long: the deadline cuts it
 *
 * Every run keeps a record of what its processes did on the server, so tests (and the curious)
 * can see that cancelling on the page aborted the work here: `GET /runs/<id>`.
 */
import { type Observable, switchMap, timer } from 'rxjs';
import {
  BackendRegistry,
  ExecutionBackend,
  FailurePolicy,
  PLACED_PAR,
  type PlacedPar,
  type PlacedPair,
  Placement,
  Process,
  type ProcessContext,
  ProcessResult,
} from '../../lib';

/** A backend that stands for a remote service: it takes `latencyMs` to start a process. */
export class SimulatedBackend extends ExecutionBackend {
  constructor(
    readonly name: string,
    override readonly concurrencyLimit: number,
    private readonly latencyMs: number,
  ) {
    super();
  }

  execute(process: Process, ctx: ProcessContext): Observable<ProcessResult> {
    return timer(this.latencyMs).pipe(switchMap(() => process.execute$(ctx)));
  }
}

/** What the page may ask for (all from the query string of `GET /run`). */
export interface RunSettings {
  /** Which group to run: the agents, or one process streaming 100 tokens (for latency). */
  readonly scenario: 'agents' | 'stream' | 'quick';
  /** Seconds. */
  readonly deadline: number;
  /** Multiplies every delay: 0.2 runs five times faster. */
  readonly pace: number;
  /** Put at the start of every text, so two runs side by side are told apart. */
  readonly label: string;
}

/** What a run's processes did on the server. */
export interface RunRecord {
  readonly id: string;
  status: 'running' | 'done' | 'cancelled';
  /** Names of the processes whose `ctx.signal` aborted, in the order they aborted. */
  readonly aborted: string[];
  /** Every `ctx.emit`: who, on which attempt, what, and when (`performance.timeOrigin + performance.now()`, ms). */
  readonly emits: { name: string; attempt: number; text: string; at: number }[];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const timeout = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timeout);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface Writer {
  readonly name: string;
  readonly text: string;
  /** Milliseconds between tokens, before `pace`. */
  readonly tokenMs: number;
  /** On the first attempt, fail after this many tokens. */
  readonly failFirstAttemptAfter?: number;
}

/** An agent that "writes" `text` a word at a time through `ctx.emit`, and returns it. */
function writer(spec: Writer, settings: RunSettings, record: RunRecord): Process<string> {
  return Process(spec.name, async (ctx) => {
    ctx.signal.addEventListener('abort', () => record.aborted.push(spec.name), { once: true });
    const words = `${settings.label}${spec.text}`.split(/(?<= )/);
    let written = '';
    for (const [i, word] of words.entries()) {
      await sleep(spec.tokenMs * settings.pace, ctx.signal);
      if (spec.failFirstAttemptAfter === i && ctx.attempt === 1) throw new Error(`lost the connection to ${ctx.backend} after ${i} tokens`);
      record.emits.push({ name: spec.name, attempt: ctx.attempt, text: word, at: performance.timeOrigin + performance.now() });
      ctx.emit(word);
      written += word;
    }
    return ProcessResult.ok(written);
  });
}

const AGENTS: readonly (Writer & { readonly placement: Placement })[] = [
  { name: 'planner', placement: new Placement({ model: 'planner-small', endpoint: 'fast' }), tokenMs: 120, text: 'Split the question into three parts: cost, timing and risk.' },
  {
    name: 'researcher',
    placement: new Placement({ model: 'research-large', endpoint: 'remote' }),
    tokenMs: 220,
    text: 'Three sources agree that the upgrade was billed twice in March.',
  },
  { name: 'writer', placement: new Placement({ model: 'research-large', endpoint: 'remote' }), tokenMs: 150, text: 'Draft: we refunded the duplicate charge.' },
  {
    name: 'critic',
    placement: new Placement({ model: 'critic-medium', endpoint: 'flaky' }),
    tokenMs: 160,
    failFirstAttemptAfter: 4,
    text: 'The draft is accurate but should name the refund date.',
  },
  {
    name: 'summarizer',
    placement: new Placement({ model: 'planner-small', endpoint: 'fast' }),
    tokenMs: 400,
    text: 'A long summary that keeps going: the question, the sources, the draft, the critique, the open points, the next steps, the owners, the dates, and then some more words than the deadline allows.',
  },
];

/** The group for one run, with a registry of its own (the caps are per backend instance). */
export function liveRun(settings: RunSettings, record: RunRecord): PlacedPar {
  const registry = new BackendRegistry({ strict: true })
    .register('fast', new SimulatedBackend('fast', 2, 40 * settings.pace))
    .register('remote', new SimulatedBackend('remote', 1, 300 * settings.pace))
    .register('flaky', new SimulatedBackend('flaky', 2, 100 * settings.pace));
  const options = {
    registry,
    deadline: settings.deadline,
    onFailure: FailurePolicy.retry({ maxAttempts: 2, backoff: 'constant', baseDelay: 0.4 * settings.pace }),
  };
  if (settings.scenario === 'stream') {
    const streamer = writer({ name: 'streamer', tokenMs: 20, text: Array.from({ length: 100 }, (_, i) => `t${i} `).join('') }, { ...settings, label: '' }, record);
    return PLACED_PAR([streamer, new Placement({ model: 'stream', endpoint: 'fast' })], options);
  }
  const agents = settings.scenario === 'quick' ? AGENTS.slice(0, 2).map((agent) => ({ ...agent, tokenMs: 5 })) : AGENTS;
  const pairs = agents.map((agent): PlacedPair => [writer(agent, settings, record), agent.placement]);
  return PLACED_PAR(...pairs, options);
}
