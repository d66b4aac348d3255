import { execFile } from 'node:child_process';
import path from 'node:path';
import { caseCount } from './support/config';

// Runs spec/properties/leaks/heap-check.ts in a child `node --expose-gc --import tsx` (jest's own
// process has no `gc`, and its module registry and source-map support would blur the measure): 10,000
// groups in real time with HALT cancellations, deadlines (one process ignoring its signal), retries and
// unsubscriptions over shared capped backends. After GC the heap must not have grown by 5 MB, and no
// timer, signal listener, reachable context or held slot may be left, and a context its body kept
// past the run must not keep the run's results. `npm test` runs 1,000 groups:
// the heap measure is coarser then, the timer, listener and slot checks as strict.

interface LeakReport {
  groups: number;
  heapGrowthBytes: number;
  timersLeft: number;
  listenersLeft: number;
  watchedContexts: number;
  reachableContexts: number;
  keptContexts: number;
  keptResultsReachable: number;
  queuedOnFreshRun: number;
  elapsedMs: number;
}

const root = path.resolve(__dirname, '..', '..');

function runHeapCheck(groups: number): Promise<LeakReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', path.join('spec', 'properties', 'leaks', 'heap-check.ts'), String(groups)],
      { cwd: root, timeout: 170_000, maxBuffer: 1 << 20, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`heap check failed: ${error.message}\n${stderr}`));
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as LeakReport);
        } catch {
          reject(new Error(`heap check printed no report:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

const GROUPS = caseCount({ quick: 1_000, full: 10_000 });

test(`${GROUPS.toLocaleString('en')} groups with deadlines, HALT cancellations and retries leave no heap growth, timer, listener or slot behind`, async () => {
  const report = await runHeapCheck(GROUPS);
  console.log(`leak check: ${report.groups} groups in ${report.elapsedMs} ms, heap growth ${(report.heapGrowthBytes / 1024).toFixed(0)} KiB after GC`);
  expect(report.groups).toBe(GROUPS);
  expect(report.heapGrowthBytes).toBeLessThan(5 * 1024 * 1024);
  expect(report.timersLeft).toBe(0);
  expect(report.listenersLeft).toBe(0);
  // A sample of the contexts (one in 97) is watched: enough of them that "none reachable" means something.
  expect(report.watchedContexts).toBeGreaterThan(GROUPS / 100);
  expect(report.reachableContexts).toBe(0);
  expect(report.queuedOnFreshRun).toBe(0);
  // 200 contexts their bodies kept after their streamed runs ended: none keeps a result of its run.
  expect(report.keptContexts).toBe(200);
  expect(report.keptResultsReachable).toBe(0);
}, 180_000);
