/**
 * The report of a reproduction: `report.md` (our numbers beside the paper's, the difference, a
 * plain verdict per claim computed from our data, the protocol, command, machine and wall time
 * per run), `report.json` (the same tables and verdicts as data) and `figures/*.svg` in the
 * paper's form (Vega-Lite via `analysis/charts.ts`).
 *
 * Verdict rules (points are percentage points of test accuracy):
 * - Table 2: STC "reaches" its ANN twin when |mean(STC) - mean(ANN)| <= 1 point.
 * - theta0: a collapse below 0.8 when the best accuracy at theta0 < 0.8 is >= 5 points under the
 *   accuracy at 0.8 (a diverged run counts as collapsed); "reasonable" above 1 when every
 *   theta0 >= 1 is within 5 points of 0.8.
 * - T: a collapse below 4 when the best accuracy at T < 4 is >= 5 points under T = 8; no
 *   significant gain above 8 when the best T > 8 is at most 1 point over T = 8.
 * - Fig. 6-9: spikes per image grow with T when the largest T has more than the smallest and no
 *   step to the next T falls by more than 1 % (each T is a separately trained network); FLOPs
 *   (ACs + MACs) of the STCSNN against the ANN's MACs per T; energy below the ANN's at every T.
 * - Table 2 notes: the STC run's STCB inputs "ran away" when a layer's inputs reach
 *   {@link RUNAWAY_FACTOR} times the range the paper gives (§4.4.1).
 */
import { cpus } from 'node:os';
import { makeDirs } from '../util/fs.js';
import { join, relative } from 'node:path';
import {
  curvePoints,
  lineChart,
  perLayerChart,
  trainingCurves,
  writeFigure,
  type Figure,
  type WrittenFigure,
} from '../analysis/charts.js';
import { inputRange, joules, pct, pctOrDash, si } from '../analysis/format.js';
import { readEpochLog, readRunDir } from '../analysis/rundir.js';
import { saturatedFraction } from '../nn/stats.js';
import type { SweepPointResult } from '../run/sweep.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { PAPER_STCB_INPUT_RANGE, type PaperAccuracy } from './experiments.js';
import { REPORT_FILES, reportFile } from './layout.js';
import type { ExperimentData, RunRow, SweepData } from './runner.js';

/** Significant accuracy drop, in points (theta0 and T collapses). */
export const COLLAPSE_POINTS = 5;
/** STC "reaches" its twin within this many points; also "no significant gain" above T = 8. */
export const TWIN_POINTS = 1;

/** What the paper's text gives for a figure's values. */
export const NOT_IN_TEXT = 'not in the text';

