/**
 * The run record: the one object that owns a run directory's life, and the one place that says
 * what state a run is in ({@link runStatus}).
 *
 * - {@link inspectRun} reads where a run stands without changing it (`--resume` planning,
 *   repeats and sweeps deciding what to train);
 * - {@link openRun} opens it for training: the lock (the writing rank), the configuration
 *   checked against the checkpoint's, the world size, the run state and `log.jsonl` (a torn last
 *   line dropped with a notice); it says the epoch to start from and writes nothing;
 * - {@link RunRecord.begin} writes the run's start (once every check of the caller passed too),
 *   {@link RunRecord.commitEpoch} an epoch (best checkpoint, log line, `last.safetensors` as the
 *   commit point), {@link RunRecord.finish} the result;
 * - {@link readRunFiles} reads a run's files leniently, for the analysis.
 *
 * The files' formats are their own modules beside this one (`checkpoint.ts`, `log-file.ts`,
 * `config-file.ts`, `result-file.ts`); their names `layout.ts`.
 */
import { existsSync, rmSync } from 'node:fs';
import { ConfigError } from '../../lib/core/config.js';
import type { Normalization } from '../../lib/data/types.js';
import { identityMismatch, type NetIdentity } from '../../lib/interop/state-dict.js';
import type { Network } from '../../lib/nn/models.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import { makeDirs } from '../../lib/util/fs.js';
import { configHash, hashedConfig, type HashedConfig } from '../config/config-hash.js';
import { configChanges, RESUME_MAY_CHANGE, type TrainConfig } from '../config/config.js';
import {
  CheckpointError,
  loadCheckpoint,
  readCheckpointConfig,
  readRunState,
  saveCheckpoint,
  type MomentumState,
  type RunState,
} from './checkpoint.js';
import * as configFile from './config-file.js';
import { removeStaleTemporaries } from './dirs.js';
import { runFile } from './layout.js';
import { acquireLock, type RunLock } from './lock.js';
import { readEpochLog, readLog, writeLog, type EpochLog, type EpochMetrics } from './log-file.js';
import type { Provenance } from './provenance.js';
import {
  readResult,
  writeResult,
  type RunResultFile,
  type StopReason,
  type TrainResult,
} from './result-file.js';

export type { EpochMetrics, StopReason, TrainResult };

/**
 * The state of a run directory, decided by {@link runStatus} alone:
 * - `new`: no epoch committed yet (nothing to resume from: a resume trains from the start);
 * - `interrupted`: epochs committed, no `result.json` (killed, Ctrl-C, a failure): `--resume` continues;
 * - `stopped`: `result.json` written after fewer epochs than the configuration asks for, by the
 *   time budget (`stopped_by: "time-budget"`, or a run too old to record why): `--resume` continues
 *   to the asked epochs (raise `--time-budget` to train more than one epoch per resume);
 * - `finished`: `result.json` after every asked epoch, or after a hook's early stop: `--resume`
 *   needs `--epochs N` to extend it.
 */
export type RunStatus = 'new' | 'interrupted' | 'stopped' | 'finished';

/**
 * The one decision of a run's state (see {@link RunStatus}), from the epochs its last checkpoint
 * committed, the epochs its configuration asks for and its `result.json` (null when absent).
 */
export function runStatus(
  doneEpochs: number,
  epochs: number,
  result: Pick<RunResultFile, 'stopped_by'> | null,
): RunStatus {
  if (result === null) return doneEpochs === 0 ? 'new' : 'interrupted';
  return doneEpochs < epochs && result.stopped_by !== 'early-stop' ? 'stopped' : 'finished';
}

/** Where a run directory stands, read by {@link inspectRun}. */
export interface RunStanding {
  readonly dir: string;
  /** `config.json`, validated. */
  readonly config: TrainConfig;
  /** Epochs committed (the last checkpoint's epoch + 1; 0 without a checkpoint). */
  readonly doneEpochs: number;
  /** The run's state ({@link runStatus}, with `config.json`'s epochs). */
  readonly status: RunStatus;
  /** Why a `stopped` run stopped (`result.json`'s `stopped_by`; null when it does not say). */
  readonly stoppedBy: StopReason | null;
  /** `result.json`, null when absent. */
  readonly result: RunResultFile | null;
}

/**
 * Where the run in `dir` stands (reads only; call it holding the lock when the answer decides a
 * write): its configuration, checked unedited since the run started, the epochs committed, its
 * state and result.
 * @throws ConfigError when `config.json` is missing or invalid, or was edited since the run
 *   started (naming the changed fields when a checkpoint holds the original), or `result.json`
 *   is not a valid result; CheckpointError for an unreadable checkpoint
 */
