// A worker of the distributed example: consumes the BullMQ queue "embeddings" on the Redis at
// $REDIS_URL. Run it on any machine that reaches that Redis:
//   REDIS_URL=redis://host:6379 npx tsx examples/distributed/worker.ts
// (the published package's CLI does the same: npx stbass worker --queue embeddings --processes ./agents.js)
import { startWorker } from '../../lib/queue';
import { processes } from './agents';

void startWorker({ connection: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', queue: 'embeddings', processes, concurrency: 2 }).then((worker) => {
  process.stdout.write(`worker pid ${process.pid} ready on queue "embeddings"\n`);
  const stop = (): void => void worker.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