/** A table of the report: a header and rows of cells (already formatted). */
export interface ReportTable {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A claim of the paper and what our data says about it. */
export interface Verdict {
  readonly claim: string;
  /** true: ours shows the claim; false: it does not; null: our data cannot tell. */
  readonly agrees: boolean | null;
  readonly text: string;
}

/** Where and how the reproduction ran. */
export interface ReportContext {
  /** The command that produced the report, as typed. */
  readonly command: string;
  /** The backend of this invocation. */
  readonly backend: string;
  /** Wall time of this invocation in seconds (training of the runs it trained, plus reading). */
  readonly wallSeconds: number;
  /** Write PNG beside SVG where a renderer is available. */
  readonly png?: boolean;
}

/** `report.json`. */
export interface ReportFile {
  readonly experiment: string;
  readonly title: string;
  readonly source: string;
  readonly scale: string;
  readonly claim: string;
  readonly protocol: ExperimentData['protocol'];
  readonly data: string;
  readonly command: string;
  readonly machine: { cores: number; cpu: string; platform: string; node: string; backend: string };
  readonly wall_seconds: number;
  readonly tables: ReportTable[];
  readonly verdicts: Verdict[];
  readonly figures: { name: string; caption: string; svg: string }[];
  readonly runs: Omit<RunRow, 'config'>[];
  readonly notes: string[];
}

const points = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
const pp = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(2)}%`);
const accPct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : pct(v);

/** Accuracy of a sweep point in percent, null when it did not finish (diverged or missing). */
function pointAcc(s: SweepData, theta0: number, T: number): number | null {
  const r = pointResult(s, theta0, T);
  return r ? 100 * r.test_accuracy : null;
}

function pointResult(s: SweepData, theta0: number, T: number): SweepPointResult | null {
  const p = s.sweep?.points.find((q) => q.theta0 === theta0 && q.T === T);
  return p?.status === 'done' ? p.result : null;
}

function pointStatus(s: SweepData, theta0: number, T: number): string {
  const p = s.sweep?.points.find((q) => q.theta0 === theta0 && q.T === T);
  return p?.status === 'failed' ? 'diverged' : p?.status === 'done' ? 'done' : 'not run';
}

/** An STCB input beyond this many times the paper's range is a runaway (a note says why). */
export const RUNAWAY_FACTOR = 100;

/**
 * The STCB inputs of the twin's first finished STC run, per layer, on the test set: their range
 * and the share at or above the saturation level, beside the range the paper gives (§4.4.1);
 * and, when a layer's inputs reach {@link RUNAWAY_FACTOR} times that range, a note on the likely
 * cause. Null when no STC run finished or its result has no spike statistics.
 */
function stcInputs(d: ExperimentData): { table: ReportTable; runaway: string | null } | null {
  const run = d.twin!.stc.runs.find((r) => r.status === 'done');
  const stats = run ? (readRunDir(run.dir).result?.spike_stats ?? []) : [];
  if (!run || stats.length === 0) return null;
  const [lo, hi] = PAPER_STCB_INPUT_RANGE[d.experiment.dataset];
  const table: ReportTable = {
    title: `STCB inputs of the STC network (${run.label}, test set) beside the range the paper gives for every STCB (§4.4.1)`,
    header: ['layer', 'input range (ours)', 'saturated, x >= S (ours)', 'fire rate (ours)', 'paper'],
    rows: stats.map((s) => [
      s.layer,
      inputRange(s.inputMin, s.inputMax),
      pctOrDash(saturatedFraction(s)),
      s.fireRate.toFixed(4),
      `${lo} .. ${hi}`,
    ]),
  };
  const size = (s: (typeof stats)[number]) => Math.max(Math.abs(s.inputMin), Math.abs(s.inputMax));
  const worst = stats.reduce((a, s) => (size(s) > size(a) ? s : a));
  const bound = Math.max(Math.abs(lo), Math.abs(hi));
  const stc = run.config?.stc as { gradient?: unknown } | undefined;
  const ranAway = `the STC network's STCB inputs ran away: ${worst.layer} reached ${inputRange(worst.inputMin, worst.inputMax)}, ${RUNAWAY_FACTOR}x or more beyond the paper's ${lo} .. ${hi}.`;
  const why =
    stc?.gradient === 'clipped'
      ? ' (This run used the clipped mask, which gives saturated inputs no gradient.)'
      : " The batch-norm scale before such a layer grows while its inputs saturate: an input at or above S decodes to S whatever its size, yet the paper's ReLU equivalent gradient (this run's) passes gradient through it (docs/semantics.md §1.4), and the layer ends up carrying little more than the sign of its input. The clipped mask (`--gradient clipped`) gives saturated inputs no gradient.";
  const runaway = size(worst) >= RUNAWAY_FACTOR * bound ? ranAway + why : null;
  return { table, runaway };
}

function twinTables(d: ExperimentData): { tables: ReportTable[]; verdicts: Verdict[]; notes: string[] } {
  const tw = d.twin!;
  const paper = d.experiment.paper;
  const ours = (g: typeof tw.stc, k: 'mean' | 'stddev' | 'best') =>
    g.summary && (k !== 'stddev' || g.summary.count > 1) ? 100 * g.summary[k] : null;
  const paperOf = (a: PaperAccuracy | undefined, k: 'mean' | 'stddev' | 'best') => a?.[k] ?? null;
  const rows: string[][] = [];
  for (const [name, g, a] of [
    ['STC', tw.stc, paper?.stc],
    ['ANN', tw.ann, paper?.ann],
  ] as const) {
    for (const k of ['mean', 'stddev', 'best'] as const) {
      const o = ours(g, k);
      const p = paperOf(a, k);
      rows.push([
        `${name} ${k === 'stddev' ? 'std' : k}`,
        pp(o),
        p === null ? NOT_IN_TEXT : pp(p),
        o !== null && p !== null ? points(o - p) : '-',
      ]);
    }
  }
  const gap = tw.stc.summary && tw.ann.summary ? 100 * (tw.stc.summary.mean - tw.ann.summary.mean) : null;
  const paperGap =
    paper?.stc.mean != null && paper?.ann.mean != null ? paper.stc.mean - paper.ann.mean : null;
  rows.push([
    'STC - ANN (mean)',
    gap === null ? '-' : points(gap),
    paperGap === null ? NOT_IN_TEXT : points(paperGap),
    gap !== null && paperGap !== null ? points(gap - paperGap) : '-',
  ]);
  const n = (g: typeof tw.stc) => g.runs.filter((r) => r.status === 'done').length;
  const tables: ReportTable[] = [
    {
      title: `Table 2 row: test accuracy at T = 8 over ${Math.max(n(tw.stc), n(tw.ann))} of ${d.protocol.seeds} seed(s) (ours) and 5 runs (paper)`,
      header: ['quantity', 'ours', 'paper', 'ours - paper (points)'],
      rows,
    },
  ];
  const inputs = stcInputs(d);
  if (inputs) tables.push(inputs.table);
  const verdicts: Verdict[] = [];
  if (gap === null) {
    verdicts.push({
      claim: d.experiment.claim,
      agrees: null,
      text: 'cannot say: the STC or the ANN runs have not finished',
    });
  } else {
    const within = Math.abs(gap) <= TWIN_POINTS;
    verdicts.push({
      claim: d.experiment.claim,
      agrees: within,
      text: within
        ? `agrees: STC is within ${Math.abs(gap).toFixed(2)} points of its ANN twin (STC - ANN = ${points(gap)}; paper: ${paperGap === null ? NOT_IN_TEXT : points(paperGap)})`
        : `disagrees: STC is ${Math.abs(gap).toFixed(2)} points ${gap < 0 ? 'below' : 'above'} its ANN twin (more than ${TWIN_POINTS} point; paper: STC - ANN = ${paperGap === null ? NOT_IN_TEXT : points(paperGap)})`,
    });
    const o = ours(tw.stc, 'mean');
    const p = paper?.stc.mean ?? null;
    if (o !== null && p !== null) {
      verdicts.push({
        claim: `the paper's STC accuracy, ${p.toFixed(2)}% (mean of 5)`,
        agrees: d.scale === 'paper' ? Math.abs(o - p) <= TWIN_POINTS : null,
        text: `${d.scale === 'paper' ? (Math.abs(o - p) <= TWIN_POINTS ? 'agrees' : 'disagrees') : `cannot say at ${d.scale} scale (width ${d.protocol.width}, ${d.protocol.epochs} epoch(s), ${d.protocol.dataset}: the absolute accuracy is not expected to match; the STC - ANN gap is the comparison)`}: ours ${o.toFixed(2)}% is ${Math.abs(o - p).toFixed(2)} points ${o < p ? 'below' : 'above'} the paper's`,
      });
    }
  }
  const notes = inputs?.runaway ? [inputs.runaway] : [];
  const mask = d.protocol.gradients[0];
  if (mask !== 'relu')
    notes.unshift(
      `the STC runs used the ${mask} equivalent-gradient mask (--gradient ${mask}), not the paper's ReLU gradient (docs/semantics.md §1.4)`,
    );
  return { tables, verdicts, notes };
}