export function inspectRun(dir: string): RunStanding {
  const config = configFile.readRunConfig(dir);
  checkSameRun(dir, hashedConfig(config));
  const last = runFile(dir, 'last');
  const doneEpochs = existsSync(last) ? readRunState(last).epoch + 1 : 0;
  const result = readResult(dir);
  const status = runStatus(doneEpochs, config.epochs, result);
  return { dir, config, doneEpochs, status, stoppedBy: result?.stopped_by ?? null, result };
}

/**
 * The one check that `run` (a configuration and its hash) is the run in `dir`, for a resume or a
 * run read back: a field that defines the run (all but `RESUME_MAY_CHANGE`) may not differ from
 * the configuration its last checkpoint was trained with, or, before the first checkpoint, from
 * the hash `config.json` stored when the run started.
 * @throws ConfigError naming `config.json` and every changed field (`stc.T 8 -> 4`), or saying
 *   that `config.json` was edited; CheckpointError in a model file's words when the architecture
 *   differs from the checkpoint's
 */
export function checkSameRun(dir: string, run: HashedConfig): void {
  const source = runFile(dir, 'config');
  const last = runFile(dir, 'last');
  if (!existsSync(last)) {
    const stored = configFile.storedConfigHash(dir);
    if (stored !== undefined && stored !== run.hash)
      throw new ConfigError(
        `${source} was edited after the run started (its config_hash no longer matches); a resume may change only epochs, timeBudget and dataDir (train another configuration in a new run directory)`,
      );
    return;
  }
  // the hashes first (a checkpoint written before the hash was stored: its configuration's)
  const ck = readCheckpointConfig(last);
  if (!ck || (ck.hash ?? configHash(ck.config)) === run.hash) return;
  const changes = configChanges(ck.config, run.config);
  if (changes.length === 0) return;
  // another architecture altogether: say what the checkpoint is, in the words of a model-file
  // mismatch; other edits are named field by field below
  const config = run.config;
  const net = (c: TrainConfig): NetIdentity => ({ arch: c.arch, mode: c.mode, width: c.width, T: c.stc.T });
  const other = ck.config.arch !== config.arch && identityMismatch(last, net(ck.config), net(config));
  if (other) throw new CheckpointError(other);
  throw new ConfigError(
    `${source} differs from the configuration the run's checkpoint ${last} was trained with: ${changes.join(', ')}; ` +
      `a resume may change only ${RESUME_MAY_CHANGE.join(', ')} (train another configuration in a new run directory)`,
  );
}

/** Options of {@link openRun}. */
export interface OpenRunOptions {
  /** Continue from the last checkpoint when there is one (else the run starts afresh). */
  readonly resume?: boolean;
  /** Ranks of a data-parallel run (default 1); a resumed run must keep its world size. */
  readonly worldSize?: number;
  /**
   * Whether this process writes the directory (rank 0; default true): it locks it (re-entrant:
   * the CLI may hold the lock already) and checks the configuration. The other ranks only read
   * it (shared storage) and keep the record's state in step.
   */
  readonly writer?: boolean;
  /** A one-line notice (a torn last line of `log.jsonl` dropped). */
  readonly onNotice?: (line: string) => void;
}

/** The model a {@link RunRecord} checkpoints: the network, its optimiser, what a reader needs. */
export interface RecordedModel {
  readonly net: Network;
  readonly sgd: MomentumState;
  readonly normalization: Normalization;
  readonly classNames?: readonly string[];
}

/** What the trainer adds to a run's result when it finishes (the record holds the rest). */
export interface FinishFields {
  readonly stoppedBy: StopReason | null;
  readonly params: number;
  readonly backend: string;
  /** The final evaluation (with spike statistics). */
  readonly final: {
    readonly accuracy: number;
    readonly perClass: number[];
    readonly confusion: number[][];
    readonly spikeStats?: LayerSpikeStats[];
  };
  /** The last batch's loss (the final loss of a run that trained no epoch). */
  readonly lastLoss: number;
  readonly conversion?: TrainResult['conversion'];
}

/** What {@link RunRecord.begin} writes beside the model. */
export interface RunStart {
  /** This invocation's code, machine and data (the writing rank's; `config.json`, `result.json`). */
  readonly provenance?: Provenance;
  /** A resume's changes, applied once every check passed (the CLI: `config.json`'s new epochs). */
  readonly beforeWrite?: () => void;
}

/** The best test accuracy so far and its epoch (-1: none yet). */
interface Best {
  readonly accuracy: number;
  readonly epoch: number;
}

/**
 * Where {@link openRun} found a run: the epoch to start from, and the run state and log up to
 * it (a fresh run's: nothing yet).
 */
export interface RunStartPoint {
  /** The first epoch this invocation trains (0 for a fresh run; the checkpoint's + 1). */
  readonly epoch: number;
  /** Whether the run had a checkpoint when it was opened. */
  readonly hasCheckpoint: boolean;
  readonly state: Pick<RunState, 'bestAccuracy' | 'bestEpoch' | 'trainSeconds'>;
  readonly log: EpochMetrics[];
}

