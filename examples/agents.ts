/**
 * The seed's three agents on real model backends, streaming their tokens to the terminal as they
 * arrive:
 *
 *   reasoner    model=claude-opus-5-5    endpoint=anthropic   ─┐
 *   classifier  model=claude-haiku-5-5   endpoint=anthropic   ─┴─ AnthropicBackend           (cap 4)
 *   embedder    model=nomic-embed-text   endpoint=local:8080  ─── OpenAICompatibleBackend    (cap 2)
 *
 * Each agent asks `modelOf(ctx)` — the model its placement names, with its placement's config —
 * and the group's `events$` carries every streamed piece as a `partial` event, which is what
 * this program prints. At the end it prints each entry's outcome and token usage.
 *
 * Where the requests go, and it says which:
 *   - Anthropic: the real API when ANTHROPIC_API_KEY is set, else the fixture server.
 *   - local:8080: the OpenAI-compatible server at STBASS_LOCAL_URL (default
 *     http://127.0.0.1:8080/v1: llama.cpp's `llama-server --embeddings`, vLLM, Ollama at
 *     http://127.0.0.1:11434/v1) when it answers GET /models, else the fixture server.
 * The fixture server (spec/fixtures/modelApiServer.ts) speaks both APIs on 127.0.0.1, so the
 * program runs offline, through the real SDKs. Models: STBASS_REASONER_MODEL,
 * STBASS_CLASSIFIER_MODEL, STBASS_EMBED_MODEL.
 *
 * Run it with `npm run demo:agents`.
 */
import { filter, lastValueFrom, tap } from 'rxjs';
// In your project: from 'stbass' and 'stbass/models'.
import { BackendRegistry, FailurePolicy, type PARResult, PLACED_PAR, Placement, Process, ProcessResult } from '../lib';
import { AnthropicBackend, OpenAICompatibleBackend, modelOf } from '../lib/models';
import { FIXTURE_ANTHROPIC_KEY, FIXTURE_OPENAI_KEY, ModelApiServer } from '../spec/fixtures/modelApiServer';
import { type Print, printTable } from './support/table';

const TICKET = 'My invoice doubled after the upgrade. Why, and can I get the difference back?';

// ── The agents ────────────────────────────────────────────────────────────────────────────────
// Each asks the model its placement names; none knows which API, key or server that is.

const reasoner = Process('reasoner', async (ctx) =>
  ProcessResult.ok(await modelOf(ctx).generate({ system: 'You are a billing support agent. Answer in two short sentences.', prompt: TICKET })),
);
const classifier = Process('classifier', async (ctx) =>
  ProcessResult.ok((await modelOf(ctx).generate({ system: 'Label the support ticket with one word: billing, technical, account or other.', prompt: TICKET })).trim()),
);
const embedder = Process('embedder', async (ctx) => {
  const [vector = []] = await modelOf(ctx).embed([TICKET]);
  return ProcessResult.ok(vector);
});

// ── Where they run ────────────────────────────────────────────────────────────────────────────

/** What the fixture server answers in place of the real models. */
const FIXTURE_REPLIES = {
  reasoner: 'Your upgrade was prorated twice, so the second charge is a duplicate. I have refunded it: the credit shows within five days.',
  classifier: 'billing',
};

/** Where one backend's requests go, and why. */
interface Destination {
  readonly baseURL: string;
  readonly apiKey: string | undefined;
  readonly why: string;
}

/** What `main` may be told; the defaults suit a terminal. */
export interface AgentsOptions {
  /** Prints a line. */
  readonly print?: Print;
  /** Writes streamed text as it arrives, without a newline. */
  readonly write?: (text: string) => void;
  /** Where keys, URLs and model names are read from. */
  readonly env?: NodeJS.ProcessEnv;
  /** Whether to look for a local server at all (a test says no). */
  readonly probeLocal?: boolean;
}