/** Values of a sweep's grid axis (theta0 for the theta0 study, T otherwise). */
function axisOf(d: ExperimentData): 'theta0' | 'T' {
  return d.experiment.kind === 'sweep-theta0' ? 'theta0' : 'T';
}

function sweepAccuracyTable(d: ExperimentData): ReportTable {
  const axis = axisOf(d);
  const sweeps = d.sweeps ?? [];
  const grid = sweeps[0]?.grid ?? { theta0: [], T: [] };
  const fixed = axis === 'theta0' ? `T = ${grid.T[0]}` : `theta0 = ${grid.theta0[0]}`;
  const values = axis === 'theta0' ? grid.theta0 : grid.T;
  return {
    title: `Fig. 5: test accuracy against ${axis} (${fixed})`,
    header: [axis, ...sweeps.map((s) => `ours (${s.gradient} mask)`), 'paper'],
    rows: values.map((v) => {
      const [theta0, T] = axis === 'theta0' ? [v, grid.T[0]] : [grid.theta0[0], v];
      return [
        String(v),
        ...sweeps.map((s) => {
          const a = pointAcc(s, theta0, T);
          return a === null ? pointStatus(s, theta0, T) : pp(a);
        }),
        NOT_IN_TEXT,
      ];
    }),
  };
}

