/**
 * The figures of a reproduction report in the paper's form (Vega-Lite via `analysis/charts.ts`),
 * drawn from the run directories: the Table 2 accuracies and training curves, accuracy against
 * theta0 or T (Fig. 5), fire rate, spikes, FLOPs and energy against T (Fig. 6-9).
 */
import {
  curvePoints,
  lineChart,
  perLayerChart,
  trainingCurves,
  type Figure,
  type XYPoint,
} from '../analysis/charts.js';
import { readEpochLog } from '../rundir/log-file.js';
import type { PointEnergy, SweepPointResult } from '../rundir/sweep-file.js';
import { NOT_IN_TEXT } from './experiments.js';
import type { ExperimentData, SweepData } from './runner.js';

/** Accuracy of a sweep point in percent, null when it did not finish (diverged or missing). */
function pointAcc(s: SweepData, theta0: number, T: number): number | null {
  const r = pointResult(s, theta0, T);
  return r ? 100 * r.test_accuracy : null;
}

/** The result of a finished sweep point, null otherwise. */
export function pointResult(s: SweepData, theta0: number, T: number): SweepPointResult | null {
  const p = s.sweep?.points.find((q) => q.theta0 === theta0 && q.T === T);
  return p?.status === 'done' ? p.result : null;
}

/** Values of a sweep's grid axis (theta0 for the theta0 study, T otherwise). */
function axisOf(d: ExperimentData): 'theta0' | 'T' {
  return d.experiment.kind === 'sweep-theta0' ? 'theta0' : 'T';
}

/**
 * Training curves of a twin's runs (`stc seed-0`, `ann seed-0`, ...), one color per run: whether
 * the STC network learns as fast as its twin, not only where it ends. Empty when no run has a log.
 */
function twinCurves(tw: NonNullable<ExperimentData['twin']>, subtitle: string): Figure[] {
  const runs = [...tw.stc.runs, ...tw.ann.runs];
  const pts = runs.flatMap((r) => curvePoints(readEpochLog(r.dir), r.label));
  if (pts.length === 0) return [];
  const fig = trainingCurves(pts, subtitle, { title: 'run', order: runs.map((r) => r.label) });
  return [{ ...fig, caption: `${fig.caption} One color per run (STC network and its ANN twin, per seed).` }];
}

/** Table 2: the accuracies of the STC network and its twin, ours beside the paper's, and the training curves. */
function twinFigures(d: ExperimentData, sub: string): Figure[] {
  const e = d.experiment;
  const tw = d.twin!;
  const rows = [];
  for (const [name, g, a] of [
    ['STC (T = 8)', tw.stc, e.paper?.stc],
    ['ANN twin', tw.ann, e.paper?.ann],
  ] as const) {
    if (g.summary) rows.push({ layer: name, series: 'ours (mean)', value: 100 * g.summary.mean });
    if (a?.mean != null) rows.push({ layer: name, series: 'paper (mean)', value: a.mean });
  }
  return [
    perLayerChart({
      name: 'table2-accuracy',
      caption: 'Test accuracy of the STCSNN and its ANN twin, ours beside the paper (Table 2)',
      title: `${e.id}: test accuracy, ours and the paper's`,
      subtitle: sub,
      yTitle: 'test accuracy (%)',
      xTitle: 'network',
      layerOrder: ['STC (T = 8)', 'ANN twin'],
      rows,
      seriesTitle: 'source',
      seriesOrder: ['ours (mean)', 'paper (mean)'],
      grouped: true,
    }),
    ...twinCurves(tw, sub),
  ];
}

/** Fig. 5: accuracy against the swept axis (theta0 or T), one line per gradient mask. */
function accuracyFigure(d: ExperimentData, sub: string): Figure {
  const e = d.experiment;
  const axis = axisOf(d);
  const pts = (d.sweeps ?? []).flatMap((s) =>
    (axis === 'theta0' ? s.grid.theta0 : s.grid.T).flatMap((v) => {
      const a = axis === 'theta0' ? pointAcc(s, v, s.grid.T[0]) : pointAcc(s, s.grid.theta0[0], v);
      return a === null ? [] : [{ x: v, y: a, series: `ours, ${s.gradient} mask` }];
    }),
  );
  return lineChart({
    name: `accuracy-vs-${axis}`,
    caption: `Test accuracy against ${axis}, one line per gradient mask (the paper's curve: ${NOT_IN_TEXT}; its claim: ${e.claim})`,
    title: `${e.id}: test accuracy against ${axis}`,
    subtitle: `${sub}; paper's values: ${NOT_IN_TEXT}`,
    xTitle: axis === 'theta0' ? 'initial threshold theta0' : 'spike-train length T',
    yTitle: 'test accuracy (%)',
    points: pts,
    logX: axis === 'theta0',
    seriesTitle: 'run',
  });
}