/** Whether an OpenAI-compatible server answers at `baseURL` (GET /models within half a second). */
async function answers(baseURL: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseURL.replace(/\/$/, '')}/models`, { signal: AbortSignal.timeout(500) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Runs the three agents once, printing their tokens as they stream and then the result. */
export async function main(options: AgentsOptions = {}): Promise<PARResult> {
  const print = options.print ?? console.log;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const env = options.env ?? process.env;
  const models = {
    reasoner: env['STBASS_REASONER_MODEL'] ?? 'claude-opus-5-5',
    classifier: env['STBASS_CLASSIFIER_MODEL'] ?? 'claude-haiku-5-5',
    embedder: env['STBASS_EMBED_MODEL'] ?? 'nomic-embed-text',
  };
  const localURL = env['STBASS_LOCAL_URL'] ?? 'http://127.0.0.1:8080/v1';
  const anthropicKey = env['ANTHROPIC_API_KEY'];
  const localAnswers = options.probeLocal !== false && (await answers(localURL));

  let fixture: ModelApiServer | undefined;
  if (anthropicKey === undefined || !localAnswers) {
    fixture = await ModelApiServer.start({
      replies: { [models.reasoner]: FIXTURE_REPLIES.reasoner, [models.classifier]: FIXTURE_REPLIES.classifier },
      tokenDelayMs: 35,
    });
  }
  try {
    const anthropic: Destination =
      anthropicKey !== undefined
        ? { baseURL: 'https://api.anthropic.com', apiKey: anthropicKey, why: 'the Anthropic API (ANTHROPIC_API_KEY is set)' }
        : { baseURL: fixture?.anthropicBaseURL ?? '', apiKey: FIXTURE_ANTHROPIC_KEY, why: `the fixture server at ${fixture?.url ?? '?'} (no ANTHROPIC_API_KEY)` };
    const local: Destination = localAnswers
      ? { baseURL: localURL, apiKey: env['OPENAI_API_KEY'], why: `the server at ${localURL}` }
      : { baseURL: fixture?.openAIBaseURL ?? '', apiKey: FIXTURE_OPENAI_KEY, why: `the fixture server at ${fixture?.url ?? '?'} (nothing answers at ${localURL})` };

    const registry = new BackendRegistry({ strict: true })
      .register('anthropic', new AnthropicBackend({ baseURL: anthropic.baseURL, apiKey: anthropic.apiKey, concurrencyLimit: 4 }))
      // `local:8080` reaches it through the endpoint's scheme, `local`.
      .register('local', new OpenAICompatibleBackend({ name: 'local', baseURL: local.baseURL, apiKey: local.apiKey, concurrencyLimit: 2 }));
    const pairs = [
      [reasoner, new Placement({ model: models.reasoner, endpoint: 'anthropic', config: { maxTokens: 200 } })],
      [classifier, new Placement({ model: models.classifier, endpoint: 'anthropic', config: { maxTokens: 5 } })],
      [embedder, new Placement({ model: models.embedder, endpoint: 'local:8080' })],
    ] as const;

    print("stbass · the seed's three agents on model backends");
    print('');
    printTable(
      [{ header: 'process' }, { header: 'placement' }, { header: 'backend' }, { header: 'requests go to' }],
      pairs.map(([agent, placement]) => {
        const backend = registry.get(placement);
        return [agent.name, placement.summary, backend.name, backend.name === 'anthropic' ? anthropic.why : local.why];
      }),
      print,
    );
    print('');
    print(`Ticket: "${TICKET}"`);
    print('Streaming, as the tokens arrive:');

    // Each `partial` event is a piece of an answer; a new line starts whenever the speaker changes.
    let speaker: string | undefined;
    const group = PLACED_PAR(...pairs, { registry, deadline: 60, onFailure: FailurePolicy.COLLECT });
    const done = await lastValueFrom(
      group.events$.pipe(
        tap((event) => {
          if (event.type !== 'partial') return;
          if (speaker !== event.name) write(`${speaker === undefined ? '' : '\n'}  [${event.name}] `);
          speaker = event.name;
          write(String(event.value));
        }),
        filter((event) => event.type === 'done'),
      ),
    );
    write('\n');
    print('');
    printResult(done.result, print);
    return done.result;
  } finally {
    await fixture?.close();
  }
}

function printResult(result: PARResult, print: Print): void {
  printTable(
    [{ header: 'process' }, { header: 'backend' }, { header: 'tokens in', align: 'right' }, { header: 'tokens out', align: 'right' }, { header: 'outcome' }],
    result.entries.map((entry) => {
      const value = entry.result.isOk ? entry.result.value : undefined;
      const shown = Array.isArray(value) ? `a vector of ${value.length}: [${value.slice(0, 3).map((x: number) => x.toFixed(3)).join(', ')}, …]` : JSON.stringify(value);
      return [
        entry.name,
        entry.backend ?? '—',
        String(entry.usage?.inputTokens ?? '—'),
        String(entry.usage?.outputTokens ?? '—'),
        entry.result.isOk ? `✓ ${shown}` : `✗ ${entry.result.failure.summary}`,
      ];
    }),
    print,
  );
  const usage = result.report().usage;
  print('');
  print(`  result.report().usage → ${usage === undefined ? 'none recorded' : `${usage.inputTokens} in, ${usage.outputTokens} out`}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
