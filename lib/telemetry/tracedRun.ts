import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { Observable, type Observer, defer } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import { DeadlineExceededError } from '../errors';
import type { DoneEvent } from '../par/events';
import type { RateDemand } from '../par/rateGate';
import type { BackendSlots, Lease, QueueReason } from '../par/slots';
import { type EngineEvent, type PlacedTask, backendName } from '../par/task';
import { withSlot } from '../par/withSlot';
import type { FailurePolicy } from '../policy/FailurePolicy';
import { type Outcome, errorType, outcomeOf, outcomeOfError, placementAttributes } from './attributes';
import { type Instruments, countTokens, instrumentsOf } from './instruments';
import { type OtelApi, activeTracer, otelApi } from './otel';
import type { RunTelemetry } from './RunTelemetry';

/** What a run's span says about it. */
export interface RunDescription {
  /** The group's name (`PLACED_PAR`, `PAR`, a `withName`), or `mapPlaced`. */
  readonly name: string;
  readonly policy: FailurePolicy;
  readonly deadline: Date | undefined;
}

/**
 * The telemetry of a run starting now, or `undefined` when there is none to record: `enabled` is
 * false, `@opentelemetry/api` is not installed, or neither a tracer nor a meter provider is
 * registered. The run's span is a child of the span active now (the caller of `run()`, or the
 * attempt of the outer group when this group is nested).
 */
export function runTelemetry(description: RunDescription, enabled: boolean): RunTelemetry | undefined {
  if (!enabled) return undefined;
  const otel = otelApi();
  if (otel === undefined) return undefined;
  const tracer = activeTracer(otel);
  const instruments = instrumentsOf(otel);
  if (tracer === undefined && instruments === undefined) return undefined;
  return new TracedRun(otel, tracer, instruments, description);
}

/** An attempt in progress, for the `retrying` event that follows its failure. */
interface LiveAttempt {
  readonly span: Span | undefined;
  readonly backend: string;
}

class TracedRun implements RunTelemetry {
  readonly verbose: boolean;
  readonly #otel: OtelApi;
  /** Set only while the run's span records: a run sampled out (or on a no-op provider) makes no attempt spans. */
  readonly #tracer: Tracer | undefined;
  readonly #instruments: Instruments | undefined;
  readonly #span: Span | undefined;
  /** The run's context: its span's, or the caller's when only metrics are recorded. */
  readonly #context: Context;
  /** Attempts running now, by task index. */
  readonly #live = new Map<number, LiveAttempt>();
  readonly #counts: Record<Outcome, number> = { ok: 0, failed: 0, cancelled: 0, deadline: 0 };
  #ended = false;

  constructor(otel: OtelApi, tracer: Tracer | undefined, instruments: Instruments | undefined, { name, policy, deadline }: RunDescription) {
    this.#otel = otel;
    this.#instruments = instruments;
    const parent = otel.context.active();
    const attributes: Attributes = { 'stbass.run.name': name, 'stbass.run.policy': policy.kind };
    if (deadline !== undefined) attributes['stbass.run.deadline'] = deadline.toISOString();
    this.#span = tracer?.startSpan(`run ${name}`, { attributes }, parent);
    // The attempts' spans would not be recorded either (a sampler follows the parent's decision):
    // the run's context, which carries that decision, is all its processes need.
    this.#tracer = this.#span?.isRecording() === true ? tracer : undefined;
    this.#context = this.#span === undefined ? parent : otel.trace.setSpan(parent, this.#span);
    this.verbose = this.#tracer !== undefined || instruments !== undefined;
  }