/**
 * A run directory opened for training ({@link openRun}): its run state (the epoch to start from,
 * the best accuracy, the training seconds, the log) and the writes of its life. Only the writing
 * rank writes; every rank keeps the same state.
 */
export class RunRecord {
  /** The run directory. */
  readonly dir: string;
  /** The configuration this invocation trains. */
  readonly config: TrainConfig;
  /** The first epoch this invocation trains (0 for a fresh run; the checkpoint's + 1). */
  readonly startEpoch: number;
  /** Whether the run had a checkpoint when it was opened. */
  readonly hasCheckpoint: boolean;
  /** The configuration this invocation trains, with its hash (stored in every checkpoint). */
  private readonly run: HashedConfig;
  private best: Best;
  private seconds: number;
  private readonly lines: EpochMetrics[];
  private model: RecordedModel | undefined;
  private provenance: Provenance | undefined;

  /** Use {@link openRun}. */
  constructor(
    dir: string,
    run: HashedConfig,
    from: RunStartPoint,
    private readonly opts: { resume: boolean; worldSize: number; writer: boolean; lock?: RunLock },
  ) {
    this.dir = dir;
    this.config = run.config;
    this.run = run;
    this.startEpoch = from.epoch;
    this.hasCheckpoint = from.hasCheckpoint;
    this.best = { accuracy: from.state.bestAccuracy, epoch: from.state.bestEpoch };
    this.seconds = from.state.trainSeconds;
    this.lines = from.log;
  }

  /** The run's training seconds so far, earlier invocations included. */
  get trainSeconds(): number {
    return this.seconds;
  }

  /** The epochs logged so far (earlier invocations' included). */
  get log(): readonly EpochMetrics[] {
    return this.lines;
  }

  /**
   * The run's start, once the caller's checks passed too (the data, a conversion): `model` is
   * what the commits checkpoint, restored from the checkpoint a resumed run continues from. Then
   * the writing rank writes: a fresh run its `config.json` (with `start.provenance`) and an
   * empty log; a resume calls `start.beforeWrite` (the CLI's changes), removes the result of a
   * finished or stopped run (a continued run is unfinished until it writes its new result) and
   * the temporaries of interrupted writes, and rewrites the log up to the checkpoint.
   * @throws CheckpointError when the checkpoint describes another network or is damaged
   */
  begin(model: RecordedModel, start: RunStart = {}): void {
    const { dir, opts } = this;
    if (opts.resume && this.hasCheckpoint) loadCheckpoint(runFile(dir, 'last'), model.net, model.sgd);
    this.model = model;
    if (opts.writer) {
      if (opts.resume) {
        start.beforeWrite?.();
        rmSync(runFile(dir, 'result'), { force: true });
        removeStaleTemporaries(dir);
      } else configFile.writeRunConfig(dir, this.config, start.provenance);
      writeLog(dir, this.lines);
    }
    // what result.json records: this invocation's provenance, and what changed since the start
    this.provenance = start.provenance && configFile.withChangesSinceStart(dir, start.provenance);
  }

  /**
   * Commits epoch `m.epoch` (`trainSeconds`: its training time): the best checkpoint when its
   * test accuracy is the best so far, its log line, then `last.safetensors` (the commit point).
   */
  commitEpoch(m: EpochMetrics, trainSeconds: number): void {
    const isBest = m.test_accuracy > this.best.accuracy;
    if (isBest) this.best = { accuracy: m.test_accuracy, epoch: m.epoch };
    this.seconds += trainSeconds;
    const W = this.opts.worldSize;
    const state: RunState = {
      epoch: m.epoch,
      bestAccuracy: this.best.accuracy,
      bestEpoch: this.best.epoch,
      trainSeconds: this.seconds,
      ...(W > 1 ? { worldSize: W } : {}),
    };
    this.lines.push(m);
    if (!this.opts.writer) return;
    if (isBest) this.save(state, 'best');
    writeLog(this.dir, this.lines);
    this.save(state, 'last');
  }

  /** Writes the checkpoints named (`last.safetensors` with the optimiser's momentum) of `state`. */
  private save(state: RunState, ...files: ('best' | 'last')[]): void {
    if (!this.opts.writer) return;
    const m = this.model;
    if (!m) throw new Error('RunRecord: begin() before a commit');
    for (const f of files)
      saveCheckpoint(runFile(this.dir, f), m.net, this.run, state, {
        normalization: m.normalization,
        classNames: m.classNames,
        ...(f === 'last' ? { sgd: m.sgd } : {}),
      });
  }

