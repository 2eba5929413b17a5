/** The report of a repeat group: the Table 2 row over its seeds, per-seed results, curves, spikes, energy. */
import { relative } from 'node:path';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import { meanStdBest } from '../rundir/repeats-file.js';
import { curvePoints, trainingCurves } from './charts.js';
import { pct } from './format.js';
import { mdTable, type MarkdownDoc } from './markdown.js';
import { describe, spikeSection, tryEnergySection, type EnergyOptions } from './report-sections.js';
import { repeatRunDirs } from '../rundir/dirs.js';
import { readRunDir } from './rundir.js';
import { meanSpikeStats } from './summary.js';

/**
 * Writes a repeat group's report into `b`.
 * @returns the seeds' directories that have not finished
 */
export function repeatsReport(b: MarkdownDoc, dir: string, opts: EnergyOptions): string[] {
  const dirs = repeatRunDirs(dir);
  const runs = dirs.map((d) => readRunDir(d));
  if (runs.length === 0) {
    b.push('# Repeat group', '', `\`${dir}\` holds no \`seed-<n>/\` run directories yet.`, '');
    return [dir];
  }
  const first = runs[0];
  b.push('# Repeat group report', '', `\`${dir}\`: ${describe(first)}, ${runs.length} seed(s)`, '');
  const done = runs.filter((r) => r.result);
  const missing = runs.filter((r) => !r.result).map((r) => r.dir);
  const acc = meanStdBest(done.map((r) => r.result!.test_accuracy));
  b.push('## Table 2 row', '');
  b.push(
    "Final test accuracy over the finished seeds: mean, sample standard deviation (n - 1) and best, in %, as in the paper's Table 2.",
    '',
    mdTable(
      ['dataset', 'architecture', 'T', 'mean (%)', 'stddev (%)', 'best (%)', 'runs'],
      [
        [
          first.summary.dataset,
          first.summary.arch.toUpperCase(),
          String(first.summary.T),
          (100 * acc.mean).toFixed(2),
          (100 * acc.stddev).toFixed(2),
          (100 * acc.best).toFixed(2),
          `${acc.count}${missing.length ? ` of ${runs.length}` : ''}`,
        ],
      ],
    ),
    '',
  );
  if (missing.length)
    b.push(`**Unfinished seeds:** ${missing.map((m) => `\`${relative(dir, m)}\``).join(', ')}`, '');
  b.push(
    '## Seeds',
    '',
    mdTable(
      ['seed', 'final test accuracy', 'best test accuracy', 'epochs'],
      [
        ...runs.map((r) => [
          String(r.summary.seed),
          r.result ? pct(r.result.test_accuracy) : 'unfinished',
          r.result ? pct(r.result.best_test_accuracy ?? NaN) : '-',
          String(r.log.length),
        ]),
      ],
    ),
    '',
  );
  const warned = runs.flatMap((r) => {
    const w = r.log.find((m) => typeof m.warning === 'string');
    return w ? [`- seed ${r.summary.seed}, epoch ${w.epoch + 1}: ${w.warning}`] : [];
  });
  if (warned.length)
    b.push(
      `**Runaway warnings** (log.jsonl; \`stcsnn report\` on a seed's directory shows its figures):`,
      '',
      ...warned,
      '',
    );
  const curves = runs.flatMap((r) => curvePoints(r.log, `seed ${r.summary.seed}`));
  if (curves.length) b.figure(trainingCurves(curves, describe(first)));
  const allStats = done
    .map((r) => r.result!.spike_stats)
    .filter((s): s is LayerSpikeStats[] => Array.isArray(s) && s.length > 0);
  if (allStats.length) {
    const mean = meanSpikeStats(allStats);
    spikeSection(b, mean, `${describe(first)}; mean over ${allStats.length} seed(s)`);
    tryEnergySection(
      b,
      first,
      mean,
      opts,
      `Spike counts: mean over ${allStats.length} seed(s).`,
      `${describe(first)}; mean over ${allStats.length} seed(s)`,
    );
  }
  return missing;
}
