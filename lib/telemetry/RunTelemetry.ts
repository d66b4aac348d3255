import type { Observable } from 'rxjs';
import type { Backend } from '../backends/ExecutionBackend';
import type { DoneEvent } from '../par/events';
import type { RateDemand } from '../par/rateGate';
import type { BackendSlots, Lease, QueueReason } from '../par/slots';
import type { EngineEvent, PlacedTask } from '../par/task';

/**
 * What the engine asks of telemetry, in its own terms (no OpenTelemetry type here: the engine's
 * declarations must not need the optional peer). A run has one when OpenTelemetry is installed and
 * a tracer or meter provider is registered; without one the engine runs exactly as before.
 */
export interface RunTelemetry {
  /** Whether it reads the run's events (a retry's delay): the run then builds them all. */
  readonly verbose: boolean;
  /**
   * `withSlot` for one process: each attempt is timed from the moment it asks for a slot, runs as a
   * span (child of the run's), and its body is called with that span's context active.
   */
  withSlot<T>(
    task: PlacedTask<T>,
    backend: Backend,
    slots: BackendSlots,
    work: (lease: Lease) => Observable<EngineEvent<T>>,
    queued?: (reason: QueueReason) => EngineEvent<T> | undefined,
    demand?: RateDemand,
  ): Observable<EngineEvent<T>>;
  /** The run's events, recorded on the run's span (ended when they end). */
  run<E extends EngineEvent<unknown> | DoneEvent<unknown>>(events$: Observable<E>): Observable<E>;
}
