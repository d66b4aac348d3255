import type { Config } from 'jest';

// Two projects, so that `npm test` stays fast on a busy laptop and the deep suites still run in CI:
//
// - `quick` (`npm test`, i.e. `jest --selectProjects quick`): every spec, property tests at their
//   quick case counts;
// - `slow`: the suites that take minutes or need a service of their own — the packed-package test
//   (`spec/package/`), files named `*.slow.spec.ts` (the 100,000-process stress test, long fault
//   tests) and `*.browser.spec.ts` (a real browser).
//
// `npm run test:full` (CI) runs both, with the property tests at their full counts
// (`STBASS_PROPERTY_RUNS=full`). A path picks its project by itself: `npx jest spec/package` runs the
// packed-package test. A new slow suite only needs its name: `something.slow.spec.ts`.

/** Paths (regular expressions) of the slow suites. */
const SLOW = ['/spec/package/', '\\.slow\\.spec\\.ts$', '\\.browser\\.spec\\.ts$'];

const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/spec', '<rootDir>/examples'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
} satisfies Config;

const config: Config = {
  testTimeout: 30_000,
  projects: [
    {
      ...shared,
      displayName: 'quick',
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...SLOW],
    },
    {
      ...shared,
      displayName: 'slow',
      testRegex: SLOW.map((pattern) => (pattern.endsWith('$') ? pattern : `${pattern}.*\\.spec\\.ts$`)),
    },
  ],
};

export default config;
