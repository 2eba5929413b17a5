/**
 * The figures of a reproduction report in the paper's form (Vega-Lite via `analysis/charts.ts`),
 * drawn from the run directories: the Table 2 accuracies and training curves, accuracy against
 * theta0 or T (Fig. 5), fire rate, spikes, FLOPs and energy against T (Fig. 6-9).
 */
import { curvePoints, lineChart, perLayerChart, trainingCurves, type Figure } from '../analysis/charts.js';
import { readEpochLog } from '../rundir/log-file.js';
import type { SweepPointResult } from '../rundir/sweep-file.js';
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

/** The figures of an experiment's report. */
export function figures(d: ExperimentData): Figure[] {
  const e = d.experiment;
  const sub = `${e.source}; ${d.scale} scale: ${d.protocol.arch} width ${d.protocol.width}, ${d.protocol.epochs} epoch(s), ${d.protocol.dataset}`;
  if (e.kind === 'twin') {
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
  const sweeps = d.sweeps ?? [];
  if (e.kind === 'sweep-theta0' || e.kind === 'sweep-T') {
    const axis = axisOf(d);
    const pts = sweeps.flatMap((s) =>
      (axis === 'theta0' ? s.grid.theta0 : s.grid.T).flatMap((v) => {
        const a = axis === 'theta0' ? pointAcc(s, v, s.grid.T[0]) : pointAcc(s, s.grid.theta0[0], v);
        return a === null ? [] : [{ x: v, y: a, series: `ours, ${s.gradient} mask` }];
      }),
    );
    return [
      lineChart({
        name: `accuracy-vs-${axis}`,
        caption: `Test accuracy against ${axis}, one line per gradient mask (the paper's curve: ${NOT_IN_TEXT}; its claim: ${e.claim})`,
        title: `${e.id}: test accuracy against ${axis}`,
        subtitle: `${sub}; paper's values: ${NOT_IN_TEXT}`,
        xTitle: axis === 'theta0' ? 'initial threshold theta0' : 'spike-train length T',
        yTitle: 'test accuracy (%)',
        points: pts,
        logX: axis === 'theta0',
        seriesTitle: 'run',
      }),
    ];
  }
  // stats-T
  const figs: Figure[] = [];
  const s0 = sweeps[0];
  if (s0) {
    const theta0 = s0.grid.theta0[0];
    const done = s0.grid.T.flatMap((T) => {
      const r = pointResult(s0, theta0, T);
      return r ? [{ T, r }] : [];
    });
    const layerOrder = done[0]?.r.layers.map((l) => l.layer) ?? [];
    const order = done.map((x) => `T=${x.T}`);
    figs.push(
      perLayerChart({
        name: 'fire-rate-vs-T',
        caption: `Fire rate per layer, one line per T (${s0.gradient} mask; Fig. 6: the paper's values ${NOT_IN_TEXT})`,
        title: `${e.id}: fire rate per layer against T`,
        subtitle: sub,
        yTitle: 'fire rate (spikes / neuron / T)',
        layerOrder,
        rows: done.flatMap((x) =>
          x.r.layers.map((l) => ({ layer: l.layer, series: `T=${x.T}`, value: l.fire_rate })),
        ),
        seriesTitle: 'T',
        seriesOrder: order,
      }),
      perLayerChart({
        name: 'spikes-vs-T',
        caption: `Spikes per image per layer, one line per T (${s0.gradient} mask; Fig. 7: the paper's values ${NOT_IN_TEXT})`,
        title: `${e.id}: spikes per layer against T`,
        subtitle: sub,
        yTitle: 'spikes per image',
        layerOrder,
        rows: done.flatMap((x) =>
          x.r.layers.map((l) => ({ layer: l.layer, series: `T=${x.T}`, value: l.spikes_per_image })),
        ),
        seriesTitle: 'T',
        seriesOrder: order,
      }),
    );
  }
  const flops = sweeps.flatMap((s) =>
    s.grid.T.flatMap((T) => {
      const en = pointResult(s, s.grid.theta0[0], T)?.energy;
      return en
        ? [
            { x: T, y: en.snn_acs + en.snn_macs, series: `STCSNN ACs+MACs (${s.gradient} mask)` },
            { x: T, y: en.ann_macs, series: 'ANN MACs' },
          ]
        : [];
    }),
  );
  const energy = sweeps.flatMap((s) =>
    s.grid.T.flatMap((T) => {
      const en = pointResult(s, s.grid.theta0[0], T)?.energy;
      return en
        ? [
            { x: T, y: en.snn_energy_pj / 1e6, series: `STCSNN (${s.gradient} mask)` },
            { x: T, y: en.ann_energy_pj / 1e6, series: 'ANN' },
          ]
        : [];
    }),
  );
  const dedupe = <P extends { x: number; series: string }>(ps: P[]) =>
    ps.filter((p, i) => ps.findIndex((q) => q.x === p.x && q.series === p.series) === i);
  figs.push(
    lineChart({
      name: 'flops-vs-T',
      caption: `FLOPs per image against T, STCSNN (ACs + MACs) and the ANN (MACs) (Fig. 8: the paper's values ${NOT_IN_TEXT})`,
      title: `${e.id}: FLOPs per image against T`,
      subtitle: sub,
      xTitle: 'spike-train length T',
      yTitle: 'operations per image',
      points: dedupe(flops),
      logY: true,
      seriesTitle: 'network',
    }),
    lineChart({
      name: 'energy-vs-T',
      caption: `Energy per image against T, STCSNN and the ANN (Fig. 9: the paper's values ${NOT_IN_TEXT})`,
      title: `${e.id}: energy per image against T`,
      subtitle: sub,
      xTitle: 'spike-train length T',
      yTitle: 'energy per image (µJ)',
      points: dedupe(energy),
      seriesTitle: 'network',
    }),
  );
  return figs;
}
