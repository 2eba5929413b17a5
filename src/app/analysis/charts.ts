/**
 * Figures for reports: Vega-Lite specifications built from plain data, rendered to SVG in Node
 * by Vega's headless view (no browser, no canvas), and to PNG by resvg where its native
 * package loads (else SVG only).
 *
 * Each builder is a pure function from rows to a {@link Figure}; {@link writeFigure} renders
 * it. Figures follow the paper's: training curves, fire rate per layer (Fig. 6), spikes per
 * layer (Fig. 7), FLOPs against T (Fig. 8), energy against T (Fig. 9), accuracy against
 * theta0 and T (Fig. 5), and the distribution of STEB inputs (§4.4.1).
 */
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import type { EpochLog } from '../rundir/log-file.js';

/** A figure: a file stem, a caption and its Vega-Lite specification. */
export interface Figure {
  /** File name without extension, e.g. `fire-rate`. */
  readonly name: string;
  /** One-line caption for the report. */
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

const WIDTH = 560;
const HEIGHT = 300;
const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';

/** Shared look: white background, readable font sizes. */
const CONFIG = {
  background: 'white',
  font: FONT,
  title: { fontSize: 15, anchor: 'start' as const, subtitleFontSize: 11, subtitleColor: '#555' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  view: { stroke: '#ccc' },
};

/** A title with an optional subtitle; `; `-separated subtitle parts go on separate lines when long. */
function title(text: string, subtitle?: string): { text: string; subtitle?: string | string[] } {
  if (!subtitle) return { text };
  if (subtitle.length <= 90) return { text, subtitle };
  return { text, subtitle: subtitle.split('; ') };
}

/**
 * A figure in the shared look: `spec` (its data, marks and encodings, or its views) under the
 * schema, the title with its subtitle, and {@link CONFIG}.
 */
function figure(
  name: string,
  caption: string,
  heading: { title: string; subtitle?: string },
  spec: Record<string, unknown>,
): Figure {
  return {
    name,
    caption,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: title(heading.title, heading.subtitle),
      ...spec,
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/**
 * Renders a Vega-Lite specification to an SVG document. Vega and Vega-Lite are loaded on first
 * use, so that importing this module (and the CLI) stays fast.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

interface ResvgModule {
  Resvg: new (
    svg: string,
    opts: Record<string, unknown>,
  ) => {
    render(): { asPng(): Uint8Array };
  };
}

let resvg: ResvgModule | null | undefined;

/** Loads `@resvg/resvg-js` once; null when its native package is not available here. */
async function loadResvg(): Promise<ResvgModule | null> {
  if (resvg !== undefined) return resvg;
  try {
    const m = (await import('@resvg/resvg-js')) as unknown as ResvgModule & { default?: ResvgModule };
    resvg = m.Resvg ? m : (m.default ?? null);
  } catch {
    resvg = null;
  }
  return resvg;
}

/**
 * Rasterises an SVG to PNG at `scale` (2 = 2 px per SVG unit) with the system fonts; null when
 * no PNG renderer is available.
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array | null> {
  const m = await loadResvg();
  if (!m) return null;
  const r = new m.Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}

/** Paths of a written figure (`png` null when PNG rendering is unavailable or off). */
export interface WrittenFigure {
  readonly name: string;
  readonly caption: string;
  readonly svg: string;
  readonly png: string | null;
}

/** Writes `<dir>/<name>.svg` (and `.png` when `png` and a renderer are available), atomically. */
export async function writeFigure(
  dir: string,
  fig: Figure,
  opts: { png?: boolean } = {},
): Promise<WrittenFigure> {
  const svg = await renderSvg(fig.spec);
  const svgPath = join(dir, `${fig.name}.svg`);
  writeFileAtomic(svgPath, svg);
  let pngPath: string | null = null;
  if (opts.png !== false) {
    const png = await svgToPng(svg);
    if (png) {
      pngPath = join(dir, `${fig.name}.png`);
      writeFileAtomic(pngPath, png);
    }
  }
  return { name: fig.name, caption: fig.caption, svg: svgPath, png: pngPath };
}

/** One epoch of one run, for {@link trainingCurves}. */
export interface CurvePoint {
  /** Run label (e.g. `seed-1`); one run may use any constant. */
  readonly run: string;
  /** 1-based epoch. */
  readonly epoch: number;
  readonly trainLoss: number;
  /** The epoch's training loss by batch window, in order (`log.jsonl`'s `train_loss_windows`), if recorded. */
  readonly trainLossWindows?: readonly number[];
  readonly testLoss: number;
  /** In 0..1. */
  readonly trainAccuracy: number;
  readonly testAccuracy: number;
}

/** A run's `log.jsonl` as {@link CurvePoint}s labelled `run` (epochs 1-based). */
export function curvePoints(log: readonly EpochLog[], run: string): CurvePoint[] {
  return log.map((m) => ({
    run,
    epoch: m.epoch + 1,
    trainLossWindows: m.train_loss_windows,
    trainLoss: m.train_loss,
    testLoss: m.test_loss,
    trainAccuracy: m.train_accuracy,
    testAccuracy: m.test_accuracy,
  }));
}

/**
 * Training curves: accuracy (%) and loss against epoch, train dashed and test solid, each point
 * marked (a one-epoch run shows its points, not an empty plot); one color per run when there are
 * several. Where the log has the training loss by batch window, the loss panel draws it at
 * fractional epochs (window `k` of `W` in epoch `e` at `e - 1 + (k + 1) / W`), so a short run
 * shows how its loss went within the epoch. The epoch axis starts at 0, with integer ticks.
 */
export function trainingCurves(
  points: readonly CurvePoint[],
  subtitle?: string,
  runs: { title?: string; order?: readonly string[] } = {},
): Figure {
  const runSet = new Set(points.map((p) => p.run));
  const rows = points.flatMap((p) => [
    { run: p.run, epoch: p.epoch, split: 'train', accuracy: 100 * p.trainAccuracy, loss: p.trainLoss },
    { run: p.run, epoch: p.epoch, split: 'test', accuracy: 100 * p.testAccuracy, loss: p.testLoss },
  ]);
  const windowed = points.some((p) => (p.trainLossWindows?.length ?? 0) > 0);
  const lossRows = points.flatMap((p) => {
    const w = p.trainLossWindows ?? [];
    const train =
      w.length > 0
        ? w.map((loss, k) => ({ run: p.run, epoch: p.epoch - 1 + (k + 1) / w.length, split: 'train', loss }))
        : [{ run: p.run, epoch: p.epoch, split: 'train', loss: p.trainLoss }];
    return [...train, { run: p.run, epoch: p.epoch, split: 'test', loss: p.testLoss }];
  });
  const lastEpoch = Math.max(1, ...points.map((p) => p.epoch));
  const color =
    runSet.size > 1
      ? {
          field: 'run',
          type: 'nominal' as const,
          title: runs.title ?? 'run',
          sort: [...(runs.order ?? runSet)],
        }
      : {
          field: 'split',
          type: 'nominal' as const,
          title: 'split',
          scale: { domain: ['train', 'test'], range: ['#f58518', '#4c78a8'] },
          legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 300 },
        };
  const layer = (field: 'accuracy' | 'loss', yTitle: string) => ({
    width: WIDTH / 2 + 20,
    height: HEIGHT - 40,
    title:
      field === 'accuracy'
        ? 'Accuracy'
        : windowed
          ? 'Cross-entropy loss (train: per batch window)'
          : 'Cross-entropy loss',
    data: { values: field === 'accuracy' ? rows : lossRows },
    mark: { type: 'line' as const, strokeWidth: 2, point: { size: 30 } },
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative' as const,
        title: 'epoch',
        scale: { domain: [0, lastEpoch], nice: false },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: {
        field,
        type: 'quantitative' as const,
        title: yTitle,
        scale: { zero: false },
      },
      color,
      strokeDash: {
        field: 'split',
        type: 'nominal' as const,
        title: 'split',
        // dashes in a neutral stroke (the run colours are the other legend)
        legend: {
          symbolType: 'stroke',
          symbolStrokeWidth: 2,
          symbolSize: 300,
          encode: { symbols: { update: { stroke: { value: '#333' } } } },
        },
        scale: {
          domain: ['train', 'test'],
          range: [
            [5, 3],
            [1, 0],
          ],
        },
      },
      detail: { field: 'run', type: 'nominal' as const },
    },
  });
  return figure(
    'training-curves',
    windowed
      ? 'Training curves: accuracy per epoch, loss per epoch (test) and per batch window (train); train dashed, test solid.'
      : 'Training curves: accuracy and loss per epoch (train dashed, test solid).',
    { title: 'Training curves', subtitle },
    { hconcat: [layer('accuracy', 'accuracy (%)'), layer('loss', 'loss')] },
  );
}

/** A value per layer for one series (e.g. one T), for {@link perLayerChart}. */
export interface LayerValue {
  readonly layer: string;
  /** Series label, e.g. `T=8`. */
  readonly series: string;
  readonly value: number;
}

/**
 * A per-layer chart (layers along x in `layerOrder`): bars for one series, lines with points
 * for several.
 */
export function perLayerChart(opts: {
  name: string;
  caption: string;
  title: string;
  subtitle?: string;
  yTitle: string;
  layerOrder: readonly string[];
  rows: readonly LayerValue[];
  seriesTitle?: string;
  yFormat?: string;
  /** Sort series labels numerically by the number in them (e.g. `T=12` after `T=8`). */
  seriesOrder?: readonly string[];
  /** Several series as grouped bars (for categories such as ANN vs SNN) instead of lines. */
  grouped?: boolean;
  /** Log-scaled y axis (for lines only: bars need a zero baseline). */
  logY?: boolean;
  /** The x axis title (default `layer (forward order)`; other categories use the same chart). */
  xTitle?: string;
}): Figure {
  const series = opts.seriesOrder ?? [...new Set(opts.rows.map((r) => r.series))];
  const several = series.length > 1;
  const x = {
    field: 'layer',
    type: 'ordinal' as const,
    sort: [...opts.layerOrder],
    title: opts.xTitle ?? 'layer (forward order)',
    axis: { labelAngle: -50, labelLimit: 220 },
  };
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: opts.yTitle,
    ...(opts.logY ? { scale: { type: 'log' as const } } : {}),
    ...(opts.yFormat ? { axis: { format: opts.yFormat } } : {}),
  };
  const width = Math.max(WIDTH, 28 * opts.layerOrder.length);
  const color = {
    field: 'series',
    type: 'nominal' as const,
    title: opts.seriesTitle ?? 'series',
    sort: [...series],
  };
  const spec =
    several && opts.grouped
      ? {
          mark: { type: 'bar' as const },
          encoding: {
            x,
            y,
            color,
            xOffset: { field: 'series', type: 'nominal' as const, sort: [...series] },
          },
        }
      : several
        ? {
            mark: { type: 'line' as const, point: true },
            encoding: {
              x,
              y,
              color: {
                field: 'series',
                type: 'ordinal' as const,
                title: opts.seriesTitle ?? 'series',
                sort: [...series],
                scale: { scheme: 'viridis' },
              },
            },
          }
        : {
            mark: { type: 'bar' as const, color: '#4c78a8' },
            encoding: { x, y, tooltip: [{ field: 'value', type: 'quantitative' as const }] },
          };
  return figure(opts.name, opts.caption, opts, {
    width,
    height: HEIGHT,
    data: { values: [...opts.rows] },
    ...spec,
  });
}

/** One value against a numeric parameter, per series. */
export interface XYPoint {
  readonly x: number;
  readonly y: number;
  readonly series: string;
}

/** A line chart of `y` against a numeric `x` (optionally log-scaled), one line per series. */
export function lineChart(opts: {
  name: string;
  caption: string;
  title: string;
  subtitle?: string;
  xTitle: string;
  yTitle: string;
  points: readonly XYPoint[];
  logX?: boolean;
  logY?: boolean;
  seriesTitle?: string;
  seriesOrder?: readonly string[];
  yFormat?: string;
  yZero?: boolean;
}): Figure {
  const xs = [...new Set(opts.points.map((p) => p.x))].sort((a, b) => a - b);
  const series = opts.seriesOrder ?? [...new Set(opts.points.map((p) => p.series))];
  return figure(opts.name, opts.caption, opts, {
    width: WIDTH,
    height: HEIGHT,
    data: { values: [...opts.points] },
    mark: { type: 'line', point: { size: 50 } },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: opts.xTitle,
        scale: opts.logX ? { type: 'log' } : { zero: false },
        axis: { values: xs, format: '~g' },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: opts.yTitle,
        scale: opts.logY ? { type: 'log' } : { zero: opts.yZero ?? false },
        ...(opts.yFormat ? { axis: { format: opts.yFormat } } : {}),
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: opts.seriesTitle ?? 'series',
        sort: [...series],
      },
      tooltip: [
        { field: 'x', type: 'quantitative' },
        { field: 'y', type: 'quantitative' },
        { field: 'series', type: 'nominal' },
      ],
    },
  });
}

