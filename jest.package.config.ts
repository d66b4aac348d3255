import type { Config } from 'jest';
import base from './jest.config';

/**
 * `npm run test:package`: the suites in spec/package, which build, pack and install the package
 * into a consumer project once (globalSetup) and then use it as users do. They take minutes, so
 * `npm test` and `npm run test:full` leave them out (jest.config.ts) and CI runs them through this
 * config.
 */
const config: Config = {
  ...base,
  roots: ['<rootDir>/spec/package'],
  // Set here, not inherited: should jest.config.ts come to ignore spec/package, this config still runs it.
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/spec/package/globalSetup.ts',
  globalTeardown: '<rootDir>/spec/package/globalTeardown.ts',
  testTimeout: 180_000,
  // Each suite starts compilers, bundlers or a browser of its own: one at a time on a small machine.
  maxWorkers: 1,
};

export default config;
