import fc from 'fast-check';
import { type CaseCounts, checkProperty } from './support/config';
import { runCase } from './support/harness';
import { type Invariant, checkInvariants } from './support/invariants';
import { type UnsubscribeModel, caseArb, deadlineArb, retryPolicyArb } from './support/model';
import { withoutStackTraces } from './support/stacks';

// The Reliability invariants of PLACED_PAR, each checked on 2,000 random groups (100 in `npm test`) in virtual time
// (0–50 pairs over 1–4 backends plus the default, random caps, health, behaviours, policy, deadline,
// unsubscription, and sometimes a second run sharing the backends). See support/model.ts for what is
// generated and support/invariants.ts for what is checked. A failure prints the seed and path:
// replay with STBASS_PROPERTY_SEED / STBASS_PROPERTY_PATH (support/config.ts).

/** Cases per property: 2,000 in the full suite (CI), a sample in `npm test`. */
const RUNS: CaseCounts = { quick: 100, full: 2_000 };
const TIMEOUT = 180_000;

withoutStackTraces();

function groupProperty(name: string, invariants: readonly Invariant[], arbitrary = caseArb()): void {
  test(
    name,
    () => {
      checkProperty(name, fc.property(arbitrary, (model) => checkInvariants(runCase(model), invariants)), RUNS);
    },
    TIMEOUT,
  );
}

const oftenUnsubscribed: fc.Arbitrary<UnsubscribeModel> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<UnsubscribeModel>({ kind: 'never' }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('at' as const), ms: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('onEvent' as const), n: fc.integer({ min: 1, max: 80 }) }) },
);

describe('PLACED_PAR on random groups, in virtual time', () => {
  groupProperty('1. one result per pair in declaration order; the run resolves and events$ completes without error', ['results', 'outcomes']);

  groupProperty('2. each failure carries its pair placement and backend name', ['failures']);

  groupProperty('3. no backend ever exceeds its concurrencyLimit, across concurrent runs', ['caps'], caseArb({ limit: fc.integer({ min: 1, max: 3 }), minRuns: 1, maxRuns: 2 }));

  groupProperty(
    '3b. no backend starts more than its rateLimit allows in any window, across concurrent runs; every pair still settles',
    ['rates', 'results', 'outcomes', 'caps'],
    caseArb({ rate: fc.record({ limit: fc.integer({ min: 1, max: 4 }), perMs: fc.integer({ min: 1, max: 30 }) }), maxRuns: 2 }),
  );

  groupProperty('4. under HALT nothing starts after the first non-optional failure and every unsettled process ends cancelled', ['halt'], caseArb({ policy: fc.constant({ kind: 'halt' as const }) }));

  groupProperty('5. every cancelled process saw its signal abort, and a finished run leaves nothing running', ['signals'], caseArb({ unsubscribe: oftenUnsubscribed }));

  groupProperty('6. with a deadline the result comes at the deadline or earlier', ['deadline'], caseArb({ deadline: deadlineArb }));

  groupProperty('7. per index events follow queued? started partial* (retrying started partial*)* settled, and done is last', ['events']);

  groupProperty(
    '8. retry never exceeds maxAttempts and never starts an attempt after the deadline',
    ['retry', 'deadline'],
    caseArb({ policy: retryPolicyArb(), deadline: fc.option(deadlineArb, { freq: 4, nil: undefined }) }),
  );
});
