/**
 * Reading what the trainer leaves on disk, for energy, sweeps and reports, without depending on
 * the trainer's code: a run directory (`config.json`, `log.jsonl`, `result.json`), a repeat
 * group (`repeats.json` + `seed-<n>/` run directories) and a sweep directory (`sweep.json` +
 * `points/<id>/` run directories).
 *
 * The reader is lenient about fields it does not use and strict (one-line {@link ConfigError}
 * naming the file) about the ones it needs.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../lib/core/config.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import type { EpochMetrics } from '../train/train.js';
import { runFile, seedOfDirName, sweepFile, RUN_FILES, SWEEP_FILES } from '../run/layout.js';

/** The fields of one `log.jsonl` line (the trainer's {@link EpochMetrics}) that the analysis reads. */
export type EpochLog = Pick<
  EpochMetrics,
  | 'epoch'
  | 'lr'
  | 'train_loss'
  | 'train_accuracy'
  | 'test_loss'
  | 'test_accuracy'
  | 'seconds'
  | 'train_loss_windows'
  | 'stcb'
  | 'warning'
>;

/** The fields of `result.json` the analysis reads. */
export interface RunResultFile {
  readonly test_accuracy: number;
  readonly best_test_accuracy?: number;
  readonly fire_rates?: { layer: string; rate: number }[];
  readonly spike_stats?: LayerSpikeStats[];
  readonly [key: string]: unknown;
}

/** What identifies a run's network and spike code (from `config.json`). */
export interface RunSummary {
  readonly arch: string;
  readonly mode: string;
  readonly width: number;
  readonly dataset: string;
  readonly T: number;
  readonly theta0: number;
  readonly tau: number;
  readonly seed: number;
  readonly datasetOptions: Record<string, unknown>;
}

/** A run directory, read. */
export interface RunDir {
  readonly dir: string;
  /** `config.json` as written. */
  readonly config: Record<string, unknown>;
  readonly summary: RunSummary;
  readonly log: EpochLog[];
  /** `result.json`, or null while the run has not finished. */
  readonly result: RunResultFile | null;
}

/** What a directory holds. */
export type DirKind = 'run' | 'repeats' | 'sweep';

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(rec: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = rec[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ConfigError(`${file}: ${key} must be a number, got ${JSON.stringify(v)}`);
}

function str(rec: Record<string, unknown>, key: string, file: string, fallback?: string): string {
  const v = rec[key];
  if (typeof v === 'string' && v !== '') return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new ConfigError(`${file}: ${key} must be a string, got ${JSON.stringify(v)}`);
}

/**
 * The identifying fields of a run configuration. Accepts the trainer's layout (`stc: {T,
 * theta0, tau}`) and a flat one (`T`, `theta0`, `tau` at the top level).
 */
export function summarizeConfig(config: Record<string, unknown>, file: string): RunSummary {
  const stc = isRecord(config.stc) ? config.stc : config;
  return {
    arch: str(config, 'arch', file),
    mode: str(config, 'mode', file, 'stc'),
    width: num(config, 'width', file, 1),
    dataset: str(config, 'dataset', file),
    T: num(stc, 'T', file),
    theta0: num(stc, 'theta0', file),
    tau: num(stc, 'tau', file, 2),
    seed: num(config, 'seed', file, 0),
    datasetOptions: isRecord(config.datasetOptions) ? config.datasetOptions : {},
  };
}

/** Reads `log.jsonl` (missing: empty); a torn last line (an interrupted write) is skipped. */
export function readEpochLog(dir: string): EpochLog[] {
  const p = runFile(dir, 'log');
  if (!existsSync(p)) return [];
  const lines = readFileSync(p, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const out: EpochLog[] = [];
  lines.forEach((l, i) => {
    try {
      const v = JSON.parse(l) as unknown;
      if (isRecord(v) && typeof v.epoch === 'number') out.push(v as unknown as EpochLog);
    } catch (e) {
      if (i !== lines.length - 1) throw new ConfigError(`${p}: line ${i + 1} is not valid JSON`);
      void e;
    }
  });
  return out;
}

/** True when `dir` holds a run (`config.json`). */
export function isRunDir(dir: string): boolean {
  return existsSync(runFile(dir, 'config'));
}

/** Reads a run directory. @throws ConfigError when `config.json` is missing or malformed */
export function readRunDir(dir: string): RunDir {
  const cfgPath = runFile(dir, 'config');
  if (!existsSync(cfgPath)) throw new ConfigError(`${dir} is not a run directory (no ${RUN_FILES.config})`);
  const config = readJson(cfgPath);
  if (!isRecord(config)) throw new ConfigError(`${cfgPath}: expected a JSON object`);
  const summary = summarizeConfig(config, cfgPath);
  const resPath = runFile(dir, 'result');
  let result: RunResultFile | null = null;
  if (existsSync(resPath)) {
    const r = readJson(resPath);
    if (!isRecord(r)) throw new ConfigError(`${resPath}: expected a JSON object`);
    num(r, 'test_accuracy', resPath);
    result = r as unknown as RunResultFile;
  }
  return { dir, config, summary, log: readEpochLog(dir), result };
}

/** The spike statistics of a finished run. @throws ConfigError when it has none */
export function runSpikeStats(run: RunDir): LayerSpikeStats[] {
  if (!run.result) {
    throw new ConfigError(
      `${run.dir} has no ${RUN_FILES.result} (the run has not finished), so no spike statistics; pass --fire-rate R`,
    );
  }
  const s = run.result.spike_stats;
  if (!Array.isArray(s) || s.length === 0) {
    throw new ConfigError(`${runFile(run.dir, 'result')} has no spike statistics; pass --fire-rate R`);
  }
  for (const l of s) {
    if (!isRecord(l) || typeof l.layer !== 'string' || typeof l.spikesPerNeuron !== 'number') {
      throw new ConfigError(`${runFile(run.dir, 'result')}: malformed spike_stats entry`);
    }
  }
  return s;
}

/** The run directories of a repeat group: `seed-<n>/` sub-folders, by seed. */
export function repeatRunDirs(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => seedOfDirName(n) !== null && statSync(join(dir, n)).isDirectory())
    .sort((a, b) => (seedOfDirName(a) ?? 0) - (seedOfDirName(b) ?? 0))
    .map((n) => join(dir, n));
}

/** What kind of directory `dir` is. @throws ConfigError when it is none of them */
export function dirKind(dir: string): DirKind {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`${dir} is not a directory`);
  if (existsSync(sweepFile(dir, 'sweep'))) return 'sweep';
  if (existsSync(runFile(dir, 'repeats')) || repeatRunDirs(dir).length > 0) return 'repeats';
  if (isRunDir(dir)) return 'run';
  throw new ConfigError(
    `${dir} is not a run, repeat group or sweep directory (no ${RUN_FILES.config}, ${RUN_FILES.repeats} or ${SWEEP_FILES.sweep})`,
  );
}
