/**
 * The report of a sweep directory: accuracy against theta0 and T (Fig. 5), fire rate and spikes
 * per layer for each T (Fig. 6-7), FLOPs and energy against T (Fig. 8-9); points that have not
 * finished are listed as missing.
 */
import { join } from 'node:path';
import {
  readSweep,
  sweepStatus,
  type SweepFile,
  type SweepPoint,
  type SweepPointResult,
} from '../rundir/sweep-file.js';
import {
  curvePoints,
  lineChart,
  perLayerChart,
  trainingCurves,
  type LayerValue,
  type XYPoint,
} from './charts.js';
import { pct, siCount, times } from './format.js';
import { mdTable, type MarkdownDoc } from './markdown.js';
import { readRunDir } from './rundir.js';

const tLabel = (T: number) => `T=${T}`;
const thetaLabel = (t: number) => `theta0=${t}`;

/** A finished point of a sweep: one with its result. */
type DonePoint = SweepPoint & { readonly result: SweepPointResult };

/** The report's title, the grid, how many points finished and which are missing. */
function sweepHeader(
  b: MarkdownDoc,
  dir: string,
  sweep: SweepFile,
  { done, missing }: ReturnType<typeof sweepStatus>,
  what: string,
): void {
  b.push('# Sweep report', '', `\`${dir}\`: ${what}`, '');
  b.push(
    `Grid: theta0 in {${sweep.grid.theta0.join(', ')}} x T in {${sweep.grid.T.join(', ')}}; ${done.length} of ${sweep.points.length} point(s) finished.`,
    '',
  );
  if (missing.length) {
    b.push(
      `**Missing points (not finished):** ${missing.map((p) => `\`${p.id}\`${p.status === 'failed' ? ' (training diverged)' : ''}`).join(', ')}. Rerun the same \`stcsnn sweep\` command to finish them.`,
      '',
    );
  }
}

/** The results table: a row per point, finished or why not. */
function resultsTable(b: MarkdownDoc, sweep: SweepFile, done: readonly SweepPoint[]): void {
  b.push('## Results', '');
  b.push(
    mdTable(
      [
        'point',
        'theta0',
        'T',
        'final test accuracy',
        'best',
        'mean fire rate',
        'spikes / image',
        'SNN energy (µJ)',
        'ANN/SNN',
      ],
      [
        ...sweep.points.map((p) => {
          const r = done.find((d) => d.id === p.id);
          if (!r?.result) {
            const why = p.status === 'failed' ? `failed: ${p.error ?? 'diverged'}` : 'missing';
            return [p.id, String(p.theta0), String(p.T), why, '', '', '', '', ''];
          }
          const res = r.result;
          return [
            p.id,
            String(p.theta0),
            String(p.T),
            pct(res.test_accuracy),
            pct(res.best_test_accuracy),
            res.mean_fire_rate.toFixed(4),
            siCount(res.spikes_per_image),
            res.energy ? (res.energy.snn_energy_pj / 1e6).toPrecision(4) : '-',
            res.energy ? times(res.energy.ratio) : '-',
          ];
        }),
      ],
    ),
    '',
  );
}

/** Fig. 5: accuracy against theta0 (one line per T) and against T (one line per theta0), where swept. */
function accuracyFigures(
  b: MarkdownDoc,
  done: readonly DonePoint[],
  grid: { Ts: readonly number[]; thetas: readonly number[] },
  sub: string,
): void {
  if (grid.thetas.length > 1) {
    b.figure(
      lineChart({
        name: 'accuracy-vs-theta0',
        caption: 'Test accuracy against the initial threshold theta0 (paper Fig. 5).',
        title: 'Accuracy against theta0',
        subtitle: sub,
        xTitle: 'initial threshold theta0 (log scale)',
        yTitle: 'final test accuracy (%)',
        logX: true,
        seriesTitle: 'spike-train length',
        seriesOrder: grid.Ts.map(tLabel),
        points: done.map((p) => ({ x: p.theta0, y: 100 * p.result.test_accuracy, series: tLabel(p.T) })),
      }),
    );
  }
  if (grid.Ts.length > 1) {
    b.figure(
      lineChart({
        name: 'accuracy-vs-T',
        caption: 'Test accuracy against the spike-train length T (paper Fig. 5).',
        title: 'Accuracy against T',
        subtitle: sub,
        xTitle: 'spike-train length T',
        yTitle: 'final test accuracy (%)',
        seriesTitle: 'threshold',
        seriesOrder: grid.thetas.map(thetaLabel),
        points: done.map((p) => ({ x: p.T, y: 100 * p.result.test_accuracy, series: thetaLabel(p.theta0) })),
      }),
    );
  }
}

/** The theta0 of the figures against T: the paper's 0.8 where swept (2 for DVS), else the first. */
function figureTheta(thetas: readonly number[], dataset: string): number {
  if (thetas.includes(0.8)) return 0.8;
  return thetas.includes(2) && dataset === 'cifar10-dvs' ? 2 : thetas[0];
}

/** The training curves of the points at theta0 `theta`, one colour per T (from their run directories). */
function curvesAgainstT(
  b: MarkdownDoc,
  dir: string,
  atTheta: readonly DonePoint[],
  subT: string,
  theta: number,
): void {
  const curves = atTheta.flatMap((p) => {
    try {
      return curvePoints(readRunDir(join(dir, p.dir)).log, tLabel(p.T));
    } catch {
      return []; // a point directory removed by hand: its numbers are still in sweep.json
    }
  });
  if (atTheta.length > 1 && curves.length) {
    const fig = trainingCurves(curves, subT, {
      title: 'spike-train length',
      order: atTheta.map((p) => tLabel(p.T)),
    });
    b.figure({
      ...fig,
      name: 'training-curves-vs-T',
      caption: `Training curves for each T at theta0=${theta} (train dashed, test solid).`,
    });
  }
}

