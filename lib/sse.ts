// The `stbass/sse` subpath: a run's events on the wire as Server-Sent Events, and back in the browser.
export { toServerSentEvents, SERVER_SENT_EVENTS_HEADERS, type ServerSentEventsOptions } from './sse/toServerSentEvents';
export { sendServerSentEvents, type ServerResponseLike } from './sse/sendServerSentEvents';
export { fromServerSentEvents, type EventSourceLike, type FromServerSentEventsOptions } from './sse/fromServerSentEvents';
export { toWireEvent } from './sse/toWireEvent';
export type {
  WireEvent,
  WirePlacement,
  WireResult,
  WireEntry,
  WirePARResult,
  WireQueuedEvent,
  WireStartedEvent,
  WirePartialEvent,
  WirePausedEvent,
  WireRetryingEvent,
  WireFallbackEvent,
  WireRestartedEvent,
  WirePlacementAttempt,
  WireSettledEvent,
  WireDoneEvent,
  WireSerializationFailedEvent,
} from './sse/wire';