  withSlot<T>(
    task: PlacedTask<T>,
    backend: Backend,
    slots: BackendSlots,
    work: (lease: Lease) => Observable<EngineEvent<T>>,
    queued?: (reason: QueueReason) => EngineEvent<T> | undefined,
    demand?: RateDemand,
  ): Observable<EngineEvent<T>> {
    if (!this.verbose) return withSlot(slots, work, queued, demand);
    return defer(() => {
      const askedAt = task.settings.now();
      return withSlot(slots, (lease) => this.#attempt(task, backend, askedAt, work(lease)), queued, demand);
    });
  }

  /** One attempt as a span: started when it gets its slot, ended when it settles or is cut. */
  #attempt<T>(task: PlacedTask<T>, backend: Backend, askedAt: number, attempt$: Observable<EngineEvent<T>>): Observable<EngineEvent<T>> {
    return new Observable<EngineEvent<T>>((subscriber) => {
      const attempt = task.attempts + 1;
      const metric = { 'stbass.backend': backend.name };
      const waited = (task.settings.now() - askedAt) / 1000;
      const instruments = this.#instruments;
      if (instruments !== undefined) {
        instruments.slotWait.record(waited, metric);
        instruments.inFlight.add(1, metric);
        if (attempt === 1) instruments.started.add(1, metric);
      }
      const span = this.#tracer?.startSpan(
        `attempt ${task.process.name}`,
        {
          attributes: {
            'stbass.process.name': task.process.name,
            'stbass.process.index': task.index,
            'stbass.backend': backend.name,
            'stbass.attempt': attempt,
            'stbass.slot.wait': waited,
            ...placementAttributes(task.placement),
          },
        },
        this.#context,
      );
      const live: LiveAttempt = { span, backend: backend.name };
      this.#live.set(task.index, live);
      let ended = false;
      const end = (outcome: Outcome, error: unknown): void => {
        if (ended) return;
        ended = true;
        if (this.#live.get(task.index) === live) this.#live.delete(task.index);
        // The usage of this attempt, if it started at all (an attempt that found the deadline past never does).
        const usage = task.attempts >= attempt ? task.context?.usage : undefined;
        if (instruments !== undefined) {
          instruments.inFlight.add(-1, metric);
          if (usage !== undefined) countTokens(instruments, backend.name, usage);
        }
        if (span === undefined) return;
        span.setAttribute('stbass.outcome', outcome);
        if (usage !== undefined) span.setAttributes({ 'gen_ai.usage.input_tokens': usage.inputTokens, 'gen_ai.usage.output_tokens': usage.outputTokens });
        if (outcome !== 'ok') this.#failed(span, outcome, error);
        span.end();
      };
      const observer: Observer<EngineEvent<T>> = {
        next(event) {
          subscriber.next(event);
          // Ended after the settlement went on, so that a `retrying` event it led to is on this span.
          if (event.type === 'settled') {
            const failure = event.result.failureOrUndefined;
            end(outcomeOf(event.result), failure?.error);
          }
        },
        error(error: unknown) {
          subscriber.error(error);
        },
        complete() {
          subscriber.complete();
        },
      };
      // The body is called inside the attempt's context: its own spans (a fetch, a model call, a
      // nested group) are children of this attempt.
      const subscription = span === undefined ? attempt$.subscribe(observer) : this.#otel.context.with(this.#otel.trace.setSpan(this.#context, span), () => attempt$.subscribe(observer));
      return () => {
        subscription.unsubscribe();
        // Cut before it settled: by HALT, a deadline or the consumer leaving.
        const reason = task.cutReason;
        end(reason === undefined ? 'cancelled' : outcomeOfError(reason), reason);
      };
    });
  }

  run<E extends EngineEvent<unknown> | DoneEvent<unknown>>(events$: Observable<E>): Observable<E> {
    return new Observable<E>((subscriber) => {
      const subscription = this.#otel.context.with(this.#context, () =>
        events$.subscribe({
          next: (event) => {
            this.#observe(event);
            subscriber.next(event);
          },
          error: (error: unknown) => {
            this.#end(error);
            subscriber.error(error);
          },
          complete: () => {
            this.#end(undefined);
            subscriber.complete();
          },
        }),
      );
      return () => {
        subscription.unsubscribe();
        this.#end(undefined);
      };
    });
  }

  #observe(event: EngineEvent<unknown> | DoneEvent<unknown>): void {
    if (event.type === 'retrying') {
      const live = this.#live.get(event.index);
      live?.span?.setAttribute('stbass.retry.delay', event.delay);
      this.#instruments?.retries.add(1, { 'stbass.backend': live?.backend ?? 'none' });
    } else if (event.type === 'settled') {
      const failure = event.result.failureOrUndefined;
      const outcome = outcomeOf(event.result);
      this.#counts[outcome] += 1;
      const backend = backendName(event.task) ?? 'none';
      this.#instruments?.settled.add(1, { 'stbass.backend': backend, 'stbass.outcome': outcome });
      if (failure?.error instanceof DeadlineExceededError) this.#instruments?.deadlineMisses.add(1, { 'stbass.backend': backend, 'stbass.deadline.phase': failure.error.phase });
    } else if (event.type === 'done' && !event.result.isOk && this.#span !== undefined) {
      const failure = event.result.failures.find((candidate) => candidate.error.name !== 'CancelledError') ?? event.result.failures[0];
      this.#span.setStatus({ code: this.#otel.SpanStatusCode.ERROR, message: failure === undefined ? undefined : `${failure.processName}: ${errorType(failure.error)}` });
    }
  }

  /** Ends the run's span with its counts; `error` when the stream errored (a `mapPlaced` halted). */
  #end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const span = this.#span;
    if (span === undefined) return;
    const counts = this.#counts;
    span.setAttributes({
      'stbass.run.processes': counts.ok + counts.failed + counts.cancelled + counts.deadline,
      'stbass.run.ok': counts.ok,
      'stbass.run.failed': counts.failed,
      'stbass.run.cancelled': counts.cancelled,
      'stbass.run.deadline_missed': counts.deadline,
    });
    if (error !== undefined) this.#failed(span, 'failed', error);
    span.end();
  }

  /** Marks a span failed: its outcome, the error's class, never its message (it may quote an input). */
  #failed(span: Span, outcome: Outcome, error: unknown): void {
    if (error !== undefined) span.setAttribute('error.type', errorType(error));
    // A process cut because another failed (HALT) or the consumer left did not fail itself.
    if (outcome !== 'cancelled') span.setStatus({ code: this.#otel.SpanStatusCode.ERROR, message: errorType(error) });
  }
}
