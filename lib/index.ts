export { Placement, type PlacementFields, type JsonValue } from './placement/Placement';
export { PlacementChain } from './placement/PlacementChain';
export { BackendRegistry, defaultRegistry, type BackendRegistryOptions } from './placement/BackendRegistry';
export { Process, ProcessBase, isProcess, type ProcessDefinition, type ProcessFactory, type ProcessOutput, type RunFunction, type Schema } from './process/Process';
export { ProcessContext, type ProcessContextFields } from './process/ProcessContext';
export { ProcessResult } from './process/ProcessResult';
export type { TokenUsage } from './process/usage';
export { Failure, type FailureFields, type FailureJSON } from './process/Failure';
export { ExecutionBackend, type Backend, type HealthAnswer } from './backends/ExecutionBackend';
export type { RateLimit } from './backends/rateLimit';
export { LocalBackend, type LocalBackendOptions } from './backends/LocalBackend';
export { FailurePolicy, RetryPolicy, type Backoff, type RetryOptions } from './policy/FailurePolicy';
export { PLACED_PAR, PAR, PlacedPar, type PlacedPair, type ChainedPair, type PlacedItem, type ValueOfItem, type ValuesOfItems, type ValuesOfGroup, type KeyedItems } from './par/PlacedPar';
export type { ChainOptions, Placements } from './par/chainSpec';
export type { PlacedParOptions, RunOptions } from './par/options';
export {
  PARResult,
  type PAREntry,
  type PARReport,
  type PlacementAttempt,
  type ResultsOf,
  type PositionOf,
  type ValueAt,
  type KeyOf,
  type ValueOfKey,
  type ValuesByKey,
} from './par/PARResult';
export type {
  ParEvent,
  QueuedEvent,
  StartedEvent,
  PartialEvent,
  PausedEvent,
  RetryingEvent,
  FallbackEvent,
  FallbackReason,
  RestartedEvent,
  SettledEvent,
  DoneEvent,
  ProcessEventBase,
} from './par/events';
export {
  UsageError,
  DeadlineExceededError,
  CancelledError,
  BackendUnavailableError,
  InvalidResultError,
  PlacementTimeoutError,
  ItemFailedError,
  ValidationError,
  type DeadlinePhase,
  type CancelReason,
  type ValidationIssue,
} from './errors';
export { mapPlaced, type MapPlacedOptions } from './rx/mapPlaced';
export { useOpenTelemetry } from './telemetry/useOpenTelemetry';
