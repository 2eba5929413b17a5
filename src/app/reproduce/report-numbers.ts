/**
 * The numbers an experiment report states, from report.json's data alone (`runs`, `measured`),
 * apart from how they are judged (`rules.ts`, `verdicts.ts`) and written (`tables.ts`): test
 * accuracies per network, their mean, spread and best, the STC - ANN gap, a sweep's points along
 * its axis and the T study's finished points. Accuracies here are in percent.
 */
import type { SweepPointResult } from '../rundir/sweep-file.js';
import type { Measured, ReportRun } from './measured.js';

/** Mean and sample standard deviation (n - 1; 0 for one value). */
export function meanStd(xs: readonly number[]): { mean: number; std: number; n: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/**
 * The two-sided 95 % quantile of Student's t with `df` degrees of freedom (`t_{0.975, df}`),
 * tabulated for df 1..30 and 1.96 (the normal's) above.
 */
export function t975(df: number): number {
  const TABLE = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
    2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
  ];
  if (!Number.isInteger(df) || df < 1)
    throw new RangeError(`t975: df must be a whole number >= 1, got ${df}`);
  return df <= TABLE.length ? TABLE[df - 1] : 1.96;
}

/**
 * Paired differences `d_s = a_s - b_s` over the seeds both have: their mean, the standard error
 * `se = sd(d) / sqrt(n)` and the 95 % interval `mean +- t975(n - 1) * se` (null for fewer than
 * two pairs: one pair has no spread to judge it by).
 */
export interface PairedDifference {
  readonly n: number;
  readonly mean: number | null;
  readonly se: number | null;
  readonly low: number | null;
  readonly high: number | null;
  /** The differences, by seed, in the seeds' order. */
  readonly diffs: readonly { readonly seed: number; readonly d: number }[];
}

/** {@link PairedDifference} of `a - b`, paired by seed (seeds only one side has are left out). */
export function pairedDifference(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): PairedDifference {
  const diffs = [...a.keys()]
    .filter((s) => b.has(s))
    .sort((x, y) => x - y)
    .map((seed) => ({ seed, d: a.get(seed)! - b.get(seed)! }));
  const n = diffs.length;
  if (n === 0) return { n, mean: null, se: null, low: null, high: null, diffs };
  const m = meanStd(diffs.map((x) => x.d));
  if (n < 2) return { n, mean: m.mean, se: null, low: null, high: null, diffs };
  const se = m.std / Math.sqrt(n);
  const h = t975(n - 1) * se;
  return { n, mean: m.mean, se, low: m.mean - h, high: m.mean + h, diffs };
}

/** The final test accuracies (percent) of the finished runs of one mode, in the runs' order. */
export function accuracies(runs: readonly ReportRun[], mode: 'stc' | 'ann'): number[] {
  return runs.flatMap((r) =>
    r.mode === mode && r.status === 'done' && r.test_accuracy !== null ? [100 * r.test_accuracy] : [],
  );
}

/** A network's accuracy over its seeds (null where it has no finished seed; `stddev` needs two). */
export interface SeedSummary {
  readonly mean: number | null;
  readonly stddev: number | null;
  /** Best over seeds: the highest final test accuracy. */
  readonly best: number | null;
}

/** Mean, sample std (two seeds or more) and best over seeds of `xs`. */
export function seedSummary(xs: readonly number[]): SeedSummary {
  if (!xs.length) return { mean: null, stddev: null, best: null };
  const m = meanStd(xs);
  return { mean: m.mean, stddev: m.n > 1 ? m.std : null, best: Math.max(...xs) };
}

/** The seed of a twin's run, from its label (`stc seed-2` -> 2); null where the label has none. */
export function seedOfLabel(label: string): number | null {
  const m = /seed-(\d+)/.exec(label);
  return m ? Number(m[1]) : null;
}

/** The final test accuracies (percent) of the finished runs of one mode, by seed (from the labels). */
export function accuraciesBySeed(runs: readonly ReportRun[], mode: 'stc' | 'ann'): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of runs) {
    const seed = seedOfLabel(r.label);
    if (r.mode === mode && r.status === 'done' && r.test_accuracy !== null && seed !== null)
      out.set(seed, 100 * r.test_accuracy);
  }
  return out;
}

/** STC - ANN of the means over the finished seeds, in points; null unless both have one. */
export function twinGap(stc: readonly number[], ann: readonly number[]): number | null {
  return stc.length && ann.length ? meanStd(stc).mean - meanStd(ann).mean : null;
}

/** A point of a Fig. 5 sweep along its axis. */
export interface AxisPoint {
  readonly value: number;
  readonly status: 'done' | 'diverged' | 'missing';
  /** Final test accuracy in percent (done only). */
  readonly accuracy: number | null;
}

/** A sweep's points along its axis, for one mask, in the runs' order. */
export function axisPoints(runs: readonly ReportRun[], gradient: string, axis: 'theta0' | 'T'): AxisPoint[] {
  return runs
    .filter((r) => r.mode === 'stc' && r.gradient === gradient && r[axis] !== null)
    .map((r) => ({
      value: r[axis]!,
      status: r.status,
      accuracy: r.status === 'done' && r.test_accuracy !== null ? 100 * r.test_accuracy : null,
    }));
}

/** A run of the T study (Fig. 6-9) with its measured result (null unless finished and measured). */
export interface TStudyRun {
  readonly run: ReportRun;
  readonly T: number;
  readonly result: SweepPointResult | null;
}

/** The T study's runs of one mask, in the runs' order, each with its result where it has one. */
export function tStudyRuns(
  r: { readonly runs: readonly ReportRun[]; readonly measured: Pick<Measured, 'points'> },
  gradient: string,
): TStudyRun[] {
  const results = new Map(r.measured.points.map((p) => [p.run, p.result]));
  return r.runs
    .filter((x) => x.mode === 'stc' && x.gradient === gradient && x.T !== null)
    .map((x) => {
      const res = results.get(x.label);
      return { run: x, T: x.T!, result: res && x.status === 'done' ? res : null };
    });
}
