// `npm run test:browser`: the end-to-end tests in headless Chromium (Debian's package, driven by
// playwright-core; a browser is never downloaded). Without /usr/bin/chromium the suite says so in
// one line and does not run, except under CI=true, where a missing browser fails the run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

const CHROMIUM = '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') {
    process.stderr.write(`browser suite: ${CHROMIUM} is missing, and under CI=true it must run: apt-get install -y chromium\n`);
    process.exit(1);
  }
  process.stdout.write(`browser suite did not run: no ${CHROMIUM} here (apt-get install -y chromium, then npm run test:browser)\n`);
  process.exit(0);
}

const jest = createRequire(import.meta.url).resolve('jest/bin/jest');
const result = spawnSync(process.execPath, [jest, '--config', 'jest.browser.config.ts', '--runInBand', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
