/**
 * A run directory as the analysis sees it: `config.json` (read leniently: configurations of any
 * age and flat ones), what identifies the run's network and spike code, its `log.jsonl` and
 * `result.json`, read through the run record's lenient reader (`readRunFiles`,
 * `src/app/rundir/run-record.ts`; the trainer's code is not needed).
 *
 * The reader is lenient about fields it does not use and strict (one-line {@link ConfigError}
 * naming the file) about the ones it needs.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../../lib/core/config.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import { isRecord } from '../rundir/json.js';
import { RUN_FILES, runFile } from '../rundir/layout.js';
import type { EpochLog } from '../rundir/log-file.js';
import type { RunResultFile } from '../rundir/result-file.js';
import { readRunFiles } from '../rundir/run-record.js';

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

/** Reads a run directory. @throws ConfigError when `config.json` is missing or malformed */
export function readRunDir(dir: string): RunDir {
  const cfgPath = runFile(dir, 'config');
  if (!existsSync(cfgPath)) throw new ConfigError(`${dir} is not a run directory (no ${RUN_FILES.config})`);
  const { config, log, result } = readRunFiles(dir);
  return { dir, config, summary: summarizeConfig(config, cfgPath), log, result };
}

/** The spike statistics of a finished run. @throws ConfigError when it has none */
export function runSpikeStats(run: RunDir): LayerSpikeStats[] {
  if (!run.result) {
    throw new ConfigError(
      `${run.dir} has no ${RUN_FILES.result} (the run has not finished), so no spike statistics; pass --fire-rate R`,
    );
  }
  const s = run.result.spike_stats;
  if (!s || s.length === 0) {
    throw new ConfigError(`${runFile(run.dir, 'result')} has no spike statistics; pass --fire-rate R`);
  }
  return s;
}
