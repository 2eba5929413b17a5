/**
 * Sweeps over the initial threshold theta0 and the spike-train length T (paper §4.4, Fig. 5-9):
 * one training run per grid point, each in its own run directory, with a summary in
 * `sweep.json` and `sweep.csv`.
 *
 * Layout of a sweep directory:
 *
 * ```
 * sweep.json             the base configuration, the grid, the energy constants, every point
 * sweep.csv              one row per point (accuracy, fire rates, spikes, energy)
 * points/T<T>_theta0-<theta0>/   a run directory per point (config.json, log.jsonl, result.json, ...)
 * ```
 *
 * Resuming: a point whose run directory has a `result.json` is finished and never rerun; a point
 * with a run directory but no `result.json` was interrupted and restarts from scratch (its
 * directory is removed first). A sweep directory belongs to one base configuration (everything
 * but T and theta0): running it with another one is refused. The grid may grow or shrink
 * between invocations; finished points are kept by id.
 *
 * The driver ({@link runSweep}) takes the trainer and the energy model as functions, so it is
 * tested with fakes; {@link trainSweep} runs it with the real trainer and `networkEnergy`.
 * File and folder names come from `rundir/layout.ts`, the files' formats from `rundir/sweep-file.ts`.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EnergyConstants, EnergyReport } from '../../lib/analysis/energy.js';
import { networkEnergy, specOfConfig } from '../analysis/run-energy.js';
import { readRunDir } from '../analysis/rundir.js';
import { ConfigError, MAX_T } from '../../lib/core/config.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import {
  ADDED_LATER,
  checkTrainConfig,
  TRAIN_DEFAULTS,
  unflattenConfig,
  type TrainConfig,
} from '../config/config.js';
import { train, type TrainHooks } from '../train/train.js';
import { makeDirs } from '../../lib/util/fs.js';
import type { ProcessGroup } from '../../lib/distributed/process-group.js';
import { gatherRuns, runsOfRank, type GatherOptions } from '../../lib/distributed/runs.js';
import { pointDir, pointId, runFile, sweepFile } from '../rundir/layout.js';
import { configFields } from '../rundir/config-file.js';
import { acquireLock } from '../rundir/lock.js';
import {
  readSweep,
  writeSweep,
  type SweepFile,
  type SweepGrid,
  type SweepPoint,
  type SweepPointResult,
} from '../rundir/sweep-file.js';

/** Checks and normalises a grid: non-empty lists, T integers in 1..64, theta0 > 0; duplicates dropped. */
export function checkGrid(grid: SweepGrid): SweepGrid {
  if (grid.T.length === 0) throw new ConfigError('the T list is empty');
  if (grid.theta0.length === 0) throw new ConfigError('the theta0 list is empty');
  for (const T of grid.T) {
    if (!(Number.isInteger(T) && T >= 1 && T <= MAX_T))
      throw new ConfigError(`T values must be integers in 1..${MAX_T}, got ${T}`);
  }
  for (const t of grid.theta0) {
    if (!(Number.isFinite(t) && t > 0)) throw new ConfigError(`theta0 values must be > 0, got ${t}`);
  }
  return { theta0: [...new Set(grid.theta0)], T: [...new Set(grid.T)] };
}

/** The points of a grid, theta0-major (as the paper's Fig. 5 studies theta0 first). */
export function gridPoints(grid: SweepGrid): { id: string; T: number; theta0: number }[] {
  return grid.theta0.flatMap((theta0) => grid.T.map((T) => ({ id: pointId(T, theta0), T, theta0 })));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

/** The identity of a base configuration: its canonical JSON with T and theta0 nulled. */
export function baseOf(config: object): SweepFile['base'] {
  const given = 'stc' in config && typeof config.stc === 'object' ? config.stc : null;
  const stc = { ...given, T: null, theta0: null };
  return canonical(JSON.parse(JSON.stringify({ ...config, stc }))) as SweepFile['base'];
}

/**
 * `base` with every field it lacks taken from `defaults`, recursively: a sweep file written
 * before a configuration field existed (e.g. `stc.gradient`) meant the value such runs had
 * (`ADDED_LATER`), or else that field's default.
 */
export function withDefaults(base: unknown, defaults: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(base) || !isObj(defaults)) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, d] of Object.entries(defaults)) out[k] = k in base ? withDefaults(base[k], d) : d;
  return out;
}