/** Fig. 6-7: fire rate and spikes per STCB layer for each T, of the points with spike statistics. */
function spikeFigures(b: MarkdownDoc, atTheta: readonly DonePoint[], subT: string): void {
  const withStats = atTheta.filter((p) => p.result.layers.length > 0);
  if (!withStats.length) return;
  const order = withStats[0].result.layers.map((l) => l.layer);
  const series = withStats.map((p) => tLabel(p.T));
  const rows = (f: (l: SweepPointResult['layers'][number]) => number): LayerValue[] =>
    withStats.flatMap((p) =>
      p.result.layers.map((l) => ({ layer: l.layer, series: tLabel(p.T), value: f(l) })),
    );
  b.push('## Spikes and energy against T', '');
  b.figure(
    perLayerChart({
      name: 'fire-rate-vs-T',
      caption: 'Average fire rate per STCB layer for each spike-train length T (paper Fig. 6).',
      title: 'Fire rate per layer',
      subtitle: subT,
      yTitle: 'fire rate (spikes per neuron / T)',
      layerOrder: order,
      rows: rows((l) => l.fire_rate),
      seriesTitle: 'spike-train length',
      seriesOrder: series,
    }),
  );
  b.figure(
    perLayerChart({
      name: 'spikes-vs-T',
      caption: 'Average number of spikes per image per STCB layer for each T (paper Fig. 7).',
      title: 'Spikes per layer',
      subtitle: subT,
      yTitle: 'spikes per image',
      yFormat: '~s',
      layerOrder: order,
      rows: rows((l) => l.spikes_per_image),
      seriesTitle: 'spike-train length',
      seriesOrder: series,
    }),
  );
}

/** Fig. 8-9: operations and energy per image against T, of the points with an energy estimate. */
function energyFigures(b: MarkdownDoc, atTheta: readonly DonePoint[], subT: string, sweep: SweepFile): void {
  const withEnergy = atTheta.flatMap((p) => (p.result.energy ? [{ T: p.T, e: p.result.energy }] : []));
  if (!withEnergy.length) return;
  const flops: XYPoint[] = withEnergy.flatMap(({ T, e }) => [
    { x: T, y: e.ann_macs, series: 'ANN (MACs)' },
    { x: T, y: e.snn_acs + e.snn_macs, series: 'STCSNN (ACs + MACs)' },
    { x: T, y: e.snn_acs, series: 'STCSNN ACs' },
    { x: T, y: e.snn_macs, series: 'STCSNN MACs' },
  ]);
  b.figure(
    lineChart({
      name: 'flops-vs-T',
      caption:
        "Operations per image against T: the ANN twin's MACs and the STCSNN's ACs and MACs (paper Fig. 8).",
      title: 'FLOPs against T',
      subtitle: subT,
      xTitle: 'spike-train length T',
      yTitle: 'operations per image',
      yFormat: '~s',
      logY: true,
      seriesTitle: 'network',
      points: flops,
    }),
  );
  const energy: XYPoint[] = withEnergy.flatMap(({ T, e }) => [
    { x: T, y: e.ann_energy_pj / 1e6, series: 'ANN twin' },
    { x: T, y: e.snn_energy_pj / 1e6, series: 'STCSNN' },
  ]);
  b.figure(
    lineChart({
      name: 'energy-vs-T',
      caption: `Computation energy per image against T (E_MAC ${sweep.energy.e_mac_pj} pJ, E_AC ${sweep.energy.e_ac_pj} pJ; paper Fig. 9).`,
      title: 'Energy against T',
      subtitle: `${subT}; ratios ${withEnergy.map(({ T, e }) => `T=${T}: ${times(e.ratio, 1)}`).join(', ')}`,
      xTitle: 'spike-train length T',
      yTitle: 'energy per image (µJ)',
      yZero: true,
      seriesTitle: 'network',
      points: energy,
    }),
  );
}

/**
 * Writes a sweep's report into `b`.
 * @returns the ids of the points that have not finished
 */
export function sweepReport(b: MarkdownDoc, dir: string): string[] {
  const sweep: SweepFile = readSweep(dir);
  const status = sweepStatus(sweep);
  const { done, missing } = status;
  const base = sweep.base;
  const what = `${base.arch} (width ${base.width}) on ${base.dataset}`;
  sweepHeader(b, dir, sweep, status, what);
  resultsTable(b, sweep, done);
  const finished = done.filter((p): p is DonePoint => p.result !== undefined);
  if (finished.length === 0) return missing.map((p) => p.id);
  const Ts = [...sweep.grid.T].sort((a, x) => a - x);
  const thetas = [...sweep.grid.theta0].sort((a, x) => a - x);
  accuracyFigures(b, finished, { Ts, thetas }, what);
  // Fig. 6-9 at one theta0 per T
  const theta = figureTheta(thetas, base.dataset);
  const atTheta = finished.filter((p) => p.theta0 === theta).sort((a, x) => a.T - x.T);
  const subT = `${what}, theta0=${theta}`;
  curvesAgainstT(b, dir, atTheta, subT, theta);
  spikeFigures(b, atTheta, subT);
  energyFigures(b, atTheta, subT, sweep);
  return missing.map((p) => p.id);
}
