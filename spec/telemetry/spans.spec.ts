import { trace } from '@opentelemetry/api';
import { from, lastValueFrom, toArray } from 'rxjs';
import { BackendRegistry, FailurePolicy, PAR, PLACED_PAR, Placement, Process, ProcessResult, mapPlaced } from '../../lib';
import { FakeBackend } from '../../lib/testing';
import { sleep } from '../support/helpers';
import { type Otel, registerOtel, shape, spanForest, spanNamed } from './support';

let otel: Otel;
beforeAll(() => {
  otel = registerOtel();
});
afterEach(() => otel.reset());
afterAll(() => otel.shutdown());

describe('a run traced by a registered OpenTelemetry SDK', () => {
  test('HALT: the run span holds an attempt span per process; the failure is an error, the rest cancelled', async () => {
    const patient = (name: string) =>
      Process(name, async (ctx) => {
        await sleep(10_000, ctx.signal);
        return ProcessResult.ok(name);
      });
    const failing = Process('classifier', async () => {
      await sleep(5);
      throw new TypeError('rate limited');
    });
    const secret = new Placement({ model: 'opus', endpoint: 'local', config: { apiKey: 'sk-live-123', temperature: 0.7 } });
    const result = await PLACED_PAR([patient('reasoner'), secret], failing, patient('embedder'), { deadline: 60 }).run();
    expect(result.isOk).toBe(false);
    const [root, ...others] = spanForest(otel.spans());
    expect(others).toEqual([]);
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt classifier, attempt embedder, attempt reasoner)');
    const run = spanNamed(otel.spans(), 'run PLACED_PAR');
    expect(run.attributes).toMatchObject({ 'stbass.run.name': 'PLACED_PAR', 'stbass.run.policy': 'halt', 'stbass.run.processes': 3, 'stbass.run.ok': 0, 'stbass.run.failed': 1, 'stbass.run.cancelled': 2 });
    expect(run.attributes['stbass.run.deadline']).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
    expect(run.status).toMatchObject({ code: 2, message: 'classifier: TypeError' });
    const classifier = spanNamed(otel.spans(), 'attempt classifier');
    expect(classifier.attributes).toMatchObject({ 'stbass.process.name': 'classifier', 'stbass.backend': 'local', 'stbass.attempt': 1, 'stbass.outcome': 'failed', 'error.type': 'TypeError' });
    expect(classifier.status.code).toBe(2);
    const reasoner = spanNamed(otel.spans(), 'attempt reasoner');
    expect(reasoner.attributes).toMatchObject({
      'stbass.outcome': 'cancelled',
      'error.type': 'CancelledError',
      'stbass.placement.model': 'opus',
      'stbass.placement.endpoint': 'local',
      'stbass.placement.config_keys': ['apiKey', 'temperature'],
    });
    expect(reasoner.status.code).toBe(0);
    // Config values never leave the process: not in any attribute, name or status of any span.
    const everything = JSON.stringify(otel.spans().map((span) => [span.name, span.attributes, span.status, span.events]));
    expect(everything).not.toContain('sk-live-123');
    expect(everything).not.toContain('0.7');
    expect(everything).not.toContain('rate limited');
  });

  test('the span active when run() is called is the parent; a span inside a process nests under its attempt', async () => {
    const tracer = trace.getTracer('app');
    const fetching = Process('fetcher', async () => {
      await sleep(1);
      await tracer.startActiveSpan('GET /news', async (span) => {
        await sleep(1);
        span.end();
      });
      return ProcessResult.ok('news');
    });
    const other = Process('other', () => ProcessResult.ok(1));
    await tracer.startActiveSpan('request', async (span) => {
      await PLACED_PAR(fetching, other).run();
      span.end();
    });
    const [root, ...others] = spanForest(otel.spans());
    expect(others).toEqual([]);
    expect(root && shape(root)).toBe('request(run PLACED_PAR(attempt fetcher(GET /news), attempt other))');
  });

  test('a retry: one attempt span per attempt, the failed one with the retry delay, then the success', async () => {
    let calls = 0;
    const flaky = Process('flaky', () => {
      calls += 1;
      if (calls < 3) throw new RangeError('try again');
      return ProcessResult.ok('third time');
    });
    const result = await PLACED_PAR(flaky, { onFailure: FailurePolicy.retry({ maxAttempts: 3, baseDelay: 0.002 }) }).run();
    expect(result.isOk).toBe(true);
    const [root] = spanForest(otel.spans());
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt flaky, attempt flaky, attempt flaky)');
    const attempts = root?.children.map((child) => child.span.attributes) ?? [];
    expect(attempts).toEqual([
      expect.objectContaining({ 'stbass.attempt': 1, 'stbass.outcome': 'failed', 'error.type': 'RangeError', 'stbass.retry.delay': expect.any(Number) }),
      expect.objectContaining({ 'stbass.attempt': 2, 'stbass.outcome': 'failed', 'error.type': 'RangeError', 'stbass.retry.delay': expect.any(Number) }),
      expect.objectContaining({ 'stbass.attempt': 3, 'stbass.outcome': 'ok' }),
    ]);
    expect(attempts[2]).not.toHaveProperty('stbass.retry.delay');
    expect(attempts[2]).not.toHaveProperty('error.type');
    expect(root?.span.attributes).toMatchObject({ 'stbass.run.policy': 'retry', 'stbass.run.ok': 1, 'stbass.run.failed': 0 });
    expect(root?.span.status.code).toBe(0);
  });

  test('a deadline miss: the running attempt ends as a deadline miss; a process still waiting for a slot has no attempt span', async () => {
    const backend = new FakeBackend({ name: 'capped', concurrencyLimit: 1 });
    const registry = new BackendRegistry().register('capped', backend);
    const on = new Placement({ endpoint: 'capped' });
    const slow = Process('slow', async (ctx) => {
      await sleep(10_000, ctx.signal);
      return ProcessResult.ok('late');
    });
    const result = await PLACED_PAR([slow, on], [slow.withName('behind'), on], { registry, deadline: 0.05, onFailure: FailurePolicy.COLLECT }).run();
    expect(result.failures.map((failure) => failure.error.name)).toEqual(['DeadlineExceededError', 'DeadlineExceededError']);
    const [root] = spanForest(otel.spans());
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt slow)');
    expect(spanNamed(otel.spans(), 'attempt slow').attributes).toMatchObject({ 'stbass.backend': 'capped', 'stbass.outcome': 'deadline', 'error.type': 'DeadlineExceededError' });
    expect(spanNamed(otel.spans(), 'attempt slow').status.code).toBe(2);
    expect(root?.span.attributes).toMatchObject({ 'stbass.run.policy': 'collect', 'stbass.run.processes': 2, 'stbass.run.deadline_missed': 2 });
  });

  test('a nested group: its run span is a child of the attempt that runs it', async () => {
    const leaf = (name: string) => Process(name, async () => {
      await sleep(1);
      return ProcessResult.ok(name);
    });
    const research = PAR(leaf('search'), leaf('read')).withName('research');
    const result = await PLACED_PAR(research, leaf('write')).run();
    expect(result.isOk).toBe(true);
    const [root, ...others] = spanForest(otel.spans());
    expect(others).toEqual([]);
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt research(run research(attempt read, attempt search)), attempt write)');
    expect(spanNamed(otel.spans(), 'run research').attributes).toMatchObject({ 'stbass.run.name': 'research', 'stbass.run.ok': 2 });
  });

  test('mapPlaced: one run span for the stream, an attempt span per item', async () => {
    const double = Process('double', (ctx) => ProcessResult.ok(Number(ctx.input) * 2));
    const results = await lastValueFrom(from([1, 2, 3]).pipe(mapPlaced((n) => double.withInput(n)), toArray()));
    expect(results.map((result) => result.value)).toEqual([2, 4, 6]);
    const [root] = spanForest(otel.spans());
    expect(root && shape(root)).toBe('run mapPlaced(attempt double, attempt double, attempt double)');
    expect(root?.span.attributes).toMatchObject({ 'stbass.run.ok': 3 });
  });

  test('telemetry: false records nothing for that group', async () => {
    const quiet = Process('quiet', () => ProcessResult.ok(1));
    await PLACED_PAR(quiet, { telemetry: false }).run();
    expect(otel.spans()).toEqual([]);
  });

  test('a fallback chain: an attempt span per placement tried, each on its own backend', async () => {
    const registry = new BackendRegistry()
      .register('down', new FakeBackend({ name: 'down', script: { answer: { error: new Error('503') } } }))
      .register('up', new FakeBackend({ name: 'up' }));
    const answer = Process('answer', () => ProcessResult.ok('42'));
    const result = await PLACED_PAR([answer, [new Placement({ endpoint: 'down' }), new Placement({ endpoint: 'up' })]], { registry }).run();
    expect(result.isOk).toBe(true);
    const [root] = spanForest(otel.spans());
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt answer, attempt answer)');
    // Both attempts often start in the same millisecond (the spans' start is the run's clock), so
    // their order in the forest is not theirs: the pairs are compared by backend.
    const attempts = root?.children.map((child) => [String(child.span.attributes['stbass.backend']), child.span.attributes['stbass.outcome']]);
    expect(attempts?.sort(([a], [b]) => String(a).localeCompare(String(b)))).toEqual([
      ['down', 'failed'],
      ['up', 'ok'],
    ]);
    expect(root?.span.attributes).toMatchObject({ 'stbass.run.ok': 1, 'stbass.run.failed': 0 });
  });
});

