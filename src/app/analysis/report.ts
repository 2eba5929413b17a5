/**
 * Reports: `report.md` and figures (SVG, PNG where resvg loads) for a run directory, a repeat
 * group or a sweep directory.
 *
 * - run: configuration, results, training curves, the runaway monitor's figures per STCB layer
 *   (log.jsonl `stcb`: STEB input max and 99.9th percentile against `S`, saturated share, the
 *   feeding batch norm's |gamma|, and the run's runaway warning), spike statistics per STCB layer
 *   (fire rate, spikes, STEB input distribution) and energy against the ANN twin;
 * - repeat group: the paper's Table-2 row (mean, sample stddev, best of the final test
 *   accuracy), per-seed results, curves of every seed, fire rates and energy averaged over
 *   seeds;
 * - sweep: accuracy against theta0 and T (Fig. 5), fire rate and spikes per layer for each T
 *   (Fig. 6-7), FLOPs and energy against T (Fig. 8-9); points that have not finished are
 *   listed as missing.
 *
 * Energy of runs needs the layer description of the network, built on the active TensorFlow.js
 * backend (see `network.ts`); sweeps carry their energy in `sweep.json`.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { saturatedFraction, type LayerSpikeStats } from '../../lib/nn/stats.js';
import { stcbTable, RUNAWAY_P999_FACTOR } from '../train/monitor.js';
import type { StcbFigures } from '../rundir/log-file.js';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import { makeDirs } from '../../lib/util/fs.js';
import {
  curvePoints,
  inputHistogram,
  lineChart,
  perLayerChart,
  trainingCurves,
  writeFigure,
  type Figure,
  type LayerValue,
  type WrittenFigure,
  type XYPoint,
} from './charts.js';
import { networkEnergy, specOfRun } from './run-energy.js';
import { dirKind, repeatRunDirs, type DirKind } from '../rundir/dirs.js';
import { meanStdBest } from '../rundir/repeats-file.js';
import { readSweep, sweepStatus, type SweepFile, type SweepPointResult } from '../rundir/sweep-file.js';
import type { EnergyConstants, EnergyReport } from './energy.js';
import { inputRange, microjoules, pct, pctOrDash, readable, siCount, times } from './format.js';
import { readRunDir, type RunDir } from './rundir.js';

/** Options of {@link writeReport}. */
export interface ReportOptions {
  /** Also write PNGs (where a renderer is available; default true). */
  readonly png?: boolean;
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

function mdTable(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

class Builder {
  readonly lines: string[] = [];
  readonly figures: Figure[] = [];
  push(...l: string[]): void {
    this.lines.push(...l);
  }
  figure(f: Figure): void {
    this.figures.push(f);
    this.lines.push(`![${f.caption}](figures/${f.name}.svg)`, '', `*${f.caption}*`, '');
  }
}

/**
 * The caption's note on the layers a per-layer figure leaves out (those without operations:
 * pooling, flattening), naming them; empty when it shows every layer.
 */
export function leftOutNote(all: readonly { name: string }[], shown: readonly { name: string }[]): string {
  const kept = new Set(shown.map((l) => l.name));
  const out = all.filter((l) => !kept.has(l.name)).map((l) => l.name);
  if (out.length === 0) return '';
  return ` Left out (no multiply-accumulates or accumulates): ${out.join(', ')}.`;
}

function describe(run: RunDir): string {
  const s = run.summary;
  return `${s.arch} (${s.mode}, width ${s.width}) on ${s.dataset}, T=${s.T}, theta0=${s.theta0}, tau=${s.tau}`;
}

function configTable(run: RunDir): string {
  const c = run.config;
  const stc = (c.stc ?? {}) as Record<string, unknown>;
  const keys: [string, unknown][] = [
    ['dataset', c.dataset],
    ['architecture', c.arch],
    ['mode', c.mode],
    ['width', c.width],
    ['T', stc.T ?? c.T],
    ['theta0', stc.theta0 ?? c.theta0],
    ['tau', stc.tau ?? c.tau],
    ['threshold schedule', stc.schedule ?? c.schedule],
    ['epochs', c.epochs],
    ['batch size', c.batchSize],
    ['learning rate', c.lr],
    ['lr schedule', c.lrSchedule],
    ['seed', c.seed],
  ];
  return mdTable([
    ['setting', 'value'],
    ...keys.filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
  ]);
}

/** Mean statistics over several runs' `spike_stats` (same layers): the mean of each field. */
export function meanSpikeStats(all: readonly (readonly LayerSpikeStats[])[]): LayerSpikeStats[] {
  if (all.length === 0) return [];
  return all[0].map((first) => {
    const same = all.map((s) => s.find((l) => l.layer === first.layer)).filter((l) => l !== undefined);
    const m = (f: (l: LayerSpikeStats) => number) => same.reduce((a, l) => a + f(l), 0) / same.length;
    return {
      ...first,
      samples: same.reduce((a, l) => a + l.samples, 0),
      spikes: same.reduce((a, l) => a + l.spikes, 0),
      spikesPerNeuron: m((l) => l.spikesPerNeuron),
      fireRate: m((l) => l.fireRate),
      histogram: {
        ...first.histogram,
        counts: first.histogram.counts.map((_, i) =>
          same.reduce((a, l) => a + (l.histogram.counts[i] ?? 0), 0),
        ),
      },
      inputMin: Math.min(...same.map((l) => l.inputMin)),
      inputMax: Math.max(...same.map((l) => l.inputMax)),
      ...(same.every((l) => l.saturated !== undefined)
        ? { saturated: same.reduce((a, l) => a + l.saturated!, 0) }
        : { saturated: undefined }),
    };
  });
}

/** Up to `n` items spread evenly over `xs` (first and last included). */
function spread<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]);
}

