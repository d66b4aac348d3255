// The `stbass/testing` subpath: helpers for testing orchestrations, in virtual time where possible.
export {
  FakeBackend,
  type FakeBackendOptions,
  type FakeBehaviour,
  type FakeCall,
  type FakeCallInfo,
  type FakeCallStatus,
  type FakeScript,
} from './testing/FakeBackend';
export { processFromMarbles, MarbleProcess, type MarbleProcessOptions, type MarbleSubscription } from './testing/processFromMarbles';
export { eventsToMarbles, toMarbles, type EventsToMarblesOptions, type MarbleDiagram, type MarbleRenderOptions, type TimedEvent } from './testing/eventsToMarbles';
export { eventCode } from './testing/eventCode';