/** A histogram of one layer: fractions per bin. */
export interface HistogramSeries {
  readonly layer: string;
  /** Bin edges: `bins` equal bins on `[min, max)`. */
  readonly min: number;
  readonly max: number;
  /** Counts of the `bins` inner bins (under/overflow excluded). */
  readonly counts: readonly number[];
  /** Total count including under/overflow (for fractions). */
  readonly total: number;
}

/** The distribution of STEB inputs, one line per layer (fraction of inputs per bin). */
export function inputHistogram(series: readonly HistogramSeries[], subtitle?: string): Figure {
  const rows = series.flatMap((s) => {
    const w = (s.max - s.min) / s.counts.length;
    return s.counts.map((c, i) => ({
      layer: s.layer,
      x: s.min + (i + 0.5) * w,
      fraction: s.total > 0 ? c / s.total : 0,
    }));
  });
  return figure(
    'steb-inputs',
    'Distribution of STEB inputs (membrane potentials) per STCB layer on the evaluation set (paper §4.4.1).',
    { title: 'Distribution of STEB inputs', subtitle },
    {
      width: WIDTH,
      height: HEIGHT,
      data: { values: rows },
      mark: { type: 'line', interpolate: 'step', strokeWidth: 1.5, opacity: 0.85 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: 'STEB input (membrane potential)' },
        y: {
          field: 'fraction',
          type: 'quantitative',
          title: 'fraction of inputs per bin',
          axis: { format: '.1%' },
        },
        color: {
          field: 'layer',
          type: 'nominal',
          title: 'layer',
          sort: series.map((s) => s.layer),
          scale: { scheme: 'viridis' },
        },
      },
    },
  );
}