function spikeSection(b: Builder, stats: readonly LayerSpikeStats[], subtitle: string): void {
  const order = stats.map((s) => s.layer);
  b.push('## Spike statistics', '');
  b.push(
    'Per STCB layer on the evaluation set: input neurons per image, spikes per image (over the whole train), average spike count per neuron (`zeta`, 0..T), firing rate (`zeta / T`), the range of the STEB inputs and the share of them at or above the saturation level `S = sum_t theta(t)` (decoded as `S`; `-` where the run did not record it).',
    '',
  );
  b.push(
    mdTable([
      ['layer', 'neurons', 'spikes / image', 'spikes / neuron', 'fire rate', 'input range', 'saturated'],
      ...stats.map((s) => [
        s.layer,
        readable(s.neurons),
        siCount(s.spikes / Math.max(1, s.samples)),
        s.spikesPerNeuron.toFixed(4),
        s.fireRate.toFixed(4),
        inputRange(s.inputMin, s.inputMax),
        pctOrDash(saturatedFraction(s)),
      ]),
    ]),
    '',
  );
  b.figure(
    perLayerChart({
      name: 'fire-rate',
      caption: 'Average fire rate per STCB layer (spikes per neuron / T; paper Fig. 6).',
      title: 'Fire rate per layer',
      subtitle,
      yTitle: 'fire rate (spikes per neuron / T)',
      layerOrder: order,
      rows: stats.map((s) => ({ layer: s.layer, series: 'run', value: s.fireRate })),
    }),
  );
  b.figure(
    perLayerChart({
      name: 'spikes',
      caption: 'Average number of spikes per image per STCB layer (paper Fig. 7).',
      title: 'Spikes per layer',
      subtitle,
      yTitle: 'spikes per image',
      yFormat: '~s',
      layerOrder: order,
      rows: stats.map((s) => ({ layer: s.layer, series: 'run', value: s.spikes / Math.max(1, s.samples) })),
    }),
  );
  const shown = spread(stats, 6);
  b.figure(
    inputHistogram(
      shown.map((s) => ({
        layer: s.layer,
        min: s.histogram.min,
        max: s.histogram.max,
        counts: s.histogram.counts.slice(1, s.histogram.bins + 1),
        total: s.histogram.counts.reduce((a, c) => a + c, 0),
      })),
      `${subtitle}; ${shown.length} of ${stats.length} layers; inputs outside [${stats[0].histogram.min}, ${stats[0].histogram.max}) not shown`,
    ),
  );
}

