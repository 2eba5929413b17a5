/**
 * What a report's rules read: the measured data of an experiment's runs, as kept in
 * `report.json` (`runs` and `measured`), so that a report can be rendered again from
 * `report.json` alone when the run directories are gone (`stcsnn reproduce EXP --from-json`).
 *
 * - `runs`: one row per run (status, final and best-epoch test accuracy, its mode, mask,
 *   threshold mode and grid point).
 * - `measured.stcb_test`: per STCB layer of the twin's first finished STC run, its inputs on the
 *   test set (`result.json` `spike_stats`).
 * - `measured.stcb_log`: per epoch and STCB layer of that run, the training figures the trainer
 *   writes into `log.jsonl` under `stcb` (null when its log has none: older runs).
 * - `measured.points`: the result of every finished sweep point (fire rates, spikes, energy).
 * - `measured.protocol_diffs`: runs whose `config.json` differs from the protocol.
 */
import { z } from 'zod';
import type { LearnTheta } from '../../lib/core/config.js';
import type { StcbFigures } from '../../lib/train/monitor.js';
import { stcbFiguresSchema } from '../rundir/log-file.js';
import type { SweepPointResult } from '../rundir/sweep-file.js';

/** How a run ended: finished, stopped by a non-finite loss or gradient, or not (yet) finished. */
export type RunStatus = 'done' | 'diverged' | 'missing';

/** One run of an experiment, as `report.json` keeps it. */
export interface ReportRun {
  /** `stc seed-0`, `sweep-relu T8_theta0-0.8`, ... */
  readonly label: string;
  /** Relative to the experiment's directory. */
  readonly dir: string;
  readonly status: RunStatus;
  /** Final test accuracy (fraction); null unless done. */
  readonly test_accuracy: number | null;
  /** Test accuracy of the best epoch (fraction). */
  readonly best_test_accuracy: number | null;
  readonly epochs: number | null;
  readonly train_seconds: number | null;
  readonly backend: string | null;
  /** `stc` or `ann` (null: the run has not started). */
  readonly mode: 'stc' | 'ann' | null;
  /** Equivalent-gradient mask of an STC run (null: ANN, or not started). */
  readonly gradient: string | null;
  /** Threshold mode of an STC run (null: ANN, or not started). */
  readonly learn_theta: LearnTheta | null;
  readonly T: number | null;
  readonly theta0: number | null;
  /** Why a diverged run stopped. */
  readonly error?: string;
  /** The `report.json` a run was taken from, not retrained (`reproduce --ann-from`). */
  readonly from?: string;
  /**
   * What made the run (its `result.json`'s provenance, else its `config.json`'s; see
   * `rundir/provenance.ts`), compacted; null where the run recorded none, absent in older
   * report.json files.
   */
  readonly provenance?: RunProvenance | null;
  /**
   * The run's training options (its `config.json`, dotted paths, {@link TWIN_EXCLUDED} left
   * out): what `--ann-from` compares between a twin and the runs it joins. Absent in older
   * report.json files.
   */
  readonly training?: Readonly<Record<string, unknown>> | null;
  /**
   * A twin taken by `--ann-from --accept-twin-mismatch` although it differs: what differs, one
   * line each (the report states them first).
   */
  readonly twin_mismatch?: readonly string[];
}

/** A run's provenance as a report keeps it (see `rundir/provenance.ts`). */
export interface RunProvenance {
  readonly commit: string | null;
  readonly modified: boolean | null;
  readonly dist_sha256: string | null;
  readonly cpu: string;
  readonly backend: string;
  readonly threads: number | null;
  /** `fp32` or `bf16` (see `lib/engine/precision.ts`). */
  readonly precision: string;
  readonly data_files_sha256: string | null;
  readonly labels_sha256: string;
  /** What a resume changed (`code`, `machine.cpu`, `data`, ...); empty when nothing did. */
  readonly changed_since_start: readonly string[];
}