function collapseVerdicts(d: ExperimentData): Verdict[] {
  const axis = axisOf(d);
  const out: Verdict[] = [];
  for (const s of d.sweeps ?? []) {
    const ref = axis === 'theta0' ? 0.8 : 8;
    const at = (v: number) =>
      axis === 'theta0' ? pointAcc(s, v, s.grid.T[0]) : pointAcc(s, s.grid.theta0[0], v);
    const finished = (v: number) =>
      (axis === 'theta0' ? pointStatus(s, v, s.grid.T[0]) : pointStatus(s, s.grid.theta0[0], v)) !==
      'not run';
    const values = axis === 'theta0' ? s.grid.theta0 : s.grid.T;
    const base = at(ref);
    const lowEdge = axis === 'theta0' ? 0.8 : 4;
    const below = values.filter((v) => v < lowEdge && finished(v));
    const tag = `${s.gradient} mask`;
    if (base === null || below.length === 0) {
      out.push({
        claim: `accuracy collapses for ${axis} < ${lowEdge}`,
        agrees: null,
        text: `cannot say (${tag}): ${base === null ? `no finished run at ${axis} = ${ref}` : `no finished run at ${axis} < ${lowEdge}`}`,
      });
    } else {
      const accs = below.map((v) => at(v) ?? 0); // diverged: collapsed
      const best = Math.max(...accs);
      const drop = base - best;
      const collapsed = drop >= COLLAPSE_POINTS;
      out.push({
        claim: `accuracy collapses for ${axis} < ${lowEdge}`,
        agrees: collapsed,
        text: `${collapsed ? 'agrees' : 'disagrees'} (${tag}): best accuracy at ${axis} < ${lowEdge} (${below.join(', ')}) is ${best.toFixed(2)}%${accs.some((a, i) => at(below[i]) === null && a === 0) ? ' (diverged runs count as 0)' : ''}, ${points(-drop)} points against ${base.toFixed(2)}% at ${axis} = ${ref} (a collapse is >= ${COLLAPSE_POINTS} points)`,
      });
    }
    if (base === null) continue;
    if (axis === 'theta0') {
      const above = values.filter((v) => v >= 1 && at(v) !== null);
      if (above.length) {
        const worst = Math.min(...above.map((v) => at(v)!));
        const ok = base - worst <= COLLAPSE_POINTS;
        out.push({
          claim: 'reasonable accuracy for theta0 above 1',
          agrees: ok,
          text: `${ok ? 'agrees' : 'disagrees'} (${tag}): the worst accuracy at theta0 >= 1 (${above.join(', ')}) is ${worst.toFixed(2)}%, ${points(worst - base)} points against theta0 = 0.8`,
        });
      }
    } else {
      const above = values.filter((v) => v > 8 && at(v) !== null);
      if (above.length) {
        const best = Math.max(...above.map((v) => at(v)!));
        const gain = best - base;
        const flat = gain <= TWIN_POINTS;
        out.push({
          claim: 'accuracy does not increase significantly for T > 8',
          agrees: flat,
          text: `${flat ? 'agrees' : 'disagrees'} (${tag}): the best accuracy at T > 8 (${above.join(', ')}) is ${best.toFixed(2)}%, ${points(gain)} points over T = 8 (significant: > ${TWIN_POINTS} point)`,
        });
      }
    }
  }
  return out;
}