function energySection(b: Builder, e: EnergyReport, note: string, subtitle: string): void {
  const t = e.total;
  b.push('## Energy', '');
  b.push(
    `Per image, after docs/semantics.md §3: ANN MACs; SNN ACs = MACs x spikes per input neuron; first layer, CAB (T multiply-adds per output), batch norm (${e.constants.bnMacsPerElement} MACs per element), average pooling and the linear head as MACs; E_MAC = ${e.constants.eMac} pJ, E_AC = ${e.constants.eAc} pJ. ${note}`,
    '',
  );
  b.push(
    mdTable([
      ['network', 'MACs', 'ACs', 'FLOPs', 'energy / image'],
      ['ANN twin', siCount(t.annMacs), '0', siCount(t.annFlops), microjoules(t.annEnergyPj)],
      [
        `STCSNN (T=${e.T})`,
        siCount(t.snnMacs),
        siCount(t.snnAcs),
        siCount(t.snnFlops),
        microjoules(t.snnEnergyPj),
      ],
    ]),
    '',
    `**Energy ratio ANN / STCSNN: ${times(t.ratio)}**`,
    '',
  );
  const shown = e.layers.filter((l) => l.annMacs + l.snnMacs + l.snnAcs > 0);
  b.figure(
    perLayerChart({
      name: 'energy-per-layer',
      caption: `Computation energy per image and layer, ANN twin vs STCSNN (E_MAC ${e.constants.eMac} pJ, E_AC ${e.constants.eAc} pJ).${leftOutNote(e.layers, shown)}`,
      title: 'Energy per layer',
      subtitle: `${subtitle}; total ANN ${microjoules(t.annEnergyPj, 3)}, STCSNN ${microjoules(t.snnEnergyPj, 3)} (${times(t.ratio)})`,
      yTitle: 'energy per image (nJ)',
      grouped: true,
      seriesTitle: 'network',
      seriesOrder: ['ANN twin', 'STCSNN'],
      layerOrder: shown.map((l) => l.name),
      rows: shown.flatMap((l) => [
        { layer: l.name, series: 'ANN twin', value: l.annEnergyPj / 1e3 },
        { layer: l.name, series: 'STCSNN', value: l.snnEnergyPj / 1e3 },
      ]),
    }),
  );
  b.push(
    '<details><summary>per layer</summary>',
    '',
    mdTable([
      ['layer', 'kind', 'ANN MACs', 'SNN ACs', 'SNN MACs', 'SNN energy (nJ)'],
      ...e.layers
        .filter((l) => l.annMacs + l.snnMacs + l.snnAcs > 0)
        .map((l) => [
          l.name,
          l.kind,
          siCount(l.annMacs),
          l.kind === 'stcb-conv' ? siCount(l.snnAcs) : '-',
          siCount(l.snnMacs),
          (l.snnEnergyPj / 1e3).toFixed(2),
        ]),
    ]),
    '',
    '</details>',
    '',
  );
}

function energyFromStats(
  run: RunDir,
  stats: readonly LayerSpikeStats[],
  c?: Partial<EnergyConstants>,
): EnergyReport {
  return networkEnergy(specOfRun(run.summary, run.dir), { stats, source: run.dir }, c);
}

/** The energy section, or a note saying why it could not be computed (the rest of the report stands). */
function tryEnergySection(
  b: Builder,
  run: RunDir,
  stats: readonly LayerSpikeStats[],
  opts: ReportOptions,
  note: string,
  subtitle: string,
): void {
  let e: EnergyReport;
  try {
    e = energyFromStats(run, stats, opts.constants);
  } catch (err) {
    b.push('## Energy', '', `Not computed: ${(err as Error).message.split('\n')[0]}`, '');
    return;
  }
  energySection(b, e, note, subtitle);
}

/**
 * The runaway monitor's section of a run report (log.jsonl `stcb`, `warning`): the run's warning,
 * the last epoch's figures per STCB layer, and per epoch the layer with the largest
 * `p99.9 / S`; "not recorded" for logs written before the monitor.
 */
