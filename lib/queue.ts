export { QueueBackend, type QueueBackendOptions, queueNameOf } from './queue/QueueBackend';
export { startWorker, type WorkerOptions, type RunningWorker, type RejectedMessages } from './queue/worker';
export { RemoteProcessError } from './queue/RemoteProcessError';
export type { RedisConnection } from './queue/connection';
export type { JobPayload, JobOutcome } from './queue/payload';
