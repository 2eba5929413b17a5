/**
 * A sweep directory's `sweep.json` and `sweep.csv` (`stcsnn sweep`, a theta0 x T grid): the base
 * configuration, the grid, the energy constants and every point's state and result; the CSV has
 * one row per point with the same numbers. Written by the sweep driver (`runs/sweep.ts`) after
 * every point, read by it on a rerun, by the analysis reports and the reproduce reports.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../lib/core/config.js';
import { writeFileAtomic, writeJsonAtomic } from '../../lib/util/atomic.js';
import { issueText } from '../config/config.js';
import { jsonNumber, readJsonFile } from './json.js';
import { sweepFile, SWEEP_FILES } from './layout.js';

/** The swept values. */
export const sweepGridSchema = z.object({
  theta0: z.array(jsonNumber).readonly(),
  T: z.array(jsonNumber).readonly(),
});

/** The swept values (see {@link sweepGridSchema}). */
export type SweepGrid = Readonly<z.output<typeof sweepGridSchema>>;

/** Energy totals of a point, per image (snake_case, as in `stcsnn energy --json`). */
export const pointEnergySchema = z.object({
  ann_macs: jsonNumber,
  snn_acs: jsonNumber,
  snn_macs: jsonNumber,
  ann_energy_pj: jsonNumber,
  snn_energy_pj: jsonNumber,
  ratio: jsonNumber,
});

/** Energy totals of a point (see {@link pointEnergySchema}). */
export type PointEnergy = Readonly<z.output<typeof pointEnergySchema>>;

/**
 * What a finished point measured: final and best test accuracy, the overall firing rate
 * (`mean_fire_rate`: all spikes / (all STEB neurons * images * T)), the spikes per image summed
 * over the STCB layers, the same per layer, and the energy (null when not computable).
 */
export const sweepPointResultSchema = z.object({
  test_accuracy: jsonNumber,
  best_test_accuracy: jsonNumber,
  mean_fire_rate: jsonNumber,
  spikes_per_image: jsonNumber,
  layers: z.array(
    z.object({
      layer: z.string(),
      neurons: jsonNumber,
      fire_rate: jsonNumber,
      spikes_per_neuron: jsonNumber,
      spikes_per_image: jsonNumber,
    }),
  ),
  energy: pointEnergySchema.nullable(),
});

/** What a finished point measured (see {@link sweepPointResultSchema}). */
export type SweepPointResult = Readonly<z.output<typeof sweepPointResultSchema>>;

/**
 * One grid point: its id `T<T>_theta0-<theta0>` (also its directory name under `points/`), its
 * values, its run directory relative to the sweep directory, its state and result. `failed`:
 * training diverged (a NaN or infinite loss or gradient; `error` says why); the sweep goes on with
 * the next point and retries this one when rerun.
 */
export const sweepPointSchema = z.object({
  id: z.string(),
  theta0: jsonNumber,
  T: jsonNumber,
  dir: z.string(),
  status: z.enum(['pending', 'done', 'failed']),
  result: sweepPointResultSchema.nullable(),
  error: z.string().optional(),
});

/** One grid point (see {@link sweepPointSchema}). */
export type SweepPoint = Readonly<z.output<typeof sweepPointSchema>>;

/**
 * `sweep.json`: version 1; `base`, the base run configuration (the trainer's `config.json`
 * layout) with the swept `stc.T`/`stc.theta0` set to null, which identifies the sweep; the grid;
 * the energy constants; every point.
 */
export const sweepFileSchema = z.object({
  version: z.literal(1),
  base: z.looseObject({ arch: z.string(), dataset: z.string(), width: jsonNumber }),
  grid: sweepGridSchema,
  energy: z.object({ e_mac_pj: jsonNumber, e_ac_pj: jsonNumber, bn_macs_per_element: jsonNumber }),
  points: z.array(sweepPointSchema),
});

/** `sweep.json` (see {@link sweepFileSchema}). */
export type SweepFile = Readonly<z.output<typeof sweepFileSchema>>;

/** Reads `sweep.json`. @throws ConfigError when missing or malformed */
export function readSweep(dir: string): SweepFile {
  const p = sweepFile(dir, 'sweep');
  if (!existsSync(p)) throw new ConfigError(`${dir} is not a sweep directory (no ${SWEEP_FILES.sweep})`);
  const r = sweepFileSchema.safeParse(readJsonFile(p));
  if (!r.success) {
    const { path, message } = issueText(r.error);
    throw new ConfigError(`${p} is not a version-1 sweep file (${path}: ${message})`);
  }
  return r.data;
}

/** Finished and missing points of a sweep (a point is finished when its `result` is recorded). */
export function sweepStatus(sweep: SweepFile): { done: SweepPoint[]; missing: SweepPoint[] } {
  const done = sweep.points.filter((p) => p.status === 'done' && p.result);
  const missing = sweep.points.filter((p) => !(p.status === 'done' && p.result));
  return { done, missing };
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  const quote = s.includes('"') || s.includes(',') || s.includes('\n');
  return quote ? `"${s.replaceAll('"', '""')}"` : s;
}

/** `sweep.csv`: one row per point; per-layer fire rates as `fire_rate:<layer>` columns. */
export function sweepCsv(sweep: SweepFile): string {
  const layerNames: string[] = [];
  for (const p of sweep.points)
    for (const l of p.result?.layers ?? []) if (!layerNames.includes(l.layer)) layerNames.push(l.layer);
  const head = [
    'id',
    'theta0',
    'T',
    'status',
    'test_accuracy',
    'best_test_accuracy',
    'mean_fire_rate',
    'spikes_per_image',
    'ann_macs',
    'snn_acs',
    'snn_macs',
    'ann_energy_pj',
    'snn_energy_pj',
    'energy_ratio',
    ...layerNames.map((l) => `fire_rate:${l}`),
  ];
  const rows = sweep.points.map((p) => {
    const r = p.result;
    const e = r?.energy;
    const rate = new Map((r?.layers ?? []).map((l) => [l.layer, l.fire_rate]));
    return [
      p.id,
      p.theta0,
      p.T,
      p.status,
      r?.test_accuracy,
      r?.best_test_accuracy,
      r?.mean_fire_rate,
      r?.spikes_per_image,
      e?.ann_macs,
      e?.snn_acs,
      e?.snn_macs,
      e?.ann_energy_pj,
      e?.snn_energy_pj,
      e?.ratio,
      ...layerNames.map((l) => rate.get(l)),
    ];
  });
  return [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** Writes `sweep.json` and `sweep.csv` of a sweep directory, each atomically. */
export function writeSweep(dir: string, sweep: SweepFile): void {
  writeJsonAtomic(sweepFile(dir, 'sweep'), sweep);
  writeFileAtomic(sweepFile(dir, 'csv'), sweepCsv(sweep));
}