/** Names the first field where two base configurations differ (`stc.tau: 2 vs 1.5`). */
export function baseDifference(a: unknown, b: unknown, path = ''): string | null {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = baseDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b)
    ? null
    : `${path || '(root)'}: ${JSON.stringify(a) ?? 'unset'} vs ${JSON.stringify(b) ?? 'unset'}`;
}

/** Summarises a finished run's result for the sweep. */
export function pointResult(
  result: { test_accuracy: number; best_test_accuracy?: number; spike_stats?: readonly LayerSpikeStats[] },
  energy: EnergyReport | null,
): SweepPointResult {
  const stats = result.spike_stats ?? [];
  let spikes = 0;
  let slots = 0;
  const layers = stats.map((s) => {
    const perImage = s.spikes / Math.max(1, s.samples);
    spikes += perImage;
    slots += s.neurons * s.T;
    return {
      layer: s.layer,
      neurons: s.neurons,
      fire_rate: s.fireRate,
      spikes_per_neuron: s.spikesPerNeuron,
      spikes_per_image: perImage,
    };
  });
  return {
    test_accuracy: result.test_accuracy,
    best_test_accuracy: result.best_test_accuracy ?? result.test_accuracy,
    mean_fire_rate: slots > 0 ? spikes / slots : 0,
    spikes_per_image: spikes,
    layers,
    energy: energy
      ? {
          ann_macs: energy.total.annMacs,
          snn_acs: energy.total.snnAcs,
          snn_macs: energy.total.snnMacs,
          ann_energy_pj: energy.total.annEnergyPj,
          snn_energy_pj: energy.total.snnEnergyPj,
          ratio: energy.total.ratio,
        }
      : null,
  };
}

/**
 * What the sweep needs of a run configuration: the swept `stc.T` and `stc.theta0` (the
 * trainer's `TrainConfig` is one; tests use smaller ones).
 */
export type SweepConfig = { readonly stc: { readonly T: number; readonly theta0: number } };

/** A grid point being trained: its place in the grid and in the order of training. */
export interface PointInfo {
  readonly id: string;
  readonly T: number;
  readonly theta0: number;
  readonly index: number;
  readonly total: number;
}

/** A training run the sweep asks for; resolves with the run's `result.json` content. */
export type TrainPoint<C extends SweepConfig = SweepConfig> = (
  config: C,
  runDir: string,
  point: PointInfo,
) => Promise<{ test_accuracy: number; best_test_accuracy?: number; spike_stats?: LayerSpikeStats[] }>;

/** What happened to a point: skipped (finished before), restarted, finished or failed. */
export interface SweepEvent {
  readonly kind: 'skip' | 'restart' | 'done' | 'failed';
  readonly id: string;
  readonly result?: SweepPointResult;
  readonly error?: string;
}

/** Options of {@link runSweep}. */
export interface SweepOptions<C extends SweepConfig = SweepConfig> {
  readonly dir: string;
  /** The full run configuration of the trainer (`stc.T`/`stc.theta0` are replaced per point). */
  readonly config: C;
  readonly grid: SweepGrid;
  readonly energyConstants: SweepFile['energy'];
  readonly trainPoint: TrainPoint<C>;
  /** The energy of a point from its configuration and spike statistics; null when not computable. */
  readonly energyOf: (config: C, stats: readonly LayerSpikeStats[], runDir: string) => EnergyReport | null;
  /** Called when a point is skipped (finished before), restarted, or finished. */
  readonly onEvent?: (e: SweepEvent) => void;
  /** Train the points over the ranks of this group (see {@link runSweep}). */
  readonly runsOver?: GatherOptions & { readonly group: ProcessGroup };
}

/**
 * Runs (or resumes) a sweep; returns the final `sweep.json` content.
 *
 * With `runsOver` (a process group of W ranks, `--parallel runs`): rank 0 alone locks the sweep
 * directory, checks it and plans the points; the points still to train are shared out (the
 * `j`-th of them to rank `j mod W`), each rank trains its points alone (each point directory
 * locked and written by the rank that trains it), and after the exchange of the results rank 0
 * writes `sweep.json` and `sweep.csv`. Every rank resolves with the final content.
 * @throws ConfigError when the directory belongs to another base configuration or another
 *   sweep process is running in it
 */
