/**
 * Reports: `report.md` and figures (SVG, PNG where resvg loads) for a run directory, a repeat
 * group or a sweep directory.
 *
 * - run (`report-run.ts`): configuration, results, training curves, the runaway monitor's figures
 *   per STCB layer (log.jsonl `stcb`: STEB input max and 99.9th percentile against `S`, saturated
 *   share, the feeding batch norm's |gamma|, and the run's runaway warning), spike statistics per
 *   STCB layer (fire rate, spikes, STEB input distribution) and energy against the ANN twin;
 * - repeat group (`report-repeats.ts`): the paper's Table-2 row (mean, sample stddev, best of the
 *   final test accuracy), per-seed results, curves of every seed, fire rates and energy averaged
 *   over seeds;
 * - sweep (`report-sweep.ts`): accuracy against theta0 and T (Fig. 5), fire rate and spikes per
 *   layer for each T (Fig. 6-7), FLOPs and energy against T (Fig. 8-9); points that have not
 *   finished are listed as missing.
 *
 * The sections build a {@link MarkdownDoc} (`markdown.ts`; the maths they show is `summary.ts`);
 * this module writes it and its figures (temp and rename). Energy of runs needs the layer
 * description of the network, built on the active TensorFlow.js backend (see `network.ts`);
 * sweeps carry their energy in `sweep.json`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import { escapeControl } from '../../lib/util/text.js';
import { makeDirs } from '../../lib/util/fs.js';
import { writeFigure, type WrittenFigure } from './charts.js';
import { MarkdownDoc } from './markdown.js';
import type { EnergyConstants } from '../../lib/analysis/energy.js';
import { repeatsReport } from './report-repeats.js';
import { runReport } from './report-run.js';
import { sweepReport } from './report-sweep.js';
import { dirKind, type DirKind } from '../rundir/dirs.js';
import { readRunDir } from './rundir.js';

/** Options of {@link writeReport}. */
export interface ReportOptions {
  /** Also write PNGs (where a renderer is available; default true). */
  readonly png?: boolean;
  /** Energy constants of the energy sections (`report-sections.ts`). */
  readonly constants?: Partial<EnergyConstants>;
}

/** What {@link writeReport} wrote. */
export interface ReportResult {
  readonly kind: DirKind;
  /** Path of `report.md`. */
  readonly report: string;
  readonly figures: WrittenFigure[];
  /** Sweep points or seeds that have not finished (empty when complete). */
  readonly missing: string[];
}

/**
 * Writes `DIR/report.md` and `DIR/figures/*.svg` (and `.png`) for a run, repeat group or sweep.
 * @throws ConfigError when `dir` is none of them or its files are malformed
 */
export async function writeReport(dir: string, opts: ReportOptions = {}): Promise<ReportResult> {
  const kind = dirKind(dir);
  const b = new MarkdownDoc();
  const missing =
    kind === 'run'
      ? runReport(b, readRunDir(dir), opts)
      : kind === 'repeats'
        ? repeatsReport(b, dir, opts)
        : sweepReport(b, dir);
  const figDir = join(dir, 'figures');
  if (b.figures.length && !existsSync(figDir)) makeDirs(figDir);
  const figures: WrittenFigure[] = [];
  for (const f of b.figures) figures.push(await writeFigure(figDir, f, { png: opts.png }));
  b.push('---', '', `Written by \`stcsnn report\` on ${new Date().toISOString()}.`, '');
  const report = join(dir, 'report.md');
  // text from the run's files (class names, a log's warning) with its control bytes escaped
  writeFileAtomic(report, escapeControl(b.text(), '\n'));
  return { kind, report, figures, missing };
}