function monitorSection(b: Builder, run: RunDir): void {
  b.push('## Saturation of the STCB inputs (runaway monitor)', '');
  const epochs = run.log.filter(
    (m): m is typeof m & { stcb: StcbFigures[] } => Array.isArray(m.stcb) && m.stcb.length > 0,
  );
  if (!epochs.length) {
    b.push('Not recorded (the log predates the runaway monitor, or no epoch has finished).', '');
    return;
  }
  const warned = run.log.find((m) => typeof m.warning === 'string');
  b.push(
    warned
      ? `**Warning (epoch ${warned.epoch + 1}):** ${warned.warning}`
      : `No runaway: no layer's STEB input reached ${RUNAWAY_P999_FACTOR} x S at its 99.9th percentile in any epoch.`,
    '',
  );
  const last = epochs[epochs.length - 1];
  b.push(
    `Per STCB layer at the end of epoch ${last.epoch + 1}, on the first ${last.stcb[0].samples} test samples (docs/reliability.md, "Saturation runaway"): the STEB input's max and 99.9th percentile against the saturation level \`S = sum_t theta(t)\` (in units of theta0 for learned thresholds), its shares at or above S and at or below 0, the fire rate, and the batch norm that feeds the layer with its mean and max |gamma|.`,
    '',
    mdTable(stcbTable(last.stcb)),
    '',
  );
  if (epochs.length > 1) {
    const worst = (fs: readonly StcbFigures[]) =>
      fs.reduce((a, f) => (!(f.input_p999 / f.S <= a.input_p999 / a.S) ? f : a));
    b.push(
      'Per epoch, the layer with the largest 99.9th percentile against S:',
      '',
      mdTable([
        ['epoch', 'layer', 'p99.9 / S', 'x >= S', 'batch norm', 'gamma, max abs'],
        ...epochs.map((m) => {
          const row = stcbTable([worst(m.stcb)])[1];
          return [String(m.epoch + 1), row[0], row[4], row[5], row[8], row[10]];
        }),
      ]),
      '',
    );
  }
}

function runReport(b: Builder, run: RunDir, opts: ReportOptions): string[] {
  b.push(`# Run report`, '', `\`${run.dir}\`: ${describe(run)}`, '');
  b.push('## Configuration', '', configTable(run), '');
  b.push('## Results', '');
  const missing: string[] = [];
  if (run.result) {
    const r = run.result;
    const rows = [
      ['final test accuracy', pct(r.test_accuracy)],
      [
        'best test accuracy',
        `${pct(r.best_test_accuracy ?? NaN)}${typeof r.best_epoch === 'number' ? ` (epoch ${r.best_epoch + 1})` : ''}`,
      ],
      ['epochs', String(run.log.length)],
    ];
    if (typeof r.train_seconds === 'number') rows.push(['training time', `${r.train_seconds.toFixed(1)} s`]);
    if (typeof r.params === 'number') rows.push(['parameters', r.params.toLocaleString('en-US')]);
    b.push(mdTable([['metric', 'value'], ...rows]), '');
  } else {
    missing.push(run.dir);
    b.push(
      `The run has not finished (no \`result.json\`): ${run.log.length} epoch(s) logged.${run.log.length ? ` Last test accuracy ${pct(run.log[run.log.length - 1].test_accuracy)}.` : ''}`,
      '',
    );
  }
  if (run.log.length) b.figure(trainingCurves(curvePoints(run.log, 'run'), describe(run)));
  if (run.summary.mode === 'stc') monitorSection(b, run);
  const stats = run.result?.spike_stats;
  if (Array.isArray(stats) && stats.length) {
    spikeSection(b, stats, describe(run));
    tryEnergySection(b, run, stats, opts, 'Spike counts recorded on the test set.', describe(run));
  } else if (run.result) {
    b.push('## Spike statistics', '', 'None recorded (an ANN run, or evaluated without statistics).', '');
  }
  return missing;
}