export async function runSweep<C extends SweepConfig>(opts: SweepOptions<C>): Promise<SweepFile> {
  const grid = checkGrid(opts.grid);
  if (opts.runsOver && opts.runsOver.group.rank !== 0) return sweepOnRank(opts, opts.runsOver);
  makeDirs(opts.dir);
  const lock = acquireLock(opts.dir);
  try {
    return await sweepLocked(opts, grid);
  } finally {
    lock.release();
  }
}

async function sweepLocked<C extends SweepConfig>(
  opts: SweepOptions<C>,
  grid: SweepGrid,
): Promise<SweepFile> {
  const { dir } = opts;
  const base = baseOf(opts.config);
  const old = existsSync(sweepFile(dir, 'sweep')) ? readSweep(dir) : null;
  if (old) {
    const legacy = withDefaults(old.base, unflattenConfig(ADDED_LATER));
    const diff = baseDifference(withDefaults(legacy, baseOf(TRAIN_DEFAULTS)), base);
    if (diff) {
      throw new ConfigError(
        `${dir} was written by a different sweep configuration (${diff}); use another --out directory`,
      );
    }
  }
  const oldById = new Map((old?.points ?? []).map((p) => [p.id, p]));
  const planned = gridPoints(grid);
  let points: SweepPoint[] = planned.map((p) => {
    const prev = oldById.get(p.id);
    if (prev && prev.status === 'done' && prev.result) return prev;
    return { ...p, dir: pointDir(p.id), status: 'pending', result: null };
  });
  let sweep: SweepFile = { version: 1, base, grid, energy: opts.energyConstants, points };
  writeSweep(dir, sweep);
  for (const p of points)
    if (p.status === 'done' && p.result) opts.onEvent?.({ kind: 'skip', id: p.id, result: p.result });
  const over = opts.runsOver;
  if (over) await over.group.exchange('sweep/plan', JSON.stringify(points)); // to the other ranks
  const set = (i: number, q: SweepPoint) => {
    points = points.map((o, k) => (k === i ? q : o));
    sweep = { ...sweep, points };
    writeSweep(dir, sweep);
  };
  const trained = await trainPoints(opts, base, points, (i, q) => set(i, q));
  if (!over) return sweep;
  for (const [i, q] of await gatherRuns(over.group, 'sweep/results', trained, over)) points[i] = q;
  sweep = { ...sweep, points };
  writeSweep(dir, sweep);
  return sweep;
}

/** A rank > 0 of a sweep over ranks: rank 0's plan, this rank's share of it, the exchange. */
async function sweepOnRank<C extends SweepConfig>(
  opts: SweepOptions<C>,
  over: NonNullable<SweepOptions<C>['runsOver']>,
): Promise<SweepFile> {
  const plans = await over.group.exchange('sweep/plan', '');
  const points = JSON.parse(plans[0]) as SweepPoint[];
  const base = baseOf(opts.config);
  const trained = await trainPoints(opts, base, points);
  for (const [i, q] of await gatherRuns(over.group, 'sweep/results', trained, over)) points[i] = q;
  const grid = checkGrid(opts.grid);
  return { version: 1, base, grid, energy: opts.energyConstants, points };
}

/**
 * Trains the points of `points` that are not done (with `runsOver`, this rank's share of them),
 * calling `onPoint` with each one's new state; resolves with them by index, or with the Error
 * that stopped this rank when training over ranks (published to the others by the caller).
 */
async function trainPoints<C extends SweepConfig>(
  opts: SweepOptions<C>,
  base: SweepFile['base'],
  points: readonly SweepPoint[],
  onPoint?: (i: number, q: SweepPoint) => void,
): Promise<Map<number, SweepPoint> | Error> {
  const todo = points.flatMap((p, i) => (p.status === 'done' && p.result ? [] : [i]));
  const over = opts.runsOver;
  const mine = over
    ? runsOfRank(todo.length, over.group.rank, over.group.worldSize).map((j) => todo[j])
    : todo;
  const out = new Map<number, SweepPoint>();
  try {
    for (const i of mine) {
      const q = await trainPoint(opts, base, points[i], i, points.length);
      out.set(i, q);
      onPoint?.(i, q);
    }
  } catch (e) {
    if (!over) throw e;
    return e as Error;
  }
  return out;
}

