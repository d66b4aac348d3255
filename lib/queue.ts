// Checks the optional peers (bullmq, ioredis) before the modules that import them load.
import './queue/peers';
export { QueueBackend, type QueueBackendOptions, queueNameOf } from './queue/QueueBackend';
export type { QueueRateLimit } from './queue/queueRateLimit';
export { startWorker, type WorkerOptions, type RunningWorker, type RejectedMessages } from './queue/worker';
export { RemoteProcessError } from './queue/RemoteProcessError';
export type { RedisConnection } from './queue/connection';
export type { JobPayload, JobOutcome } from './queue/payload';
