/**
 * Fallback chains and a hedge: the seed's agents, each with somewhere else to go.
 *
 *   reasoner    opus  ─▶ haiku           opus's stream breaks after two tokens: `restarted`, then haiku
 *   classifier  haiku                    one placement: the plain path
 *   embedder    local:8080 ─▶ queue      the local server fails its health check: the queue takes it
 *   summarizer  opus@eu ─▶ opus          hedged after 100 ms: the EU region is slow, the hedge wins
 *
 * Every backend is a `FakeBackend` from `stbass/testing` (no server, no API key): `anthropic-sim`
 * answers by model, `anthropic-eu-sim` is slow, `local-sim` is down, `queue-sim` stands for the
 * BullMQ workers of `stbass/queue`. The run prints its events as they happen, then for each entry
 * the placements it tried. About a quarter of a second. Run it with `npm run demo:fallbacks`.
 */
import { lastValueFrom, tap } from 'rxjs';
// In your project: from 'stbass' and 'stbass/testing'.
import { BackendRegistry, FailurePolicy, type PARResult, type ParEvent, PLACED_PAR, Placement, Process, ProcessResult } from '../lib';
import { FakeBackend } from '../lib/testing';
import { type Print, StreamingTable, printTable } from './support/table';

const OPUS = 'claude-opus-4-5-20250414';
const HAIKU = 'claude-haiku-4-5-20250414';

const opus = new Placement({ model: OPUS, endpoint: 'anthropic' });
const haiku = new Placement({ model: HAIKU, endpoint: 'anthropic' });
const opusEu = new Placement({ model: OPUS, endpoint: 'anthropic-eu' });
const local = new Placement({ model: 'nomic', endpoint: 'local:8080' });
const queued = new Placement({ model: 'nomic', endpoint: 'queue:embeddings' });

/** A model API that streams: opus breaks off after two tokens (a retryable stream error), haiku answers. */
const anthropic = new FakeBackend({
  name: 'anthropic-sim',
  concurrencyLimit: 4,
  script: (call) => {
    if (call.name === 'classifier') return { result: 'label: billing', delay: 0.03 };
    if (call.name === 'summarizer') return { result: 'Duplicate proration; refunded.', delay: 0.04 };
    if (call.placement.model === OPUS) return { partials: ['Refund', ' the'], error: Object.assign(new Error('stream cut after 2 tokens'), { name: 'StreamError' }), delay: 0.06 };
    return { partials: ['Refund', ' the', ' duplicate', ' charge.'], result: 'Refund the duplicate charge.', delay: 0.08 };
  },
});
/** The same model in another region, far slower today. */
const anthropicEu = new FakeBackend({ name: 'anthropic-eu-sim', defaultBehaviour: { result: 'late answer', delay: 2 } });
/** The local embedding server: its health check says no, so it is never given the process. */
const localServer = new FakeBackend({ name: 'local-sim', healthy: false });
/** Stands for `new QueueBackend({ queue: 'embeddings' })`: remote workers behind Redis. */
const queue = new FakeBackend({ name: 'queue-sim', defaultBehaviour: { result: [0.12, -0.48, 0.33, 0.07], delay: 0.05 } });

const registry = new BackendRegistry()
  .register('anthropic', anthropic)
  .register('anthropic-eu', anthropicEu)
  .register('local', localServer)
  .register('queue', queue);

const agent = (name: string) => Process(name, () => ProcessResult.ok(`${name} ran in-process`));

/** The group: three chains and one plain pair. */
export function fallbackGroup() {
  return PLACED_PAR(
    [agent('reasoner'), opus.orElse(haiku)], // onStreamBreak: 'restart' (the default)
    [agent('classifier'), haiku],
    [agent('embedder'), [local, queued]],
    [agent('summarizer'), [opusEu, opus], { hedge: { after: 0.1 } }],
    { registry, onFailure: FailurePolicy.COLLECT, deadline: 5 },
  );
}

function describeEvent(event: ParEvent): string {
  switch (event.type) {
    case 'started':
    case 'queued':
      return `${event.backend} (${event.placement.summary})`;
    case 'partial':
      return JSON.stringify(event.value);
    case 'fallback':
      return `${event.reason}${event.failure === undefined ? '' : ` (${event.failure.error.name})`}: ${event.from.summary} → ${event.to.summary}`;
    case 'restarted':
      return 'the partials so far are void: clear them';
    case 'settled':
      return event.result.isOk ? JSON.stringify(event.result.value) : event.result.failure.summary;
    default:
      return '';
  }
}

/** Runs the group, printing its events as they happen and then what each entry tried. */
export async function main(print: Print = console.log): Promise<PARResult> {
  print('Fallback chains and a hedge (npm run demo:fallbacks)');
  print('');
  const started = Date.now();
  const table = new StreamingTable(
    [
      { header: 'ms', align: 'right', width: 5 },
      { header: 'process', width: 11 },
      { header: 'event', width: 10 },
      { header: 'detail', width: 140 },
    ],
    print,
  );
  table.printHeader();
  let result: PARResult | undefined;
  await lastValueFrom(
    fallbackGroup().events$.pipe(
      tap((event) => {
        if (event.type === 'done') result = event.result;
        else table.printRow([String(Date.now() - started), event.name, event.type, describeEvent(event)]);
      }),
    ),
  );
  if (result === undefined) throw new Error('the run ended without its result');
  print('');
  print('What each entry tried (entry.placements):');
  printTable(
    [{ header: 'process' }, { header: 'placement' }, { header: 'backend' }, { header: 'outcome' }, { header: 'hedge' }, { header: 'why' }],
    result.entries.flatMap((entry) =>
      (entry.placements ?? [{ placement: entry.placement, backend: entry.backend, outcome: entry.result.isOk ? 'ok' : 'failed', hedge: false, failure: entry.result.failureOrUndefined }]).map((tried) => [
        entry.name,
        tried.placement.summary,
        tried.backend ?? '?',
        tried.outcome,
        tried.hedge ? 'yes' : '',
        tried.failure?.summary ?? '',
      ]),
    ),
    print,
  );
  print('');
  print(`cancelled on anthropic-eu-sim (the hedge's loser): ${JSON.stringify(anthropicEu.cancelled)}`);
  print(`given to local-sim: ${JSON.stringify(localServer.names)}; to queue-sim: ${JSON.stringify(queue.names)}`);
  print(`result.value → ${JSON.stringify(result.value)}`);
  return result;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
