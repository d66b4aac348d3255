import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The SDK's own pull reader: `collect()` reads the meters on demand (what a Prometheus exporter does). */
class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A registered OpenTelemetry SDK (tracer, meter, async context) whose spans and metrics stay in memory. */
export interface Otel {
  /** Every finished span so far. */
  spans(): ReadableSpan[];
  /** A metric's data points as the meters read now, by name. */
  points(name: string): Promise<DataPoint<number | Histogram>[]>;
  /** Forgets the spans finished so far. */
  reset(): void;
  shutdown(): Promise<void>;
}

/** Registers a real SDK globally, as an application does at start-up. */
export function registerOtel(): Otel {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    spans: () => exporter.getFinishedSpans(),
    points: async (name) => {
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((candidate) => candidate.descriptor.name === name);
      return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
    },
    reset: () => exporter.reset(),
    shutdown: async () => {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** A span and its children, by start time. */
export interface SpanNode {
  readonly span: ReadableSpan;
  readonly children: SpanNode[];
}

/** The finished spans as trees (roots first), each child under the span it was started in. */
export function spanForest(spans: readonly ReadableSpan[]): SpanNode[] {
  const nodes = new Map(spans.map((span) => [span.spanContext().spanId, { span, children: [] as SpanNode[] }]));
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanContext?.spanId;
    const owner = parent === undefined ? undefined : nodes.get(parent);
    (owner?.children ?? roots).push(node);
  }
  const byStart = (a: SpanNode, b: SpanNode): number => hrNumber(a.span.startTime) - hrNumber(b.span.startTime) || a.span.name.localeCompare(b.span.name);
  const sort = (list: SpanNode[]): SpanNode[] => list.sort(byStart).map((node) => ({ span: node.span, children: sort(node.children) }));
  return sort(roots);
}

function hrNumber([seconds, nanos]: readonly [number, number]): number {
  return seconds * 1e9 + nanos;
}

/** A tree as names only, `name(child, child)`, children sorted by name: the shape a test asserts. */
export function shape(node: SpanNode): string {
  if (node.children.length === 0) return node.span.name;
  return `${node.span.name}(${node.children.map(shape).sort().join(', ')})`;
}

/** The first span named `name`. */
export function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.find((span) => span.name === name);
  if (found === undefined) throw new Error(`no span "${name}" among: ${spans.map((span) => span.name).join(', ')}`);
  return found;
}