function repeatsReport(b: Builder, dir: string, opts: ReportOptions): string[] {
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
    mdTable([
      ['dataset', 'architecture', 'T', 'mean (%)', 'stddev (%)', 'best (%)', 'runs'],
      [
        first.summary.dataset,
        first.summary.arch.toUpperCase(),
        String(first.summary.T),
        (100 * acc.mean).toFixed(2),
        (100 * acc.stddev).toFixed(2),
        (100 * acc.best).toFixed(2),
        `${acc.count}${missing.length ? ` of ${runs.length}` : ''}`,
      ],
    ]),
    '',
  );
  if (missing.length)
    b.push(`**Unfinished seeds:** ${missing.map((m) => `\`${relative(dir, m)}\``).join(', ')}`, '');
  b.push(
    '## Seeds',
    '',
    mdTable([
      ['seed', 'final test accuracy', 'best test accuracy', 'epochs'],
      ...runs.map((r) => [
        String(r.summary.seed),
        r.result ? pct(r.result.test_accuracy) : 'unfinished',
        r.result ? pct(r.result.best_test_accuracy ?? NaN) : '-',
        String(r.log.length),
      ]),
    ]),
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

const tLabel = (T: number) => `T=${T}`;
const thetaLabel = (t: number) => `theta0=${t}`;

function sweepReport(b: Builder, dir: string): string[] {
  const sweep: SweepFile = readSweep(dir);
  const { done, missing } = sweepStatus(sweep);
  const base = sweep.base;
  const what = `${base.arch} (width ${base.width}) on ${base.dataset}`;
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
  const Ts = [...sweep.grid.T].sort((a, x) => a - x);
  const thetas = [...sweep.grid.theta0].sort((a, x) => a - x);
  b.push('## Results', '');
  b.push(
    mdTable([
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
    ]),
    '',
  );
  if (done.length === 0) return missing.map((p) => p.id);
  const sub = what;
  // Fig. 5: accuracy against theta0 (one line per T) and against T (one line per theta0)
  if (thetas.length > 1) {
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
        seriesOrder: Ts.map(tLabel),
        points: done.map((p) => ({ x: p.theta0, y: 100 * p.result!.test_accuracy, series: tLabel(p.T) })),
      }),
    );
  }
  if (Ts.length > 1) {
    b.figure(
      lineChart({
        name: 'accuracy-vs-T',
        caption: 'Test accuracy against the spike-train length T (paper Fig. 5).',
        title: 'Accuracy against T',
        subtitle: sub,
        xTitle: 'spike-train length T',
        yTitle: 'final test accuracy (%)',
        seriesTitle: 'threshold',
        seriesOrder: thetas.map(thetaLabel),
        points: done.map((p) => ({ x: p.T, y: 100 * p.result!.test_accuracy, series: thetaLabel(p.theta0) })),
      }),
    );
  }
  // Fig. 6-9 at one theta0 (the paper's 0.8 where swept, else the first) per T
  const theta = thetas.includes(0.8)
    ? 0.8
    : thetas.includes(2) && base.dataset === 'cifar10-dvs'
      ? 2
      : thetas[0];
  const atTheta = done.filter((p) => p.theta0 === theta).sort((a, x) => a.T - x.T);
  const subT = `${what}, theta0=${theta}`;
  // training curves of the points at that theta0, one color per T
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
  const withStats = atTheta.filter((p) => p.result!.layers.length > 0);
  if (withStats.length) {
    const order = withStats[0].result!.layers.map((l) => l.layer);
    const series = withStats.map((p) => tLabel(p.T));
    const rows = (f: (l: SweepPointResult['layers'][number]) => number): LayerValue[] =>
      withStats.flatMap((p) =>
        p.result!.layers.map((l) => ({ layer: l.layer, series: tLabel(p.T), value: f(l) })),
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
  const withEnergy = atTheta.filter((p) => p.result!.energy);
  if (withEnergy.length) {
    const flops: XYPoint[] = withEnergy.flatMap((p) => {
      const e = p.result!.energy!;
      return [
        { x: p.T, y: e.ann_macs, series: 'ANN (MACs)' },
        { x: p.T, y: e.snn_acs + e.snn_macs, series: 'STCSNN (ACs + MACs)' },
        { x: p.T, y: e.snn_acs, series: 'STCSNN ACs' },
        { x: p.T, y: e.snn_macs, series: 'STCSNN MACs' },
      ];
    });
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
    const energy: XYPoint[] = withEnergy.flatMap((p) => {
      const e = p.result!.energy!;
      return [
        { x: p.T, y: e.ann_energy_pj / 1e6, series: 'ANN twin' },
        { x: p.T, y: e.snn_energy_pj / 1e6, series: 'STCSNN' },
      ];
    });
    b.figure(
      lineChart({
        name: 'energy-vs-T',
        caption: `Computation energy per image against T (E_MAC ${sweep.energy.e_mac_pj} pJ, E_AC ${sweep.energy.e_ac_pj} pJ; paper Fig. 9).`,
        title: 'Energy against T',
        subtitle: `${subT}; ratios ${withEnergy.map((p) => `T=${p.T}: ${times(p.result!.energy!.ratio, 1)}`).join(', ')}`,
        xTitle: 'spike-train length T',
        yTitle: 'energy per image (µJ)',
        yZero: true,
        seriesTitle: 'network',
        points: energy,
      }),
    );
  }
  return missing.map((p) => p.id);
}

/**
 * Writes `DIR/report.md` and `DIR/figures/*.svg` (and `.png`) for a run, repeat group or sweep.
 * @throws ConfigError when `dir` is none of them or its files are malformed
 */
export async function writeReport(dir: string, opts: ReportOptions = {}): Promise<ReportResult> {
  const kind = dirKind(dir);
  const b = new Builder();
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
  writeFileAtomic(report, b.lines.join('\n'));
  return { kind, report, figures, missing };
}
