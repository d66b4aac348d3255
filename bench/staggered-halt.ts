// Benchmark 3, HALT under staggered completion: process i finishes after i microtask hops (one
// shared chain of promises, so the work itself is linear) and the process in the middle fails, so
// HALT cancels the second half. Every settlement is its own step: any per-settlement cost that
// grows with N (a scan of the group, a copy of a list) shows as growth above 10 from 10k to 100k.
import { from } from 'rxjs';
import { type Case, check } from './harness';
import { type ScalingConfig, type ScalingResult, type ScalingRow, type Variant, items, scalingRows, scalingRun } from './overhead';
import { stbass } from './target';
import type { PARResult } from '../lib/index';

export const STAGGER_FLOOR = 'Promise.all (rejects at the failure)';

/** hops[i] resolves after i microtask hops: one chain, built inside the timed part of every case alike. */
function chain(n: number): Promise<void>[] {
  const hops = new Array<Promise<void>>(n);
  let hop = Promise.resolve();
  for (let i = 0; i < n; i += 1) {
    hops[i] = hop;
    hop = hop.then(() => undefined);
  }
  return hops;
}

const failAt = (n: number): number => n >> 1;

class Boom extends Error {
  override readonly name = 'Boom';
}

interface StreamOutcome {
  readonly emitted: number;
  readonly error: unknown;
}

export function staggeredCases(): Case[] {
  const s = stbass();
  const registry = new s.BackendRegistry({ default: new s.LocalBackend() });
  const placement = new s.Placement({});
  const body = (hops: Promise<void>[], i: number, middle: number) =>
    (hops[i] as Promise<void>).then(() => {
      if (i === middle) throw new Boom(`process ${i} fails`);
      return s.ProcessResult.ok(i);
    });
  return [
    {
      name: STAGGER_FLOOR,
      role: 'floor',
      run: (n) => {
        const hops = chain(n);
        const middle = failAt(n);
        return Promise.all(
          items(n).map((i) =>
            (hops[i] as Promise<void>).then(() => {
              if (i === middle) throw new Boom(`process ${i} fails`);
              return i;
            }),
          ),
        ).then(
          () => undefined,
          (error: unknown) => error,
        );
      },
      check: (out) => check(out instanceof Boom, `expected the failure, got ${String(out)}`),
    } satisfies Case<unknown>,
    {
      name: 'PLACED_PAR HALT',
      role: 'stbass',
      run: (n) => {
        const hops = chain(n);
        const middle = failAt(n);
        return s.PLACED_PAR(...items(n).map((i) => [s.Process('p', () => body(hops, i, middle)), placement] as const), { registry }).run();
      },
      check: (result, n) => {
        const middle = failAt(n);
        check(result.results.length === n, `expected ${n} results, got ${result.results.length}`);
        check(result.successes.length === middle, `expected ${middle} successes before the failure, got ${result.successes.length}`);
        const cancelled = result.failures.filter((failure) => failure.error instanceof s.CancelledError).length;
        check(cancelled === n - middle - 1, `expected ${n - middle - 1} cancelled processes, got ${cancelled}`);
        check(result.results[middle]?.isFail === true && result.results[middle].failure.error instanceof Boom, 'the middle process should carry its own error');
      },
    } satisfies Case<PARResult<number>>,
    {
      name: 'mapPlaced HALT',
      role: 'stbass',
      run: (n) => {
        const hops = chain(n);
        const middle = failAt(n);
        return new Promise<StreamOutcome>((resolve) => {
          let emitted = 0;
          from(items(n))
            .pipe(s.mapPlaced((i: number) => [s.Process('p', () => body(hops, i, middle)), placement] as const, { registry }))
            .subscribe({
              next: () => (emitted += 1),
              error: (error: unknown) => resolve({ emitted, error }),
              complete: () => resolve({ emitted, error: undefined }),
            });
        });
      },
      check: (out, n) => {
        check(out.error instanceof s.ItemFailedError && out.error.cause instanceof Boom, `the stream should error with an ItemFailedError whose cause is the failure, got ${String(out.error)}`);
        check(out.emitted === failAt(n), `expected ${failAt(n)} results before the failure, got ${out.emitted}`);
      },
    } satisfies Case<StreamOutcome>,
  ];
}

/** Runs benchmark 3 in a worker (the variant is always `immediate`: the hops are the staggering). */
export async function measureStaggered(config: ScalingConfig): Promise<ScalingResult> {
  const started = Date.now();
  return scalingRun('staggered-halt', { ...config, variants: ['immediate'] }, new Map<Variant, Case[]>([['immediate', staggeredCases()]]), started);
}

export function staggeredRows(result: ScalingResult): ScalingRow[] {
  return scalingRows(result, STAGGER_FLOOR, () => undefined);
}

export const STAGGERED_NOTES = [
  'process i settles after i microtask hops of one shared promise chain; process N/2 fails; HALT cancels the rest.',
  'the growth target (≤ 12 from 10k to 100k) is in the growth table.',
];
