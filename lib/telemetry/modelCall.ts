import type { Span } from '@opentelemetry/api';
import { Observable, defer, lastValueFrom, tap } from 'rxjs';
import type { TokenUsage } from '../process/usage';
import { errorType } from './attributes';
import { activeTracer, otelApi } from './otel';

/** What names a model request in its span. */
export interface ModelCallFacts {
  /** The GenAI operation: `chat` (generate, stream) or `embeddings`. */
  readonly operation: 'chat' | 'embeddings';
  /** The model asked for: `gen_ai.request.model`. */
  readonly model: string;
  /** The API spoken: `gen_ai.provider.name` (`anthropic`, `openai-compatible`, `ai-sdk`...). */
  readonly provider: string;
  /** The backend's name. */
  readonly backend: string;
}

/** One model request as a span, with the GenAI semantic conventions' attribute names. */
export interface ModelCall {
  /** Adds tokens the server reported to the span's `gen_ai.usage.*`. */
  usage(usage: TokenUsage): void;
  /** `request$` as the span: started when subscribed (its context active), ended when it ends, fails or is cancelled. */
  traced<T>(request$: Observable<T>): Observable<T>;
  /** The same for a request that is a promise, whose answer may say the tokens it took. */
  tracedPromise<T>(request: () => Promise<T>, usageOf: (answer: T) => TokenUsage | undefined): Promise<T>;
}

/**
 * The span of one model request, as a child of the span active when it starts (the attempt of the
 * process that asks), or `undefined` when nothing is traced. The prompt, the messages, the answer
 * and the request's config values are never recorded.
 */
export function modelCall(facts: ModelCallFacts): ModelCall | undefined {
  const otel = otelApi();
  const tracer = otel === undefined ? undefined : activeTracer(otel);
  if (otel === undefined || tracer === undefined) return undefined;
  let inputTokens = 0;
  let outputTokens = 0;
  let counted = false;
  const call: ModelCall = {
    usage: (usage) => {
      counted = true;
      inputTokens += usage.inputTokens;
      outputTokens += usage.outputTokens;
    },
    traced: <T>(request$: Observable<T>) =>
      new Observable<T>((subscriber) => {
        const span: Span = tracer.startSpan(`${facts.operation} ${facts.model}`, {
          kind: otel.SpanKind.CLIENT,
          attributes: {
            'gen_ai.operation.name': facts.operation,
            'gen_ai.request.model': facts.model,
            'gen_ai.provider.name': facts.provider,
            'gen_ai.system': facts.provider,
            'stbass.backend': facts.backend,
          },
        });
        let ended = false;
        const end = (error: unknown, cancelled = false): void => {
          if (ended) return;
          ended = true;
          if (counted) span.setAttributes({ 'gen_ai.usage.input_tokens': inputTokens, 'gen_ai.usage.output_tokens': outputTokens });
          if (cancelled) span.setAttribute('stbass.outcome', 'cancelled');
          else if (error !== undefined) {
            span.setAttribute('error.type', errorType(error));
            span.setStatus({ code: otel.SpanStatusCode.ERROR, message: errorType(error) });
          }
          span.end();
        };
        const subscription = otel.context.with(otel.trace.setSpan(otel.context.active(), span), () =>
          request$.subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => {
              end(error);
              subscriber.error(error);
            },
            complete: () => {
              end(undefined);
              subscriber.complete();
            },
          }),
        );
        return () => {
          subscription.unsubscribe();
          end(undefined, true);
        };
      }),
    tracedPromise: (request, usageOf) =>
      lastValueFrom(
        call.traced(
          defer(request).pipe(
            tap((answer) => {
              const usage = usageOf(answer);
              if (usage !== undefined) call.usage(usage);
            }),
          ),
        ),
      ),
  };
  return call;
}
