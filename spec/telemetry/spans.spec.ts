import { trace } from '@opentelemetry/api';
import { FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
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
});
