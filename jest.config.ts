/**
 * Jest loads this file with ts-node, transpiled only: its type check costs about 3 s of CPU at every
 * jest start (`npm run typecheck` checks the file).
 * @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}}
 */
import type { Config } from 'jest';

// Every suite: `npx jest <path>` runs whatever the path names, and `npm run test:full` (CI) runs all
// of them with the property tests at their full case counts (`STBASS_PROPERTY_RUNS=full`).
// `npm test` uses jest.quick.config.ts: the same less the slow suites below, property tests at their
// quick counts, so that it stays fast on a busy laptop.

/**
 * The slow suites (path regular expressions): the packed-package test (`spec/package/`), files named
 * `*.slow.spec.ts` (the 100,000-process stress test, long fault tests) and `*.browser.spec.ts` (a
 * real browser), and the queue fault tests, which start and kill worker processes and restart Redis.
 * A new slow suite only needs its name: `something.slow.spec.ts`.
 */
export const SLOW = ['/spec/package/', '\\.slow\\.spec\\.ts$', '\\.browser\\.spec\\.ts$', '/spec/queue/faults\\.spec\\.ts$'];

const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/spec', '<rootDir>/examples'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  testTimeout: 30_000,
  // The packed-package suites need the package built, packed and installed first: `npm run
  // test:package` (jest.package.config.ts) runs them with that set-up.
  testPathIgnorePatterns: ['/node_modules/', '/spec/package/'],
  // Most suites spend their time waiting (real timers, child processes, redis-server, the model API
  // fixture) rather than computing: one worker per core, where jest's default leaves a core idle.
  maxWorkers: '100%',
};

export default config;
