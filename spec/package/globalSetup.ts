/**
 * Builds the package, packs it, and installs the tarball into a fresh consumer project with the
 * peers a user installs (`npm install stbass rxjs`, plus bullmq and ioredis for `stbass/queue`),
 * once for all the package suites. globalTeardown.ts removes it all.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKED_VARIABLE, type Packed, lockedVersion, root, run } from './support';

export default async function globalSetup(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'stbass-pack-'));
  const consumer = join(tmp, 'consumer');
  mkdirSync(consumer);

  await run('npm', ['run', 'build'], root);
  const report = JSON.parse(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root)) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const [tarball] = report;
  if (!tarball) throw new Error('npm pack reported no tarball');

  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'stbass-consumer', version: '0.0.0', private: true }, null, 2));
  const peers = ['rxjs', 'bullmq', 'ioredis', '@types/node'].map((name) => `${name}@${lockedVersion(name)}`);
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, tarball.filename), ...peers], consumer);

  const packed: Packed = { tmp, tarball: join(tmp, tarball.filename), files: tarball.files.map((file) => file.path), consumer };
  process.env[PACKED_VARIABLE] = JSON.stringify(packed);
}
