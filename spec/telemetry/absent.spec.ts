import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as otel from '@opentelemetry/api';
import { PLACED_PAR, Process, ProcessResult, UsageError, useOpenTelemetry } from '../../lib';
import { registerOtel, shape, spanForest } from './support';

const tsx = require.resolve('tsx/cjs');

describe('without @opentelemetry/api installed', () => {
  test('runs work as before and no OpenTelemetry module is ever loaded', () => {
    const fixtures = join(__dirname, 'fixtures');
    const output = execFileSync(process.execPath, ['-r', tsx, '-r', join(fixtures, 'withoutOtel.ts'), join(fixtures, 'runWithoutOtel.ts')], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(output)).toEqual({ first: [true, false], attempts: 2, second: true, loaded: [] });
  });
});

describe('useOpenTelemetry(api)', () => {
  test('takes the API module, as an ES-module bundle without require hands it over', async () => {
    useOpenTelemetry(otel);
    const sdk = registerOtel();
    try {
      await PLACED_PAR(Process('handed', () => ProcessResult.ok(1))).run();
      const [root] = spanForest(sdk.spans());
      expect(root && shape(root)).toBe('run PLACED_PAR(attempt handed)');
    } finally {
      await sdk.shutdown();
    }
  });

  test('anything else is a UsageError naming what it expected', () => {
    expect(() => useOpenTelemetry({ trace: {} })).toThrow(UsageError);
    expect(() => useOpenTelemetry({ trace: {} })).toThrow('useOpenTelemetry(api): expected the @opentelemetry/api module');
  });
});
