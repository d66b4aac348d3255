import fc from 'fast-check';
import { type CaseCounts, checkAsyncProperty } from './support/config';
import { runCaseInRealTime } from './support/harness';
import { checkInvariants } from './support/invariants';
import { type RunModel, type UnsubscribeModel, caseArb, deadlineArb } from './support/model';
import { withoutStackTraces } from './support/stacks';

// The same invariants as groups.property.spec.ts, in real time with promise-based processes and
// backends: true rejections, `async execute`, promised health checks, real timers. Smaller groups and
// fewer cases (each takes real milliseconds); every run has a deadline so that every case ends.
// Nothing here allows a number of milliseconds of lateness: "by the deadline" is measured against a
// control timer set for the deadline in the same run (see checkDeadline), so a busy machine makes the
// cases slower, never red.

const RUNS: CaseCounts = { quick: 30, full: 150 };

const unsubscribe: fc.Arbitrary<UnsubscribeModel> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<UnsubscribeModel>({ kind: 'never' }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('at' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('onEvent' as const), n: fc.integer({ min: 1, max: 30 }) }) },
);

const run: fc.Arbitrary<RunModel> = fc.oneof(
  fc.record({ at: fc.constant(0), front: fc.constant('events' as const), unsubscribe }),
  fc.record({ at: fc.constant(0), front: fc.constant('result' as const), unsubscribe }),
  fc.record({ at: fc.constant(0), front: fc.constant('run' as const), unsubscribe: fc.constant<UnsubscribeModel>({ kind: 'never' }) }),
);

withoutStackTraces();

test('PLACED_PAR in real time with promise-based processes and backends keeps every invariant', async () => {
  await checkAsyncProperty(
    'real time',
    fc.asyncProperty(caseArb({ maxPairs: 10, deadline: deadlineArb.map((deadline) => ({ ...deadline, ms: 5 + (deadline.ms % 35) })), run }), async (model) => {
      checkInvariants(await runCaseInRealTime(model));
    }),
    RUNS,
  );
}, 120_000);
