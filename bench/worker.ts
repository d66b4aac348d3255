// A child process that runs one benchmark suite and writes its raw result as JSON:
//   node [flags] bench/worker.ts <suite> <out-file>   (config in STBASS_BENCH_CONFIG)
// Started by runWorker (harness.ts); exits 1 when the suite crashes or one of its checks fails.
import { writeFileSync } from 'node:fs';
import { type CapsConfig, measureCaps } from './caps';
import { type DeadlineConfig, measureDeadline } from './deadline';
import { CheckError } from './harness';
import { type MemoryConfig, measureMemory } from './memory';
import { type ScalingConfig, measureOverhead } from './overhead';
import { type RatesConfig, measureRates } from './rates';
import { measureStaggered } from './staggered-halt';

const suites: Record<string, (config: never) => Promise<unknown>> = {
  overhead: (config: ScalingConfig) => measureOverhead(config),
  'staggered-halt': (config: ScalingConfig) => measureStaggered(config),
  caps: (config: CapsConfig) => measureCaps(config),
  deadline: (config: DeadlineConfig) => measureDeadline(config),
  memory: (config: MemoryConfig) => measureMemory(config),
  rates: (config: RatesConfig) => measureRates(config),
};

// tsx turns source maps on, and then every Error whose stack is read is source-mapped (several
// µs each): the library's failures would cost what they never cost under plain node. Off here.
process.setSourceMapsEnabled(false);

async function main(): Promise<void> {
  const [suite = '', outFile = ''] = process.argv.slice(2);
  const measure = suites[suite];
  if (measure === undefined || outFile === '') throw new Error(`usage: worker.ts <${Object.keys(suites).join('|')}> <out-file>`);
  const config = JSON.parse(process.env.STBASS_BENCH_CONFIG ?? '{}') as never;
  const result = await measure(config);
  writeFileSync(outFile, JSON.stringify(result));
}

main().then(
  // Exit at once: a stray timer of a contender must not keep the worker (and the bench) alive.
  () => process.exit(0),
  (error: unknown) => {
    // V8 formats a stack on first read: with source maps back on, it points into the .ts files.
    process.setSourceMapsEnabled(true);
    const label = error instanceof CheckError ? 'check failed' : 'crashed';
    process.stderr.write(`\nbenchmark ${label}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