/** A per-layer figure of the stats-T study: one statistic per layer, one line per T. */
interface PerLayerAgainstT {
  readonly name: string;
  readonly what: string;
  readonly fig: string;
  readonly title: string;
  readonly yTitle: string;
  readonly value: (l: SweepPointResult['layers'][number]) => number;
}

/** Fig. 6 and 7: fire rate and spikes per layer against T, from the first sweep's finished points. */
function layerFigures(d: ExperimentData, s0: SweepData, sub: string): Figure[] {
  const theta0 = s0.grid.theta0[0];
  const done = s0.grid.T.flatMap((T) => {
    const r = pointResult(s0, theta0, T);
    return r ? [{ T, r }] : [];
  });
  const layerOrder = done[0]?.r.layers.map((l) => l.layer) ?? [];
  const order = done.map((x) => `T=${x.T}`);
  const chart = (f: PerLayerAgainstT): Figure =>
    perLayerChart({
      name: f.name,
      caption: `${f.what}, one line per T (${s0.gradient} mask; ${f.fig}: the paper's values ${NOT_IN_TEXT})`,
      title: `${d.experiment.id}: ${f.title} against T`,
      subtitle: sub,
      yTitle: f.yTitle,
      layerOrder,
      rows: done.flatMap((x) =>
        x.r.layers.map((l) => ({ layer: l.layer, series: `T=${x.T}`, value: f.value(l) })),
      ),
      seriesTitle: 'T',
      seriesOrder: order,
    });
  return [
    chart({
      name: 'fire-rate-vs-T',
      what: 'Fire rate per layer',
      fig: 'Fig. 6',
      title: 'fire rate per layer',
      yTitle: 'fire rate (spikes / neuron / T)',
      value: (l) => l.fire_rate,
    }),
    chart({
      name: 'spikes-vs-T',
      what: 'Spikes per image per layer',
      fig: 'Fig. 7',
      title: 'spikes per layer',
      yTitle: 'spikes per image',
      value: (l) => l.spikes_per_image,
    }),
  ];
}

/**
 * The points against T of each sweep's finished points with an energy estimate, `points` of it
 * (the STCSNN's of each mask, the ANN's once: the same for every mask).
 */
function energyPoints(
  sweeps: readonly SweepData[],
  points: (en: PointEnergy, s: SweepData) => readonly { y: number; series: string }[],
): XYPoint[] {
  const all = sweeps.flatMap((s) =>
    s.grid.T.flatMap((T) => {
      const en = pointResult(s, s.grid.theta0[0], T)?.energy;
      return en ? points(en, s).map((p) => ({ x: T, ...p })) : [];
    }),
  );
  return all.filter((p, i) => all.findIndex((q) => q.x === p.x && q.series === p.series) === i);
}

/** Fig. 8 and 9: FLOPs and energy per image against T, the STCSNN's (per mask) and the ANN's. */
function operationFigures(d: ExperimentData, sub: string): Figure[] {
  const sweeps = d.sweeps ?? [];
  const id = d.experiment.id;
  return [
    lineChart({
      name: 'flops-vs-T',
      caption: `FLOPs per image against T, STCSNN (ACs + MACs) and the ANN (MACs) (Fig. 8: the paper's values ${NOT_IN_TEXT})`,
      title: `${id}: FLOPs per image against T`,
      subtitle: sub,
      xTitle: 'spike-train length T',
      yTitle: 'operations per image',
      points: energyPoints(sweeps, (en, s) => [
        { y: en.snn_acs + en.snn_macs, series: `STCSNN ACs+MACs (${s.gradient} mask)` },
        { y: en.ann_macs, series: 'ANN MACs' },
      ]),
      logY: true,
      seriesTitle: 'network',
    }),
    lineChart({
      name: 'energy-vs-T',
      caption: `Energy per image against T, STCSNN and the ANN (Fig. 9: the paper's values ${NOT_IN_TEXT})`,
      title: `${id}: energy per image against T`,
      subtitle: sub,
      xTitle: 'spike-train length T',
      yTitle: 'energy per image (µJ)',
      points: energyPoints(sweeps, (en, s) => [
        { y: en.snn_energy_pj / 1e6, series: `STCSNN (${s.gradient} mask)` },
        { y: en.ann_energy_pj / 1e6, series: 'ANN' },
      ]),
      seriesTitle: 'network',
    }),
  ];
}

/** The figures of an experiment's report. */
export function figures(d: ExperimentData): Figure[] {
  const e = d.experiment;
  const sub = `${e.source}; ${d.scale} scale: ${d.protocol.arch} width ${d.protocol.width}, ${d.protocol.epochs} epoch(s), ${d.protocol.dataset}`;
  if (e.kind === 'twin') return twinFigures(d, sub);
  if (e.kind === 'sweep-theta0' || e.kind === 'sweep-T') return [accuracyFigure(d, sub)];
  // stats-T
  const s0 = d.sweeps?.[0];
  return [...(s0 ? layerFigures(d, s0, sub) : []), ...operationFigures(d, sub)];
}
