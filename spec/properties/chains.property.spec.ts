import fc from 'fast-check';
import { type CaseCounts, checkProperty } from './support/config';
import { type ChainCaseModel, type ChainTrace, chainCaseArb, checkCaps, checkChainOrder, checkLosersCancelled, checkOneSuccess, checkSettlesOnce, runChainCase } from './support/chains';
import { withoutStackTraces } from './support/stacks';

// The invariants of fallback chains and hedges, each on 1,000 random groups (100 in `npm test`) in
// virtual time: 1–12 pairs with chains of 1–3 placements over 1–3 capped FakeBackends (health up,
// down or late), random hedges and timeouts, stream-break policies, behaviours per placement (success, retryable
// or permanent error, partials, hang), policy, deadline and health cache. See support/chains.ts.

const RUNS: CaseCounts = { quick: 100, full: 1_000 };
const TIMEOUT = 180_000;

withoutStackTraces();

function chainProperty(name: string, invariant: (trace: ChainTrace) => void): void {
  test(
    name,
    () => {
      checkProperty(name, fc.property(chainCaseArb, (model) => invariant(runChainCase(model))), RUNS);
    },
    TIMEOUT,
  );
}

describe('PLACED_PAR with random fallback chains and hedges, in virtual time', () => {
  chainProperty('1. every pair settles once, and the run completes', checkSettlesOnce);

  chainProperty('2. never two successful results for one pair; an ok pair holds its winning call’s value', checkOneSuccess);

  chainProperty('3. the loser of a hedge is always cancelled, and nothing of a pair runs past its settlement', checkLosersCancelled);

  chainProperty('4. every backend’s cap holds at every instant, hedges counted on their own backends', checkCaps);

  chainProperty('5. a chain moves on in order, one placement per fallback, each recorded on the entry', checkChainOrder);
});

// Cases the properties found, shrunk: each once more with every invariant.
const FOUND: readonly [string, ChainCaseModel][] = [
  [
    'a timeout frees the slot its own hedge waits for: the hedge settles the pair inside the cut, and the timed-out placement is not recorded after it',
    {
      backends: [{ limit: 1, health: 'up' }],
      pairs: [{ chain: [0, 0], behaviours: [{ kind: 'ok', delay: 1, partials: 1 }, { kind: 'ok', delay: 0, partials: 1 }], hedgeMs: 1, timeoutMs: 1, onStreamBreak: 'restart', optional: true }],
      policy: { kind: 'collect' },
      deadlineMs: undefined,
      healthCheckIntervalMs: undefined,
    },
  ],
  [
    'a timeout frees a slot under HALT while another pair waits for it',
    {
      backends: [{ limit: 1, health: 'up' }],
      pairs: [
        { chain: [0, 0], behaviours: [{ kind: 'error', delay: 1, partials: 0 }], hedgeMs: undefined, timeoutMs: 1, onStreamBreak: 'restart', optional: true },
        { chain: [0], behaviours: [{ kind: 'error', delay: 0, partials: 1 }, { kind: 'ok', delay: 0, partials: 0 }], hedgeMs: undefined, timeoutMs: undefined, onStreamBreak: 'restart', optional: false },
      ],
      policy: { kind: 'halt' },
      deadlineMs: undefined,
      healthCheckIntervalMs: undefined,
    },
  ],
];

describe('fallback chains: cases the properties found', () => {
  test.each(FOUND)('%s', (_name, model) => {
    const trace = runChainCase(model);
    for (const invariant of [checkSettlesOnce, checkOneSuccess, checkLosersCancelled, checkCaps, checkChainOrder]) invariant(trace);
  });
});