/**
 * The configuration fields a twin may differ in from the runs it joins: what makes it the ANN
 * (`mode`, the STC block, the STCB path, the ANN it was converted from, the teacher it was distilled from), where the files are
 * (`dataDir`), the per-invocation time limit, and the seed (twins are paired by seed). Every other field is a training option
 * that must be equal.
 */
export const TWIN_EXCLUDED: readonly string[] = [
  'mode',
  'path',
  'dataDir',
  'timeBudget',
  'seed',
  'initFrom',
  'distillFrom',
  'distillAlpha',
  'distillTemperature',
];

/** Whether `path` (dotted) is a training option a twin must share (see {@link TWIN_EXCLUDED}). */
export function isTwinField(path: string): boolean {
  return !TWIN_EXCLUDED.includes(path) && !path.startsWith('stc.') && path !== 'stc';
}

/** An STCB layer's inputs on the test set. */
export interface StcbTestLayer {
  readonly layer: string;
  readonly input_min: number;
  readonly input_max: number;
  /** Share of inputs at or above the saturation level S; null where it was not recorded. */
  readonly saturated_share: number | null;
  readonly fire_rate: number;
  /**
   * The range as an older report.json printed it, when the numbers above were read back from it
   * (a printed `-0.00` reads back as 0; the report shows this text).
   */
  readonly printed_range?: string;
}

/**
 * An STCB layer's figures over one training epoch as `report.json` keeps them: the log's
 * {@link StcbFigures} without the sample count and the saturation level.
 */
export type StcbEpochLayer = Omit<StcbFigures, 'samples' | 'S'>;

/** The schema of {@link StcbEpochLayer}: the log's, less `samples` and `S` (`report.json` reads with it too). */
export const stcbEpochLayerSchema = stcbFiguresSchema.omit({ samples: true, S: true });

/** The STCB figures of one epoch (`epoch`: 0-based, as in log.jsonl). */
export interface StcbEpoch {
  readonly epoch: number;
  readonly layers: readonly StcbEpochLayer[];
}

/** The measured data of a report beyond its runs. */
export interface Measured {
  readonly stcb_test: { readonly run: string; readonly layers: readonly StcbTestLayer[] } | null;
  readonly stcb_log: { readonly run: string; readonly epochs: readonly StcbEpoch[] } | null;
  readonly points: readonly { readonly run: string; readonly result: SweepPointResult }[];
  /** Runs whose configuration differs from the protocol (adopted runs), one line each. */
  readonly protocol_diffs: readonly string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The `stcb` entry of a log.jsonl epoch line (`stcbFiguresSchema` of `rundir/log-file.ts`), less
 * `samples` and `S`. Null when absent (older logs) or not of that shape; a non-finite figure (a
 * runaway; null in the JSON) is kept as NaN.
 */
export function parseStcbEntry(v: unknown): StcbEpochLayer[] | null {
  const r = z.array(stcbEpochLayerSchema).safeParse(v);
  return r.success ? r.data : null;
}

/** The STCB figures of a run's epoch lines (`{epoch, stcb?}`), in epoch order; empty when none recorded. */
export function stcbEpochs(lines: readonly Record<string, unknown>[]): StcbEpoch[] {
  const out: StcbEpoch[] = [];
  for (const l of lines) {
    const layers = parseStcbEntry(l.stcb);
    if (layers && finite(l.epoch)) out.push({ epoch: l.epoch, layers });
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}

/** The threshold mode of a run configuration (`stc.learnTheta`; absent means `off`). */
export function learnThetaOf(config: Record<string, unknown>): LearnTheta {
  const stc = isRecord(config.stc) ? config.stc : {};
  const v = stc.learnTheta;
  return v === 'layer' || v === 'channel' ? v : 'off';
}

/** How a threshold mode reads in a report. */
export function thresholdWords(m: LearnTheta): string {
  return m === 'off' ? 'fixed thresholds (learnTheta off)' : `thresholds learned per ${m}`;
}
