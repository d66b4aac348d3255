import { lastValueFrom, take, tap, toArray } from 'rxjs';
import { CancelledError, DeadlineExceededError, FailurePolicy, LocalBackend, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { modelOf } from '../../lib/models';
import { ModelApiServer } from '../fixtures/modelApiServer';
import { PROVIDERS, firstPartial, placementOn, registryWith } from '../fixtures/modelProviders';

const REPLY = 'Refund the duplicate proration charge today.';

// ctx.signal reaches every SDK request: whatever cancels a process — HALT, the deadline,
// unsubscription — closes its HTTP connection, and the server sees it closed.
describe.each(PROVIDERS)('$label closes the connection of a cancelled process', (provider) => {
  let server: ModelApiServer;

  beforeAll(async () => {
    server = await ModelApiServer.start({ replies: { writer: REPLY } });
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const writer = Process('writer', async (ctx) => ProcessResult.ok(await modelOf(ctx).generate('My invoice doubled')));

  test('HALT: a sibling fails and the streaming request is closed mid-stream', async () => {
    server.script('writer', { kind: 'stall', afterTokens: 2 });
    let pieceArrived: () => void = () => undefined;
    const firstPiece = new Promise<void>((resolve) => (pieceArrived = resolve));
    const streamer = Process('writer', async (ctx) => ProcessResult.ok((await lastValueFrom(modelOf(ctx).stream('Go').pipe(tap(() => pieceArrived()), toArray()))).join('')));
    const failing = Process('failing', async () => {
      await firstPiece;
      throw new Error('the classifier gave up');
    });
    const registry = registryWith(provider, provider.backend(server)).register('in-process', new LocalBackend());
    const result = await PLACED_PAR([streamer, placementOn(provider, 'writer')], [failing, new Placement({ endpoint: 'in-process' })], { registry }).run();

    const [streamed, failed] = result.results;
    expect(failed?.failure.error.message).toBe('the classifier gave up');
    expect(streamed?.failure.error).toBeInstanceOf(CancelledError);
    expect((streamed?.failure.error as CancelledError).haltedBy).toBe('failing');
    const [request] = server.requests;
    await request?.finished;
    expect(request?.tokensSent).toBe(2);
    expect(request?.closedEarly).toBe(true);
    // Tokens the server reported before the cancellation still count: Anthropic reports them as the stream opens, OpenAI at its end.
    expect(result.entries[0]?.usage).toEqual(provider.api === 'anthropic' ? { inputTokens: 1, outputTokens: 1 } : undefined);
  });

  test('the deadline closes a stream that stalled', async () => {
    server.script('writer', { kind: 'stall', afterTokens: 1 });
    const started = performance.now();
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)), deadline: 0.3 }).run();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.failures[0]?.error).toBeInstanceOf(DeadlineExceededError);
    expect((result.failures[0]?.error as DeadlineExceededError).phase).toBe('running');
    // The text that arrived before the deadline is the failure's checkpoint.
    expect(result.failures[0]?.checkpoint).toEqual({ partialText: 'Refund' });
    const [request] = server.requests;
    await request?.finished;
    expect(request?.closedEarly).toBe(true);
    expect(request?.tokensSent).toBe(1);
  });

  test('the deadline closes a request still waiting for its response headers', async () => {
    server.script('writer', { kind: 'hang' });
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)), deadline: 0.2 }).run();
    expect(result.failures[0]?.error).toBeInstanceOf(DeadlineExceededError);
    const [request] = server.requests;
    await request?.finished;
    expect(request?.closedEarly).toBe(true);
    expect(request?.status).toBeUndefined();
  });

  test('unsubscribing from events$ after the first token closes the connection', async () => {
    server.script('writer', { kind: 'stall', afterTokens: 1 });
    const group = PLACED_PAR([writer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(server)) });
    await expect(firstPartial(group.events$)).resolves.toBe('Refund'); // firstValueFrom unsubscribes on the first partial
    const [request] = server.requests;
    await request?.finished;
    expect(request?.closedEarly).toBe(true);
  });

  test('a process that stops reading its stream() early closes the connection, and keeps what it took', async () => {
    const slow = await ModelApiServer.start({ replies: { writer: REPLY }, tokenDelayMs: 30 });
    try {
      const skimmer = Process('skimmer', async (ctx) => ProcessResult.ok((await lastValueFrom(modelOf(ctx).stream('Go').pipe(take(2), toArray()))).join('')));
      const result = await PLACED_PAR([skimmer, placementOn(provider, 'writer')], { registry: registryWith(provider, provider.backend(slow)) }).run();
      expect(result.value).toEqual(['Refund the']);
      const [request] = slow.requests;
      await request?.finished;
      expect(request?.closedEarly).toBe(true);
      expect(request?.tokensSent).toBeLessThan(6);
    } finally {
      await slow.close();
    }
  });

  test('a cancelled process is not retried, and a request never starts for a process cancelled before it ran', async () => {
    server.script('writer', { kind: 'stall', afterTokens: 0 });
    const backend = provider.backend(server, { concurrencyLimit: 1 });
    const second = writer.withName('second');
    const result = await PLACED_PAR([writer, placementOn(provider, 'writer')], [second, placementOn(provider, 'writer')], {
      registry: registryWith(provider, backend),
      deadline: 0.3,
      onFailure: FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0.01 }),
    }).run();
    expect(result.failures.map((failure) => (failure.error as DeadlineExceededError).phase)).toEqual(['running', 'waiting']);
    expect(server.requests).toHaveLength(1);
    await server.requests[0]?.finished;
    expect(server.requests[0]?.closedEarly).toBe(true);
  });
});
