import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** Something a suite needs from the machine that `npm ci` does not install. */
export interface Service {
  /** What it is, as the one line names it: `redis-server`. */
  readonly name: string;
  /** Whether it is here. */
  readonly available: () => boolean;
  /** How to get it: `apt-get install redis-server`. */
  readonly install: string;
}

/** A real redis-server, which the queue suites start on ports of their own. */
export const REDIS_SERVER: Service = {
  name: 'redis-server',
  available: () => spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0,
  install: 'apt-get install redis-server',
};

/** Where the browser suites find Chromium (Debian's; never a downloaded browser). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Debian's Chromium, which the browser suites drive with playwright-core. */
export const CHROMIUM: Service = {
  name: `chromium (${CHROMIUM_PATH})`,
  available: () => {
    try {
      accessSync(CHROMIUM_PATH, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  install: 'apt-get install chromium',
};

/** Whether this is a CI run (`CI=true`, as `.ci/run` and CI services set it): there nothing is skipped. */
export function inCI(): boolean {
  const value = process.env['CI'];
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * `describe(name, body)` for a suite that needs `services`. Under `CI=true` it always runs, and a
 * missing service fails it. Elsewhere, when one is missing, its tests are skipped (jest counts them
 * as skipped, never as passed) and one line on stderr says what the suite needs and how to get it.
 *
 * @example
 * ```ts
 * describeWith([REDIS_SERVER], 'QueueBackend on a real redis-server', () => {
 *   test('runs a process on a worker', async () => { ... });
 * });
 * ```
 */
export function describeWith(services: readonly Service[], name: string, body: () => void): void {
  const missing = inCI() ? [] : services.filter((service) => !service.available());
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  // One plain line (console.warn would add jest's stack trace under it).
  const needs = missing.map((service) => `${service.name} (${service.install})`).join(' and ');
  process.stderr.write(`skipped "${name}": needs ${needs}; CI=true runs it and fails without it\n`);
  describe.skip(name, body);
}
