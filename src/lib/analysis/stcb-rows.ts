/**
 * The one renderer of the runaway monitor's figures per STCB layer (`src/lib/train/monitor.ts`;
 * log.jsonl `stcb`) as table cells: the web page's and `stcsnn eval`'s table, the monitor section
 * of a run's `report.md`, and the STCB tables of an experiment report (`src/app/reproduce/`, in
 * its own style, `REPORT_STYLE` of `src/app/analysis/format.ts`). A table picks its columns (each
 * with its header) and a style of numbers; `-` where a figure is absent (no feeding batch norm, no
 * `S` recorded, no figures for the layer at all).
 */
import { monitorNumber } from '../train/monitor.js';

/** The figures of one STCB layer a row shows (one entry of log.jsonl `stcb`; `S` where recorded). */
export interface StcbRowFigures {
  readonly layer: string;
  /** The saturation level `S = sum_t theta(t)` of the code the figures are in. */
  readonly S?: number;
  readonly input_max: number;
  readonly input_p999: number;
  readonly saturated_share: number;
  readonly nonpositive_share: number;
  readonly fire_rate: number;
  readonly bn: {
    readonly layer: string;
    readonly gamma_abs_mean: number;
    readonly gamma_abs_max: number;
  } | null;
}

/** A column of an STCB table. */
export type StcbColumn =
  | 'layer'
  | 'S'
  | 'input_max'
  | 'input_p999'
  | 'p999_over_S'
  | 'saturated'
  | 'nonpositive'
  | 'fire_rate'
  | 'bn'
  | 'gamma_mean'
  | 'gamma_max';

/** A column and its header. */
export type StcbColumnSpec = readonly [column: StcbColumn, header: string];

/** How an STCB table writes magnitudes (inputs, `S`, `|gamma|`) and shares. */
export interface StcbStyle {
  readonly number: (v: number) => string;
  readonly share: (v: number) => string;
}

/** The monitor's own style: three significant digits, shares to one decimal (`25.0%`). */
export const MONITOR_STYLE: StcbStyle = {
  number: monitorNumber,
  share: (v) => `${(100 * v).toFixed(1)}%`,
};

/** The monitor's table: every column, with the short headers of `stcsnn eval` and a run's report. */
export const MONITOR_COLUMNS: readonly StcbColumnSpec[] = [
  ['layer', 'layer'],
  ['S', 'S'],
  ['input_max', 'input max'],
  ['input_p999', 'p99.9'],
  ['p999_over_S', 'p99.9 / S'],
  ['saturated', 'x >= S'],
  ['nonpositive', 'x <= 0'],
  ['fire_rate', 'fire rate'],
  ['bn', 'batch norm'],
  ['gamma_mean', 'gamma, mean abs'],
  ['gamma_max', 'gamma, max abs'],
];

function cell(f: StcbRowFigures, c: StcbColumn, st: StcbStyle): string {
  switch (c) {
    case 'layer':
      return f.layer;
    case 'S':
      return f.S === undefined ? '-' : st.number(f.S);
    case 'input_max':
      return st.number(f.input_max);
    case 'input_p999':
      return st.number(f.input_p999);
    case 'p999_over_S':
      return f.S === undefined ? '-' : st.number(f.input_p999 / f.S);
    case 'saturated':
      return st.share(f.saturated_share);
    case 'nonpositive':
      return st.share(f.nonpositive_share);
    case 'fire_rate':
      return f.fire_rate.toFixed(4);
    case 'bn':
      return f.bn?.layer ?? '-';
    case 'gamma_mean':
      return f.bn ? st.number(f.bn.gamma_abs_mean) : '-';
    case 'gamma_max':
      return f.bn ? st.number(f.bn.gamma_abs_max) : '-';
  }
}

/** The headers of `columns`. */
export function stcbHeader(columns: readonly StcbColumnSpec[]): string[] {
  return columns.map(([, h]) => h);
}

/** One layer's cells in `columns`; every cell `-` when the layer has no figures (`undefined`). */
export function stcbCells(
  f: StcbRowFigures | undefined,
  columns: readonly StcbColumnSpec[],
  style: StcbStyle,
): string[] {
  return columns.map(([c]) => (f === undefined ? '-' : cell(f, c, style)));
}

/**
 * The monitor's figures as a table (header first), for `stcsnn eval` and a run's `report.md`:
 * per layer `S`, the input's max, 99.9th percentile and its ratio to `S`, the shares `x >= S` and
 * `x <= 0`, the fire rate, and the feeding batch norm with its mean and max `|gamma|`.
 */
export function stcbTable(figures: readonly StcbRowFigures[]): string[][] {
  return [stcbHeader(MONITOR_COLUMNS), ...figures.map((f) => stcbCells(f, MONITOR_COLUMNS, MONITOR_STYLE))];
}