function statsTables(d: ExperimentData): { tables: ReportTable[]; verdicts: Verdict[] } {
  const rows: string[][] = [];
  const verdicts: Verdict[] = [];
  for (const s of d.sweeps ?? []) {
    const theta0 = s.grid.theta0[0];
    const done = s.grid.T.map((T) => ({ T, r: pointResult(s, theta0, T) })).filter(
      (x): x is { T: number; r: SweepPointResult } => x.r !== null,
    );
    for (const { T, r } of done) {
      const e = r.energy;
      rows.push([
        s.gradient,
        String(T),
        r.mean_fire_rate.toFixed(4),
        si(r.spikes_per_image),
        e ? si(e.snn_acs + e.snn_macs) : '-',
        e ? si(e.ann_macs) : '-',
        e ? joules(e.snn_energy_pj) : '-',
        e ? joules(e.ann_energy_pj) : '-',
        NOT_IN_TEXT,
      ]);
    }
    const tag = `${s.gradient} mask`;
    if (done.length < 2) {
      verdicts.push({
        claim: 'fire rate and spikes per layer grow with T',
        agrees: null,
        text: `cannot say (${tag}): fewer than two finished T`,
      });
      continue;
    }
    const spikes = done.map((x) => x.r.spikes_per_image);
    const grows =
      spikes[spikes.length - 1] > spikes[0] && spikes.every((v, i) => i === 0 || v >= 0.99 * spikes[i - 1]);
    const first = done[0].r;
    const last = done[done.length - 1].r;
    const layersUp = last.layers.filter((l) => {
      const f = first.layers.find((q) => q.layer === l.layer);
      return f ? l.spikes_per_image > f.spikes_per_image : false;
    }).length;
    verdicts.push({
      claim: 'spikes per layer grow with T',
      agrees: grows,
      text: `${grows ? 'agrees' : 'disagrees'} (${tag}): spikes per image ${spikes.map((v) => si(v)).join(' -> ')} over T = ${done.map((x) => x.T).join(', ')}; ${layersUp} of ${last.layers.length} layers spike more at T = ${done[done.length - 1].T} than at T = ${done[0].T}`,
    });
    verdicts.push({
      claim: 'fire rate grows with T',
      agrees: last.mean_fire_rate >= first.mean_fire_rate,
      text: `${last.mean_fire_rate >= first.mean_fire_rate ? 'agrees' : 'disagrees'} (${tag}): mean fire rate ${first.mean_fire_rate.toFixed(4)} at T = ${done[0].T}, ${last.mean_fire_rate.toFixed(4)} at T = ${done[done.length - 1].T}`,
    });
    const withE = done.filter((x) => x.r.energy);
    if (withE.length) {
      const fewer = withE.filter((x) => x.r.energy!.snn_acs + x.r.energy!.snn_macs < x.r.energy!.ann_macs);
      const expected = withE.filter((x) => x.T < 6);
      const same = fewer.length === expected.length && fewer.every((x, i) => x.T === expected[i].T);
      verdicts.push({
        claim: 'fewer FLOPs (ACs + MACs) than the ANN for T < 6',
        agrees: same,
        text: `${same ? 'agrees' : 'disagrees'} (${tag}): fewer FLOPs than the ANN at T in {${fewer.map((x) => x.T).join(', ')}} of {${withE.map((x) => x.T).join(', ')}}`,
      });
      const lower = withE.filter((x) => x.r.energy!.snn_energy_pj < x.r.energy!.ann_energy_pj);
      const all = lower.length === withE.length;
      verdicts.push({
        claim: 'less energy than the ANN at every T up to 16',
        agrees: all,
        text: `${all ? 'agrees' : 'disagrees'} (${tag}): energy below the ANN's at T in {${lower.map((x) => x.T).join(', ')}} of {${withE.map((x) => x.T).join(', ')}}; ANN/SNN energy ratio ${withE.map((x) => `${x.r.energy!.ratio.toFixed(2)}x`).join(', ')}`,
      });
    }
  }
  return {
    tables: [
      {
        title: 'Fig. 6-9: fire rate, spikes, FLOPs and energy per image against T',
        header: [
          'gradient',
          'T',
          'mean fire rate (ours)',
          'spikes/image (ours)',
          'STCSNN FLOPs, ACs+MACs (ours)',
          'ANN FLOPs, MACs (ours)',
          'STCSNN energy (ours)',
          'ANN energy (ours)',
          'paper',
        ],
        rows,
      },
    ],
    verdicts,
  };
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

function figures(d: ExperimentData): Figure[] {
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

/** Runs whose configuration differs from the experiment's protocol (adopted runs), one line each. */
function protocolNotes(d: ExperimentData, runs: readonly RunRow[]): string[] {
  const p = d.protocol;
  const want: Record<string, unknown> = {
    arch: p.arch,
    width: p.width,
    epochs: p.epochs,
    lrSchedule: p.lrSchedule,
    dataset: d.data.dataset,
    limitTrain: p.limitTrain,
    limitTest: p.limitTest,
  };
  const notes: string[] = [];
  for (const r of runs) {
    if (!r.config) continue;
    const diffs = Object.entries(want)
      .filter(([k, v]) => JSON.stringify(r.config![k]) !== JSON.stringify(v))
      .map(
        ([k, v]) =>
          `${k} ${JSON.stringify(r.config![k]) ?? 'unset'} (protocol: ${JSON.stringify(v) ?? 'unset'})`,
      );
    if (diffs.length) notes.push(`${r.label} (${r.dir}) differs from the protocol: ${diffs.join(', ')}`);
  }
  return notes;
}

function mdTable(t: ReportTable): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(esc).join(' | ')} |`,
    `| ${t.header.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/**
 * Writes `report.md`, `report.json` and `figures/*.svg` into the experiment's directory.
 * @returns the report's content
 */
export async function writeExperimentReport(d: ExperimentData, ctx: ReportContext): Promise<ReportFile> {
  const e = d.experiment;
  const runs = d.twin ? [...d.twin.stc.runs, ...d.twin.ann.runs] : (d.sweeps ?? []).flatMap((s) => s.runs);
  let tables: ReportTable[];
  let verdicts: Verdict[];
  let kindNotes: string[] = [];
  if (e.kind === 'twin') ({ tables, verdicts, notes: kindNotes } = twinTables(d));
  else if (e.kind === 'stats-T') ({ tables, verdicts } = statsTables(d));
  else {
    tables = [sweepAccuracyTable(d)];
    verdicts = collapseVerdicts(d);
  }
  const notes = [...protocolNotes(d, runs), ...kindNotes];
  const missing = runs.filter((r) => r.status === 'missing');
  if (missing.length)
    notes.push(
      `${missing.length} of ${runs.length} runs have not finished: ${missing.map((r) => r.label).join(', ')}`,
    );
  makeDirs(join(d.dir, REPORT_FILES.figures));
  const written: WrittenFigure[] = [];
  for (const f of figures(d))
    written.push(await writeFigure(join(d.dir, REPORT_FILES.figures), f, { png: ctx.png === true }));
  const cpu = cpus();
  const machine = {
    cores: cpu.length,
    cpu: cpu[0]?.model ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    backend: ctx.backend,
  };
  const p = d.protocol;
  const protocolLine = `${p.arch}, width ${p.width}, ${p.epochs} epoch(s), ${p.lrSchedule} schedule, ${p.seeds} seed(s)${p.limitTrain ? `, first ${p.limitTrain} training / ${p.limitTest ?? 'all'} test images` : ''}${p.timeBudget ? `, time budget ${p.timeBudget} s per run` : ''}, gradient mask(s) ${p.gradients.join(', ')}`;
  const report: ReportFile = {
    experiment: e.id,
    title: e.title,
    source: e.source,
    scale: d.scale,
    claim: e.claim,
    protocol: p,
    data: d.data.copy,
    command: ctx.command,
    machine,
    wall_seconds: ctx.wallSeconds,
    tables,
    verdicts,
    figures: written.map((f) => ({ name: f.name, caption: f.caption, svg: relative(d.dir, f.svg) })),
    runs: runs.map(({ config: _c, ...r }) => ({ ...r, dir: relative(d.dir, r.dir) || '.' })),
    notes,
  };
  const md = [
    `# ${e.title}`,
    '',
    `${e.source}. The paper's claim: "${e.claim}".`,
    '',
    `- scale: **${d.scale}** (${protocolLine})`,
    `- data: ${d.data.copy}`,
    `- command: \`${ctx.command}\``,
    `- machine: ${machine.cores} cores (${machine.cpu}), ${machine.platform}, Node ${machine.node}, backend ${machine.backend} (each run's backend is in the runs table)`,
    `- wall time of this invocation: ${ctx.wallSeconds.toFixed(1)} s`,
    '',
    '## Results',
    '',
    ...tables.flatMap((t) => [`**${t.title}**`, '', mdTable(t), '']),
    '## Verdicts',
    '',
    ...verdicts.map((v) => `- ${v.claim}: ${v.text}`),
    '',
    '## Figures',
    '',
    ...written.flatMap((f) => [`![${f.caption}](${relative(d.dir, f.svg)})`, '', `*${f.caption}*`, '']),
    '## Runs',
    '',
    mdTable({
      title: 'runs',
      header: ['run', 'status', 'test accuracy', 'best', 'epochs', 'train time (s)', 'backend', 'directory'],
      rows: runs.map((r) => [
        r.label,
        r.status,
        accPct(r.test_accuracy),
        accPct(r.best_test_accuracy),
        r.epochs === null ? '-' : String(r.epochs),
        r.train_seconds === null ? '-' : r.train_seconds.toFixed(1),
        r.backend ?? '-',
        relative(d.dir, r.dir) || '.',
      ]),
    }),
    '',
    ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  writeFileAtomic(reportFile(d.dir, 'markdown'), md);
  writeJsonAtomic(reportFile(d.dir, 'json'), report);
  return report;
}
