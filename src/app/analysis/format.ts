/**
 * Number formatting for every printed or written figure (CLI output, `report.md`, the energy
 * summary at the end of `stcsnn train`): one home per style, so that the same quantity reads
 * the same everywhere. (The runaway monitor's own style, `MONITOR_STYLE`, is the library's:
 * `src/lib/analysis/stcb-rows.ts`.)
 */
import type { StcbStyle } from '../../lib/analysis/stcb-rows.js';

/** A fraction as a percentage with `digits` decimals (`0.9123` -> `91.23%`); `-` when not finite. */
export function pct(v: number, digits = 2): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '-';
}

/** A ratio with `digits` decimals and an `x` (`12.345` -> `12.35x`). */
export function times(v: number, digits = 2): string {
  return `${v.toFixed(digits)}x`;
}

/**
 * A count with SI prefixes, compact (`1.23M`, `456k`; T, G, M, k; `digits` significant
 * digits); below 1000: integers as they are, others to `digits` significant digits.
 */
export function si(v: number, digits = 3): string {
  const a = Math.abs(v);
  if (a >= 1e12) return `${(v / 1e12).toPrecision(digits)}T`;
  if (a >= 1e9) return `${(v / 1e9).toPrecision(digits)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(digits)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(digits)}k`;
  return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
}

/** A number for tables: integers with thousands separators, others to `digits` significant digits; `-` when not finite. */
export function readable(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return '-';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toPrecision(digits);
}

/** A count with SI prefixes and fixed decimals, for report tables (`1.234 M`, `12.35 k`, else {@link readable}). */
export function siCount(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(3)} G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(3)} M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(2)} k`;
  return readable(v);
}

/** Energy given in pJ, in the unit that suits it (pJ, nJ, uJ, mJ; 4 significant digits). */
export function joules(pj: number): string {
  const a = Math.abs(pj);
  if (a >= 1e9) return `${(pj / 1e9).toPrecision(4)} mJ`;
  if (a >= 1e6) return `${(pj / 1e6).toPrecision(4)} uJ`;
  if (a >= 1e3) return `${(pj / 1e3).toPrecision(4)} nJ`;
  return `${pj.toPrecision(4)} pJ`;
}

/** Energy given in pJ, in µJ to `digits` significant digits (`1.23 µJ`). */
export function microjoules(pj: number, digits = 4): string {
  return `${(pj / 1e6).toPrecision(digits)} µJ`;
}

/**
 * A layer's STEB input range for tables: `-1.23 .. 4.56` (two decimals; `e` notation from 1e4 on,
 * where a runaway scale would print a dozen digits).
 */
export function inputRange(min: number, max: number): string {
  return `${decimal(min)} .. ${decimal(max)}`;
}

/**
 * A measured figure for tables and notes: two decimals (`12.35`), `e` notation from 1e4 on
 * (`1.58e+10`, where a runaway would print a dozen digits); `Infinity`, `NaN` as such.
 */
export function decimal(v: number): string {
  return Math.abs(v) >= 1e4 || !Number.isFinite(v) ? v.toExponential(2) : v.toFixed(2);
}

/** A difference in points with its sign and two decimals (`+0.15`, `-0.92`). */
export function signed(v: number): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
}

/** A fraction that may not have been recorded (older results): {@link pct}, else `-`. */
export function pctOrDash(v: number | null, digits = 2): string {
  return v === null ? '-' : pct(v, digits);
}

/** The experiment reports' style of STCB tables: two decimals (`e` notation from 1e4), shares to two decimals. */
export const REPORT_STYLE: StcbStyle = { number: decimal, share: (v) => pct(v) };
