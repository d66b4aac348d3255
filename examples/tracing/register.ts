/**
 * Registers the OpenTelemetry SDK for the program that imports it first, and prints what it traced
 * as trees (`npm run demo:traced`, examples/tracing/seed.ts).
 *
 * It registers the real OpenTelemetry SDK as an application would at start-up (a tracer provider
 * with an in-memory exporter, the AsyncLocalStorage context manager); stbass finds it on its own.
 * For Jaeger or any OTLP collector, swap the exporter: README "Tracing".
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { renderSpanTrees } from './spanTree';

const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

/** Every trace so far as text, one tree per run. */
export function traces(): string {
  return renderSpanTrees(exporter.getFinishedSpans());
}

/** Prints every trace so far. */
export function printTraces(): void {
  process.stdout.write(`\n── Traces (${exporter.getFinishedSpans().length} spans) ──\n\n${traces()}\n`);
}
