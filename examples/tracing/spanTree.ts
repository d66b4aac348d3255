import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The attributes worth a glance, in this order, when present. */
const SHOWN = [
  'stbass.run.policy',
  'stbass.backend',
  'stbass.placement.model',
  'stbass.attempt',
  'stbass.outcome',
  'error.type',
  'stbass.retry.delay',
  'gen_ai.request.model',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'stbass.run.ok',
  'stbass.run.failed',
  'stbass.run.cancelled',
  'stbass.run.deadline_missed',
  'messaging.message.id',
];

const STATUS = ['', '', ' ERROR'];

function startOf(span: ReadableSpan): number {
  return span.startTime[0] * 1e3 + span.startTime[1] / 1e6;
}

function line(span: ReadableSpan, origin: number): string {
  const duration = span.duration[0] * 1e3 + span.duration[1] / 1e6;
  const shown = SHOWN.filter((key) => span.attributes[key] !== undefined).map((key) => `${key.replace(/^stbass\./, '')}=${String(span.attributes[key])}`);
  return `${span.name}  [+${(startOf(span) - origin).toFixed(0)} ms, ${duration.toFixed(0)} ms${STATUS[span.status.code] ?? ''}]  ${shown.join(' ')}`;
}

/**
 * Finished spans as indented trees, one per trace, children by start time.
 *
 * @example
 * ```ts
 * console.log(renderSpanTrees(exporter.getFinishedSpans()));
 * ```
 */
export function renderSpanTrees(spans: readonly ReadableSpan[]): string {
  const ids = new Set(spans.map((span) => span.spanContext().spanId));
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (span: ReadableSpan, prefix: string, last: boolean, origin: number, root: boolean): void => {
    lines.push(root ? line(span, origin) : `${prefix}${last ? '└─ ' : '├─ '}${line(span, origin)}`);
    const below = [...(children.get(span.spanContext().spanId) ?? [])].sort((a, b) => startOf(a) - startOf(b));
    below.forEach((child, index) => walk(child, root ? '' : `${prefix}${last ? '   ' : '│  '}`, index === below.length - 1, origin, false));
  };
  for (const root of [...(children.get(undefined) ?? [])].sort((a, b) => startOf(a) - startOf(b))) {
    walk(root, '', true, startOf(root), true);
    lines.push('');
  }
  return lines.join('\n');
}
