import type { Context, Span } from '@opentelemetry/api';
import type { ProcessResult } from '../process/ProcessResult';
import { errorType } from './attributes';
import { type OtelApi, activeTracer, otelApi } from './otel';

/** A trace context as it travels in a job: W3C `traceparent` (and `tracestate`), and whatever the registered propagator adds. */
export type TraceCarrier = Record<string, string>;

/** The caller's side of one job: its span, and the context the job carries to the worker. */
export interface QueueHop {
  readonly carrier: TraceCarrier;
  /** The job settled with `result`. */
  settled(result: ProcessResult<unknown>): void;
  /** The caller stopped waiting (HALT, the deadline, unsubscription). */
  cancelled(): void;
}

/** What names a job in its spans. */
export interface JobFacts {
  readonly queue: string;
  readonly jobId: string;
  readonly processName: string;
}

function jobAttributes({ queue, jobId, processName }: JobFacts): Record<string, string> {
  return { 'messaging.system': 'bullmq', 'messaging.destination.name': queue, 'messaging.message.id': jobId, 'stbass.process.name': processName };
}

/**
 * Starts the span of a job sent to a queue (a child of the attempt that sends it), or `undefined`
 * when nothing is traced. Its context is written into the carrier whatever propagator is
 * registered, as W3C `traceparent`: the worker's span joins the caller's trace without either side
 * configuring propagation.
 */
export function queueHop(job: JobFacts): QueueHop | undefined {
  const otel = otelApi();
  const tracer = otel === undefined ? undefined : activeTracer(otel);
  if (otel === undefined || tracer === undefined) return undefined;
  const span = tracer.startSpan(`send ${job.queue}`, { kind: otel.SpanKind.PRODUCER, attributes: jobAttributes(job) });
  const carrier: TraceCarrier = {};
  const spanContext = otel.trace.setSpan(otel.context.active(), span);
  otel.propagation.inject(spanContext, carrier);
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  carrier['traceparent'] ??= `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
  const state = traceState?.serialize();
  if (state !== undefined && state !== '') carrier['tracestate'] ??= state;
  let ended = false;
  const end = (error: unknown): void => {
    if (ended) return;
    ended = true;
    if (error !== undefined) {
      span.setAttribute('error.type', errorType(error));
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorType(error) });
    }
    span.end();
  };
  return {
    carrier,
    settled: (result) => end(result.failureOrUndefined?.error),
    cancelled: () => {
      span.setAttribute('stbass.outcome', 'cancelled');
      end(undefined);
    },
  };
}

/**
 * Runs a job's process on the worker under a span that continues the caller's trace (read from the
 * job's carrier), so that the process's own spans nest under it; without tracing, just runs it.
 */
export async function traceJob<T>(carrier: TraceCarrier | undefined, job: JobFacts, run: () => Promise<ProcessResult<T>>): Promise<ProcessResult<T>> {
  const otel = otelApi();
  const tracer = otel === undefined ? undefined : activeTracer(otel);
  if (otel === undefined || tracer === undefined) return run();
  const parent = carrier === undefined ? otel.context.active() : extract(otel, carrier);
  const span: Span = tracer.startSpan(`process ${job.queue}`, { kind: otel.SpanKind.CONSUMER, attributes: jobAttributes(job) }, parent);
  try {
    const result = await otel.context.with(otel.trace.setSpan(parent, span), run);
    const error = result.failureOrUndefined?.error;
    if (error !== undefined) {
      span.setAttribute('error.type', errorType(error));
      span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorType(error) });
    }
    return result;
  } catch (error) {
    span.setAttribute('error.type', errorType(error));
    span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorType(error) });
    throw error;
  } finally {
    span.end();
  }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The caller's context from a carrier: by the registered propagator, else from its `traceparent`. */
function extract(otel: OtelApi, carrier: TraceCarrier): Context {
  const root = otel.context.active();
  const propagated = otel.propagation.extract(root, carrier);
  if (otel.trace.getSpanContext(propagated) !== undefined) return propagated;
  const match = TRACEPARENT.exec(carrier['traceparent'] ?? '');
  if (match === null) return root;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  const state = carrier['tracestate'];
  return otel.trace.setSpanContext(root, {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    isRemote: true,
    ...(state === undefined ? {} : { traceState: otel.createTraceState(state) }),
  });
}
