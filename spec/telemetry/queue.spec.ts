import { trace } from '@opentelemetry/api';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BackendRegistry, FailurePolicy, PLACED_PAR, Placement, Process, ProcessResult } from '../../lib';
import { QueueBackend, type RunningWorker, startWorker } from '../../lib/queue';
import { TestRedis, describeWithRedis } from '../queue/support/redis';
import { sleep } from '../support/helpers';
import { type Otel, registerOtel, shape, spanForest, spanNamed } from './support';

jest.setTimeout(60_000);

describeWithRedis('a queue job traced across a real worker on a real redis-server', () => {
  let otel: Otel;
  let redis: TestRedis;
  let worker: RunningWorker;
  let backend: QueueBackend;
  let registry: BackendRegistry;
  const on = new Placement({ model: 'nomic', endpoint: 'queue:traced', config: { token: 'secret-token-42' } });
  const tracer = trace.getTracer('worker-app');
  // The worker's process makes a span of its own, as a fetch instrumentation would.
  const embed = Process('embed', async () => {
    await tracer.startActiveSpan('GET /embeddings', async (span) => {
      await sleep(1);
      span.end();
    });
    return ProcessResult.ok([0.1, 0.2]);
  });
  const broken = Process('broken', () => {
    throw new TypeError('no model');
  });

  beforeAll(async () => {
    otel = registerOtel();
    redis = await TestRedis.start();
    worker = await startWorker({ connection: redis.url, queue: 'traced', processes: [embed, broken] });
    backend = new QueueBackend({ connection: redis.url });
    registry = new BackendRegistry().register('queue', backend);
  });

  afterAll(async () => {
    await backend.close();
    await worker.close(true);
    await redis.dispose();
    await otel.shutdown();
  });

  afterEach(() => otel.reset());

  test("the worker's span joins the caller's trace through the job, and the process's own span nests under it", async () => {
    const result = await PLACED_PAR([embed, on], { registry }).run();
    expect(result.isOk).toBe(true);
    const spans = otel.spans();
    const [root, ...others] = spanForest(spans);
    expect(others).toEqual([]);
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt embed(send traced(process traced(GET /embeddings))))');
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    const send = spanNamed(spans, 'send traced');
    const jobId = send.attributes['messaging.message.id'];
    expect(send.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.destination.name': 'traced', 'stbass.process.name': 'embed' });
    expect(send.kind).toBe(3); // PRODUCER
    const processed = spanNamed(spans, 'process traced');
    expect(processed.kind).toBe(4); // CONSUMER
    expect(processed.attributes).toMatchObject({ 'messaging.message.id': jobId });
    // Its parent came from the job, not from this process's async context: a remote span context.
    expect(processed.parentSpanContext).toMatchObject({ spanId: send.spanContext().spanId, isRemote: true });
    // The context really travelled in the job: the payload in Redis carries the hop's traceparent.
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue('traced', { connection: client });
    const job = await queue.getJob(String(jobId));
    await queue.close();
    await client.quit();
    const { traceId, spanId } = send.spanContext();
    expect(job?.data).toMatchObject({ trace: { traceparent: `00-${traceId}-${spanId}-01` } });
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain('secret-token-42');
    expect(spanNamed(spans, 'attempt embed').attributes).toMatchObject({ 'stbass.placement.config_keys': ['token'], 'stbass.backend': 'queue' });
  });

  test('a job that fails on the worker marks the hop, the worker span and the attempt with its error class', async () => {
    const result = await PLACED_PAR([broken, on], { registry, onFailure: FailurePolicy.COLLECT }).run();
    expect(result.failures[0]?.error.name).toBe('TypeError');
    const spans = otel.spans();
    const [root] = spanForest(spans);
    expect(root && shape(root)).toBe('run PLACED_PAR(attempt broken(send traced(process traced)))');
    for (const name of ['attempt broken', 'send traced', 'process traced']) {
      expect(spanNamed(spans, name).attributes['error.type']).toBe('TypeError');
      expect(spanNamed(spans, name).status.code).toBe(2);
    }
  });
});
