import { UsageError } from '../errors';
import { type OtelApi, setOtelApi } from './otel';

const EXPECTED = 'the @opentelemetry/api module (import * as api from "@opentelemetry/api")';

/** Whether `candidate` has what this package calls on the API. */
function isOtelApi(candidate: unknown): candidate is OtelApi {
  const api = candidate as Partial<Record<keyof OtelApi, unknown>> | null;
  const has = (part: unknown, method: string): boolean => typeof (part as Record<string, unknown> | null | undefined)?.[method] === 'function';
  return (
    typeof api === 'object' &&
    api !== null &&
    has(api.trace, 'getTracerProvider') &&
    has(api.context, 'with') &&
    has(api.metrics, 'getMeter') &&
    has(api.propagation, 'inject') &&
    typeof api.ProxyTracerProvider === 'function' &&
    typeof api.createNoopMeter === 'function'
  );
}

/**
 * Hands stbass the OpenTelemetry API where it cannot load it itself. In Node (the CommonJS build,
 * which `import` and `require` of `stbass` both reach) it finds an installed `@opentelemetry/api`
 * on its own; an ES-module bundle for a browser or an edge runtime has no `require`, and there
 * runs are traced only once the API is handed over. Call it once, before the first run.
 *
 * @example
 * ```ts
 * import * as otel from '@opentelemetry/api';
 * import { useOpenTelemetry } from 'stbass';
 * useOpenTelemetry(otel);
 * ```
 */
export function useOpenTelemetry(api: object): void {
  if (!isOtelApi(api)) throw new UsageError('useOpenTelemetry(api)', EXPECTED, api);
  setOtelApi(api);
}
