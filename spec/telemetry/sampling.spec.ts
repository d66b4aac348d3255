import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PLACED_PAR, Process, ProcessResult } from '../../lib';
import { sleep } from '../support/helpers';

test('a run its sampler drops records nothing, and the spans its processes make are dropped with it', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  try {
    const recorded: boolean[] = [];
    const fetching = Process('fetcher', async () => {
      await sleep(1);
      trace.getTracer('app').startActiveSpan('GET /news', (span) => {
        recorded.push(span.isRecording());
        span.end();
      });
      return ProcessResult.ok('news');
    });
    const result = await PLACED_PAR(fetching).run();
    expect(result.isOk).toBe(true);
    expect(recorded).toEqual([false]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  } finally {
    await provider.shutdown();
    trace.disable();
    context.disable();
  }
});
