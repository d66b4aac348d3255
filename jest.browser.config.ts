import type { Config } from 'jest';
import base from './jest.config';

// The browser suite (`npm run test:browser`): end-to-end tests of examples/live in headless Chromium.
// Its files end in .browser.ts, so the fast `npm test` never picks them up.
const config: Config = {
  ...base,
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.browser.ts'],
  testTimeout: 60_000,
};

export default config;