/** Trains point `p` (or takes the result a finished run left); resolves with its new state. */
async function trainPoint<C extends SweepConfig>(
  opts: SweepOptions<C>,
  base: SweepFile['base'],
  p: SweepPoint,
  i: number,
  total: number,
): Promise<SweepPoint> {
  const runDir = join(opts.dir, p.dir);
  const config: C = { ...opts.config, stc: { ...opts.config.stc, T: p.T, theta0: p.theta0 } };
  // a run finished before sweep.json recorded it: take its result
  let result: Awaited<ReturnType<TrainPoint>> | null = null;
  if (existsSync(runFile(runDir, 'result'))) {
    try {
      const run = readRunDir(runDir);
      if (
        !baseDifference(baseOf(configFields(run.config)), base) &&
        run.summary.T === p.T &&
        run.summary.theta0 === p.theta0
      )
        result = run.result as Awaited<ReturnType<TrainPoint>>;
    } catch {
      result = null;
    }
  }
  if (!result) {
    if (existsSync(runDir)) {
      opts.onEvent?.({ kind: 'restart', id: p.id });
      rmSync(runDir, { recursive: true, force: true });
    }
    try {
      result = await opts.trainPoint(config, runDir, { id: p.id, T: p.T, theta0: p.theta0, index: i, total });
    } catch (e) {
      // a diverged run is a result of the study (e.g. a tiny theta0), not a reason to stop
      if (!(e instanceof Error && e.name === 'NumericalError')) throw e;
      const error = e.message.split('\n')[0];
      opts.onEvent?.({ kind: 'failed', id: p.id, error });
      return { ...p, status: 'failed', result: null, error };
    }
  }
  const stats = result.spike_stats ?? [];
  const energy = stats.length ? opts.energyOf(config, stats, runDir) : null;
  const r = pointResult(result, energy);
  opts.onEvent?.({ kind: 'done', id: p.id, result: r });
  return { id: p.id, theta0: p.theta0, T: p.T, dir: p.dir, status: 'done', result: r };
}

/** Where `stcsnn sweep` puts a sweep when no directory is named. */
export function defaultSweepDir(config: TrainConfig): string {
  return resolve(`sweeps/${config.dataset}-${config.arch}-${config.mode}-w${config.width}`);
}

/**
 * Creates a sweep directory (and its parents).
 * @throws ConfigError naming the directory when it cannot be created
 */
export function prepareSweepDir(dir: string): void {
  try {
    makeDirs(dir);
  } catch (e) {
    throw new ConfigError(`sweep directory ${dir} cannot be created: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Options of {@link trainSweep}. */
export interface TrainSweepOptions {
  readonly dir: string;
  /** The base configuration; `stc.T` and `stc.theta0` are set per point. */
  readonly config: TrainConfig;
  readonly grid: SweepGrid;
  readonly constants: EnergyConstants;
  /** The backend's name, recorded in each point's result. */
  readonly backend: string;
  /** Called before a point starts training. */
  readonly onPointStart?: (p: PointInfo) => void;
  /** Progress hooks for the training of a point. */
  readonly hooks?: (p: PointInfo) => TrainHooks | undefined;
  /** Called when a point is skipped (finished before), restarted, or finished. */
  readonly onEvent?: (e: SweepEvent) => void;
  /** Train the points over the ranks of this group (see {@link runSweep}). */
  readonly runsOver?: GatherOptions & { readonly group: ProcessGroup };
}

/**
 * Runs (or resumes) a sweep with the trainer ({@link train}) and the energy of each point
 * from its spike statistics ({@link networkEnergy}); returns the final `sweep.json` content.
 */
export function trainSweep(opts: TrainSweepOptions): Promise<SweepFile> {
  const { constants } = opts;
  return runSweep<TrainConfig>({
    dir: opts.dir,
    config: opts.config,
    grid: opts.grid,
    energyConstants: {
      e_mac_pj: constants.eMac,
      e_ac_pj: constants.eAc,
      bn_macs_per_element: constants.bnMacsPerElement,
    },
    trainPoint: async (config, runDir, p) => {
      const c = checkTrainConfig(config, `sweep point ${p.id}`);
      opts.onPointStart?.(p);
      makeDirs(runDir);
      return train(c, { runDir, backend: opts.backend, hooks: opts.hooks?.(p) });
    },
    energyOf: (config, stats, runDir) =>
      networkEnergy(specOfConfig(config, runDir), { stats, source: 'sweep point' }, constants),
    onEvent: opts.onEvent,
    runsOver: opts.runsOver,
  });
}