  /**
   * The run's result (the writing rank writes it, `result.json`: the run is done). A network
   * converted from an ANN by this invocation (`f.conversion`) with `epochs` 0 committed no epoch:
   * it is the run's model, checkpointed first as "no epoch yet" (epoch -1).
   */
  finish(f: FinishFields): TrainResult {
    const { config, lines } = this;
    if (f.conversion && config.epochs === 0) {
      this.save({ epoch: -1, bestAccuracy: 0, bestEpoch: -1, trainSeconds: 0 }, 'best', 'last');
    }
    const W = this.opts.worldSize;
    const dataSeconds = lines.reduce((a, m) => a + m.data_seconds, 0);
    const ips = lines.length ? lines.reduce((a, m) => a + m.images_per_second, 0) / lines.length : 0;
    const result: TrainResult = {
      runDir: this.dir,
      dataset: config.dataset,
      arch: config.arch,
      mode: config.mode,
      T: config.stc.T,
      theta0: config.stc.theta0,
      tau: config.stc.tau,
      epochs: lines.length,
      epochs_asked: config.epochs,
      stopped_by: f.stoppedBy,
      params: f.params,
      backend: f.backend,
      seed: config.seed,
      world_size: W,
      global_batch: config.batchSize * W,
      test_accuracy: f.final.accuracy,
      best_test_accuracy: Math.max(this.best.accuracy, f.final.accuracy),
      best_epoch: this.best.epoch,
      final_loss: lines.length ? lines[lines.length - 1].train_loss : f.lastLoss,
      train_seconds: this.seconds,
      images_per_second: ips,
      data_fraction: this.seconds > 0 ? dataSeconds / this.seconds : 0,
      fire_rates: (f.final.spikeStats ?? []).map((s) => ({ layer: s.layer, rate: s.fireRate })),
      spike_stats: f.final.spikeStats ?? [],
      per_class_accuracy: f.final.perClass,
      confusion: f.final.confusion,
      ...(this.provenance ? { provenance: this.provenance } : {}),
      ...(f.conversion ? { conversion: f.conversion } : {}),
    };
    if (this.opts.writer) writeResult(this.dir, result);
    return result;
  }

  /** What a failed invocation left: the last good checkpoint and its epoch, or that there is none. */
  leftBehind(): string {
    const last = runFile(this.dir, 'last');
    return existsSync(last)
      ? `training stopped, the last good checkpoint ${last} (epoch ${readRunState(last).epoch + 1}) is intact`
      : 'training stopped before the first checkpoint';
  }

  /** Releases the lock (the writing rank; re-entrant: the CLI's outer hold stays). */
  close(): void {
    this.opts.lock?.release();
  }
}

/**
 * Opens the run in `dir` for training `config` (see the module doc): reads and checks, writes
 * nothing; release it with {@link RunRecord.close}.
 * @throws LockError when another process writes `dir`; ConfigError/CheckpointError when a resume
 *   changes a field that defines the run, another world size resumes it, or its checkpoint or
 *   `log.jsonl` cannot be read
 */
export function openRun(dir: string, config: TrainConfig, opts: OpenRunOptions = {}): RunRecord {
  const writer = opts.writer ?? true;
  const W = opts.worldSize ?? 1;
  const resume = opts.resume === true;
  if (writer) makeDirs(dir); // component by component (never hangs); a no-op when it exists
  const lock = writer ? acquireLock(dir) : undefined;
  try {
    const run = hashedConfig(config);
    const last = runFile(dir, 'last');
    const hasCheckpoint = existsSync(last);
    const flags = { resume, worldSize: W, writer, lock };
    const fresh = { bestAccuracy: -1, bestEpoch: -1, trainSeconds: 0 };
    if (!resume || !hasCheckpoint)
      return new RunRecord(dir, run, { epoch: 0, hasCheckpoint, state: fresh, log: [] }, flags);
    if (writer) checkSameRun(dir, run);
    const state = readRunState(last);
    if ((state.worldSize ?? 1) !== W)
      throw new CheckpointError(
        `${last} was trained with world size ${state.worldSize ?? 1}; resume it with the same world size (got ${W})`,
      );
    const log = readLog(dir, opts.onNotice).filter((m) => m.epoch <= state.epoch);
    return new RunRecord(dir, run, { epoch: state.epoch + 1, hasCheckpoint, state, log }, flags);
  } catch (e) {
    lock?.release();
    throw e;
  }
}

/** A run directory's files as written, read leniently (the analysis: runs of any age). */
export interface RunFiles {
  /** `config.json` as written. */
  readonly config: Record<string, unknown>;
  readonly log: EpochLog[];
  /** `result.json`, or null while the run has not finished. */
  readonly result: RunResultFile | null;
}

/** Reads a run directory's files leniently. @throws ConfigError when one is malformed */
export function readRunFiles(dir: string): RunFiles {
  return { config: configFile.readConfigJson(dir), log: readEpochLog(dir), result: readResult(dir) };
}
