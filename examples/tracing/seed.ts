/**
 * `npm run demo` with tracing: the seed's three runs under the real OpenTelemetry SDK, each run's
 * span tree printed at the end (`npm run demo:traced`).
 */
import { printTraces } from './register';
import { main } from '../seed';

main()
  .then(printTraces)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
