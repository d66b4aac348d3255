/**
 * `npm test`: every suite but the slow ones (see jest.config.ts), property tests at their quick counts.
 * @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}}
 */
import type { Config } from 'jest';
import config, { SLOW } from './jest.config';

const quick: Config = { ...config, testPathIgnorePatterns: ['/node_modules/', ...SLOW] };

export default quick;
