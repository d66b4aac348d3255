import type * as Otel from '@opentelemetry/api';

/** The OpenTelemetry API, as this package uses it. */
export type OtelApi = typeof Otel;

/** `undefined`: not looked for yet; `null`: looked for, and not installed (or not loadable here). */
let api: OtelApi | null | undefined;

/**
 * The optional peer `@opentelemetry/api`, looked for once, on the first run that could be traced.
 * Without it nothing else of OpenTelemetry is ever loaded and every later call costs one comparison.
 * Any failure to load it counts as absent: a browser bundle has no `require`, and telemetry is
 * never a reason for a run to fail.
 */
export function otelApi(): OtelApi | undefined {
  if (api === undefined) {
    try {
      // A plain require (not createRequire), so a test runner's module registry sees the API too.
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded on first use
      api = require('@opentelemetry/api') as OtelApi;
    } catch {
      api = null;
    }
  }
  return api ?? undefined;
}

/** Uses `module` as the API from now on (see `useOpenTelemetry`). */
export function setOtelApi(module: OtelApi): void {
  api = module;
}

/** The tracer of this package when a tracer provider is registered, else `undefined`: no span is worth making. */
export function activeTracer(otel: OtelApi): Otel.Tracer | undefined {
  const provider = otel.trace.getTracerProvider();
  // The API hands out its proxy until an SDK registers a provider; a proxy without a delegate traces nothing.
  if (provider instanceof otel.ProxyTracerProvider) return provider.getDelegateTracer(SCOPE, VERSION);
  return provider.getTracer(SCOPE, VERSION);
}

/** The meter of this package when a meter provider is registered, else `undefined`. */
export function activeMeter(otel: OtelApi): Otel.Meter | undefined {
  const meter = otel.metrics.getMeter(SCOPE, VERSION);
  return meter === otel.createNoopMeter() ? undefined : meter;
}

/** The instrumentation scope every span and instrument of this package is made under. */
export const SCOPE = 'stbass';
const VERSION = '0.1.0';
