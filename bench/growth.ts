// Benchmark 2, growth: cost(100k) / cost(10k) for every case of benchmarks 1 and 3 (linear is 10).
// It is measured in the scaling workers: one run under `node --max-semi-space-size=64` (the
// headline figure: a young generation big enough that the scavenger's promotions do not dominate)
// and one under the default flags, reported beside it. Ratios are taken round by round.
import { type Stat, formatRatio, formatStat, pairwise, renderTable, shortN, stat, verdict } from './harness';
import type { ScalingResult, Variant } from './overhead';

export const SEMI_SPACE_FLAG = '--max-semi-space-size=64';
export const GROWTH_TARGET = 12;

export interface GrowthSource {
  readonly benchmark: string;
  readonly flagged: ScalingResult | undefined;
  readonly unflagged: ScalingResult | undefined;
}

export interface GrowthRow {
  readonly benchmark: string;
  readonly variant: Variant;
  readonly case: string;
  readonly role: string;
  readonly small: number;
  readonly large: number;
  readonly flagged: Stat | undefined;
  readonly unflagged: Stat | undefined;
  readonly met: boolean | undefined;
}

function growthOf(result: ScalingResult | undefined, variant: Variant, name: string, small: number, large: number): Stat | undefined {
  if (result === undefined) return undefined;
  const at = (n: number) => result.samples[`${variant}/${n}`]?.[name];
  return stat(pairwise(at(large), at(small), 'ns'));
}

export function growthRows(sources: readonly GrowthSource[]): GrowthRow[] {
  const rows: GrowthRow[] = [];
  for (const { benchmark, flagged, unflagged } of sources) {
    const reference = flagged ?? unflagged;
    if (reference === undefined) continue;
    const sizes = [...reference.config.ns].sort((a, b) => a - b);
    const large = sizes[sizes.length - 1];
    const small = sizes[sizes.length - 2];
    if (large === undefined || small === undefined) continue;
    const variants = [...new Set([...(flagged?.groups ?? []), ...(unflagged?.groups ?? [])].map((group) => group.variant))];
    for (const variant of variants) {
      for (const entry of reference.cases) {
        const withFlag = growthOf(flagged, variant, entry.name, small, large);
        const without = growthOf(unflagged, variant, entry.name, small, large);
        if (withFlag === undefined && without === undefined) continue;
        rows.push({
          benchmark,
          variant,
          case: entry.name,
          role: entry.role,
          small,
          large,
          flagged: withFlag,
          unflagged: without,
          met: withFlag === undefined ? undefined : withFlag.median <= GROWTH_TARGET,
        });
      }
    }
  }
  return rows;
}

export function growthTable(rows: readonly GrowthRow[]): string {
  const first = rows[0];
  const span = first === undefined ? '' : ` ${shortN(first.small)} → ${shortN(first.large)}`;
  const body = rows.map((row) => [
    `${row.benchmark}  ${row.variant === 'immediate' ? 'at once' : 'setImmediate'}  ${row.case}`,
    formatStat(row.flagged, formatRatio),
    formatStat(row.unflagged, formatRatio),
    row.flagged === undefined ? 'n/a (not measured with the flag)' : `≤ ${GROWTH_TARGET}: ${verdict(row.met)}`,
  ]);
  return renderTable(
    `growth: cost(${first === undefined ? 'large' : shortN(first.large)}) / cost(${first === undefined ? 'small' : shortN(first.small)}) (linear is ${first === undefined ? '' : formatRatio(first.large / first.small)})`,
    ['case', `node ${SEMI_SPACE_FLAG}${span}`, `default flags${span}`, 'target'],
    body,
    [
      `measured in child processes (both with --expose-gc, GC forced between samples), total time at the large N over the small N, round by round, then median (min–max).`,
      `the target is judged on the ${SEMI_SPACE_FLAG} figure; the default-flag figure is beside it for reference.`,
    ],
  );
}
