/**
 * The training loop: SGD on cross-entropy with the paper's equivalent gradient (built into the
 * STCBs), evaluation every epoch, crash-safe checkpoints and logs in a run directory, resume.
 *
 * Run directory:
 *
 * | file                          | content                                                        |
 * |-------------------------------|----------------------------------------------------------------|
 * | `config.json`                 | the full {@link TrainConfig}                                   |
 * | `log.jsonl`                   | one {@link EpochMetrics} object per finished epoch             |
 * | `last.safetensors`            | weights, buffers, momentum and run state after the last epoch  |
 * | `best.safetensors`            | the weights with the best test accuracy                        |
 * | `result.json`                 | the final {@link TrainResult}                                  |
 *
 * Every file is written atomically, through `src/app/rundir/` (its layout and file formats);
 * `last.safetensors` is the commit point of an epoch.
 *
 * Data-parallel training ({@link TrainOptions.processGroup}, world size `W`): every rank builds
 * the same network from the seed and reads its shard of every global batch of `batchSize * W`
 * samples (src/lib/data/sampler.ts); before each optimiser step the gradients are replaced by
 * `sum_r w_r g_r` (bucketed all-reduce, `w_r` the shard's share of the global batch), so every
 * rank takes the step one process would take on the global batch, except for batch norm: by
 * default each rank normalises with its own shard's batch statistics (per-rank batch norm, as
 * PyTorch's DDP without SyncBatchNorm), and the running statistics are averaged over the ranks
 * at the end of every epoch; with `syncBn` every batch-norm layer normalises with the global
 * batch's statistics (src/lib/nn/sync-bn.ts: synchronous all-reduces in the forward and backward
 * passes), which makes the ranks one process on the global batch, running statistics included. Loss, accuracy and images/s are summed over the ranks. Every rank evaluates the
 * whole test set (identical results). Only rank 0 writes the run directory; at start-up the
 * ranks compare a hash of the configuration, and a resumed run must keep its world size.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader } from '../../lib/data/loader.js';
import { datasetInfo, normalizationFor, openDataset } from '../../lib/data/registry.js';
import type { Dataset, Normalization } from '../../lib/data/types.js';
import { agreeOn, stableHash } from '../../lib/distributed/handshake.js';
import { localProcessGroup, type ProcessGroup } from '../../lib/distributed/process-group.js';
import {
  allReduceGradients,
  allReduceNumbers,
  averageBuffers,
  type SyncStats,
} from '../../lib/distributed/grad-sync.js';
import { buildNetwork, type ArchConfig, type Network } from '../../lib/nn/models.js';
import type { BatchNormSync } from '../../lib/nn/sync-bn.js';
import { readTidy } from '../../lib/util/read.js';
import { ConfigError } from '../../lib/core/config.js';
import { modelSizeOverLimits } from '../../lib/interop/model-codec.js';
import { runFile } from '../rundir/layout.js';
import { LossWindows } from './loss-windows.js';
import { acquireLock } from '../rundir/lock.js';
import { makeDirs } from '../../lib/util/fs.js';
import {
  CheckpointError,
  checkResumeConfig,
  loadCheckpoint,
  readRunState,
  saveCheckpoint,
} from '../rundir/checkpoint.js';
import { withChangesSinceStart, writeRunConfig } from '../rundir/config-file.js';
import { currentProvenance } from '../rundir/provenance.js';
import { dataFingerprint } from '../../lib/data/fingerprint.js';
import { activeBackend } from '../../lib/engine/backend.js';
import { removeStaleTemporaries } from '../rundir/dirs.js';
import { readLog, writeLog, type EpochMetrics } from '../rundir/log-file.js';
import { writeResult, type StopReason, type TrainResult } from '../rundir/result-file.js';
import { checkFieldRules, type TrainConfig } from '../config/config.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { CALIBRATION_BATCHES, convertFromAnn, type Conversion } from './convert.js';
import { learningRate } from '../../lib/train/lr-schedule.js';
import { MONITOR_SAMPLES, findRunaway } from '../../lib/train/monitor.js';
import { runawayWarning } from './runaway-warning.js';
import { sgdFor, type Sgd } from '../../lib/train/sgd.js';
import { NumericalError, trainStepReduced, type TrainStepResult } from '../../lib/train/step.js';

/** Progress callbacks, and early stopping (`onEpochEnd` returning `'stop'`). */
export interface TrainHooks {
  /** Epoch `epoch` (from 0) of `epochs` begins; it has `batches` batches. */
  onEpochStart?(epoch: number, epochs: number, batches: number): void;
  /** Batch `batch` (from 1) of `epoch` is done; `info.loss` is the epoch's mean training loss so far. */
  onBatch?(epoch: number, batch: number, info: { loss: number; imagesPerSecond: number }): void;
  /**
   * An epoch is done, evaluated on the test set and checkpointed (`m` is its line of
   * `log.jsonl`). Returning `'stop'` ends training there (early stopping): the run finishes as
   * after its last epoch (final evaluation with spike statistics, `result.json`), with
   * `epochs` in the result counting the epochs trained and `stopped_by: "early-stop"` when
   * that is fewer than asked; it counts as finished (`runStatus`): `--resume` with a larger
   * `--epochs` continues it. In data-parallel training every rank must return the same.
   */
  onEpochEnd?(m: EpochMetrics): void | 'stop';
  /** An evaluation begins: `'test'` after each epoch, `'spike statistics'` at the end. */
  onEvalStart?(what: string): void;
  /** A one-line notice (a torn last line of `log.jsonl` dropped on resume). */
  onNotice?(line: string): void;
  /** A warning (a runaway, once per run); default: written to stderr. */
  onWarning?(message: string): void;
}

/** The network's architecture for a training configuration and data set. */
export function archFor(config: TrainConfig, ds: Pick<Dataset, 'shape' | 'classes'>): ArchConfig {
  return {
    arch: config.arch,
    mode: config.mode,
    width: config.width,
    inputShape: [...ds.shape],
    classes: ds.classes,
    stc: config.stc,
    path: config.path,
  };
}

/**
 * Opens the train and test loaders of a configuration; `shard` (data-parallel training) makes
 * the train loader read only this rank's shard of every epoch.
 */
export async function openLoaders(
  config: TrainConfig,
  shard?: { rank: number; worldSize: number },
): Promise<{
  train: DataLoader;
  test: DataLoader;
  trainSet: Dataset;
  testSet: Dataset;
  /** The normalisation the loaders apply (the data set's, for its channel count). */
  normalization: Normalization;
}> {
  const info = datasetInfo(config.dataset);
  const common = { dataDir: config.dataDir, ...config.datasetOptions };
  const trainSet = await openDataset(config.dataset, { ...common, split: 'train', limit: config.limitTrain });
  const testSet = await openDataset(config.dataset, { ...common, split: 'test', limit: config.limitTest });
  const normalization = normalizationFor(info.normalization, trainSet.shape[2]);
  const train = new DataLoader(trainSet, {
    batchSize: config.batchSize,
    shuffle: true,
    augment: config.augment === 'none' ? null : info.augment,
    normalization,
    seed: config.seed,
    limit: config.limitTrain,
    workers: 'auto',
    shard,
  });
  const test = new DataLoader(testSet, {
    batchSize: Math.max(config.batchSize, 100),
    shuffle: false,
    augment: null,
    normalization,
    seed: config.seed,
    limit: config.limitTest,
  });
  return { train, test, trainSet, testSet, normalization };
}

/**
 * Throws a {@link NumericalError} naming the step and the first parameter (in network order)
 * whose gradient holds a NaN or an Infinity, or whose squared norm overflows float32. One
 * device read per step: the per-parameter squared norms.
 */
function checkGradients(
  grads: tf.NamedTensorMap,
  names: Map<string, string>,
  step: number,
  where: string,
): void {
  const entries = Object.entries(grads);
  const norms = readTidy(() => tf.stack(entries.map(([, g]) => tf.sum(tf.square(g)))));
  const badIdx: number[] = [];
  norms.forEach((v, k) => {
    if (!Number.isFinite(v)) badIdx.push(k);
  });
  if (badIdx.length === 0) return;
  const [id, g] = entries[badIdx[0]];
  const layer = names.get(id) ?? id;
  const more = badIdx.length > 1 ? ` (and ${badIdx.length - 1} more parameters)` : '';
  const nonFinite = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(g))).dataSync()[0]);
  throw new NumericalError(
    nonFinite
      ? `non-finite gradient (NaN or Infinity) at step ${step} (${where}) in ${layer}${more}`
      : `gradient overflow at step ${step} (${where}) in ${layer}${more}: its squared norm exceeds the float32 range`,
  );
}

/**
 * The network and optimiser the trainer builds for `config` on a data set of `ds`'s shape and
 * classes: `buildNetwork(archFor(config, ds), config.seed)`, SGD with the configuration's
 * momentum, weight decay and Nesterov flag (none on learned thresholds). `bench/run-stcsnn.js`
 * builds its networks here, so that it measures what `stcsnn train` trains.
 */
export function trainerModel(
  config: TrainConfig,
  ds: Pick<Dataset, 'shape' | 'classes'>,
): { net: Network; sgd: Sgd } {
  const net = buildNetwork(archFor(config, ds), config.seed);
  const sgd = sgdFor(net, {
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    nesterov: config.nesterov,
  });
  return { net, sgd };
}

/** Where {@link trainerStep}'s steps run: the process group and synchronised batch norm. */
export interface TrainerStepOptions {
  /** The group whose gradients are all-reduced (default: this process alone). */
  readonly processGroup?: ProcessGroup;
  /** `config.syncBn` (synchronised batch norm; no effect on one process). */
  readonly syncBn?: boolean;
  /** Filled by each step's gradient all-reduce (its time, buckets, bytes). */
  readonly stats?: SyncStats;
}

/** The batch a {@link trainerStep} step trains on, beside its tensors. */
export interface TrainerBatch {
  /** The shard's share of the global batch (data-parallel training; 1 on one process). */
  readonly weight: number;
  /** The global step number (from 0), named in a {@link NumericalError}. */
  readonly step: number;
  /** Where the batch is (`epoch 1, batch 4`), named in a {@link NumericalError}. */
  readonly where: string;
}

/**
 * The trainer's step on one batch, the one {@link train} takes for every batch: `trainStepReduced`
 * with the gradient check (a non-finite or overflowing gradient throws a {@link NumericalError}
 * naming the layer) and the gradient all-reduce over the group, synchronised batch norm when
 * asked. `bench/run-stcsnn.js` times this step.
 */
export function trainerStep(
  net: Network,
  sgd: Sgd,
  opts: TrainerStepOptions = {},
): (x: tf.Tensor4D, y: tf.Tensor1D, lr: number, batch: TrainerBatch) => Promise<TrainStepResult> {
  const pg = opts.processGroup ?? localProcessGroup();
  const W = pg.worldSize;
  const syncBn = (opts.syncBn ?? false) && W > 1;
  const sync = opts.stats ?? { ms: 0, buckets: 0, bytes: 0 };
  const vars = net.trainableVariables();
  const names = new Map(net.namedVariables().map((e) => [e.variable.name, e.name]));
  /** Synchronised batch norm's view of the group for a step whose shard weighs `weight`. */
  const bnSync = (weight: number): BatchNormSync | undefined =>
    syncBn
      ? {
          rank: pg.rank,
          worldSize: W,
          weight,
          sum: (t) => {
            pg.allReduceSync([t], 'sum');
            return t;
          },
        }
      : undefined;
  return (x, y, lr, batch) =>
    trainStepReduced(net, sgd, x, y, lr, {
      forward: { syncBn: bnSync(batch.weight) },
      where: `at step ${batch.step} (${batch.where})`,
      reduce: async (grads) => {
        checkGradients(grads, names, batch.step, batch.where);
        return allReduceGradients(pg, vars, grads, batch.weight, { stats: sync });
      },
    });
}

/** Options of {@link train}. */
export interface TrainOptions {
  readonly runDir: string;
  readonly backend: string;
  readonly hooks?: TrainHooks;
  /** Continue the run in `runDir` from its last checkpoint. */
  readonly resume?: boolean;
  /**
   * With `resume`: the base learning rate of the epochs this call trains, instead of the run's
   * `lr` (after a divergence: `stcsnn train --resume DIR --lr 0.01`). The run's configuration
   * (`config.json`, the checkpoints, the hash) keeps its `lr`; every epoch trained with the
   * override records it in its `log.jsonl` line (`lr_override`), and the schedule applies to it.
   */
  readonly lrOverride?: number;
  /**
   * With `resume`: called by the writing rank once every check of the resume has passed (the
   * configuration, the data, the checkpoint and its run state, `log.jsonl`), before the run
   * directory is first written; a refused resume never calls it (the CLI applies the resume's
   * changes here: `config.json`'s new epochs, a finished run's `result.json` removed).
   */
  readonly beforeWrite?: () => void;
  /**
   * Data-parallel training: this process's group (see the module doc). Default: one process.
   * Every rank calls {@link train} with the same configuration; only rank 0 writes `runDir`
   * (the others read it when resuming, so on several machines it must be shared storage).
   */
  readonly processGroup?: ProcessGroup;
}

/**
 * Resolves when every rank of `pg` trains the same configuration (a hash of it, `dataDir`
 * excepted: paths may differ between machines); otherwise throws a one-line `DistError`.
 */
export async function agreeOnConfig(pg: ProcessGroup, config: TrainConfig): Promise<void> {
  const { dataDir: _paths, ...rest } = config;
  await agreeOn(
    pg,
    'train/config',
    stableHash(rest),
    'configuration hash',
    'start every rank with the same configuration and flags',
  );
}

/**
 * Trains a network as `config` says, writing the run directory; resolves with the final result
 * (evaluated with spike statistics on the test set).
 */
export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  checkFieldRules(config);
  if (config.initFrom !== undefined && (opts.processGroup?.worldSize ?? 1) > 1)
    throw new ConfigError('--init-from runs on one process (launch a conversion with --nproc 1)');
  // Only the writing rank (rank 0; the only one without a process group) owns the run directory.
  if (opts.processGroup && opts.processGroup.rank !== 0) return trainLocked(config, opts);
  makeDirs(opts.runDir); // component by component (never hangs); a no-op when it exists
  const lock = acquireLock(opts.runDir); // re-entrant: the CLI may hold it already
  try {
    if (opts.resume && existsSync(runFile(opts.runDir, 'last')))
      checkResumeConfig(runFile(opts.runDir, 'last'), config, runFile(opts.runDir, 'config'));
    return await trainLocked(config, opts);
  } finally {
    lock.release();
  }
}

async function trainLocked(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const { runDir, hooks } = opts;
  const pg = opts.processGroup ?? localProcessGroup();
  const W = pg.worldSize;
  /** Only rank 0 writes the run directory. */
  const writer = pg.rank === 0;
  const lrOverride = opts.resume ? opts.lrOverride : undefined;
  // the ranks must also train with the same overridden rate
  await agreeOnConfig(pg, lrOverride === undefined ? config : { ...config, lr: lrOverride });
  const {
    train: trainLoader,
    test: testLoader,
    trainSet,
    testSet,
    normalization,
  } = await openLoaders(config, W > 1 ? { rank: pg.rank, worldSize: W } : undefined);
  // a run that could not be loaded is never made: the model the data set gives is held to the
  // loading caps (MODEL_LIMITS: the input's sides, channels and values, the classes, the
  // classifier) before anything is written
  const arch = archFor(config, trainSet);
  const over = modelSizeOverLimits(arch);
  if (over) {
    await trainLoader.close();
    await testLoader.close();
    throw new ConfigError(
      `${config.dataset} (${trainSet.source}): a model of this data set could not be loaded: ${over} (MODEL_LIMITS, the loading caps)`,
    );
  }
  // what this invocation trains with: the code, this machine, the data read (config.json at the
  // start, result.json at the end)
  const provenance = writer
    ? currentProvenance(
        opts.backend,
        activeBackend()?.threads,
        dataFingerprint(trainSet, testSet),
        activeBackend()?.precision,
      )
    : undefined;
  const { net, sgd } = trainerModel(config, trainSet);
  const buffers = net
    .namedVariables()
    .filter((e) => !e.trainable)
    .map((e) => e.variable);
  const sync: SyncStats = { ms: 0, buckets: 0, bytes: 0 };
  const batchStep = trainerStep(net, sgd, { processGroup: pg, syncBn: config.syncBn, stats: sync });
  let startEpoch = 0;
  let best = { accuracy: -1, epoch: -1 };
  let trainSeconds = 0;
  let log: EpochMetrics[] = [];
  try {
    const lastPath = runFile(runDir, 'last');
    // a run that starts from an ANN is converted before anything is written (a source that
    // cannot be converted leaves no run behind); a resumed one has its checkpoint
    const conversion =
      config.initFrom !== undefined && !existsSync(lastPath)
        ? await convertRun(net, config.initFrom, trainLoader, hooks)
        : undefined;
    if (opts.resume) {
      if (existsSync(lastPath)) {
        const state = readRunState(lastPath);
        if ((state.worldSize ?? 1) !== W)
          throw new CheckpointError(
            `${lastPath} was trained with world size ${state.worldSize ?? 1}; resume it with the same world size (got ${W})`,
          );
        loadCheckpoint(lastPath, net, sgd);
        startEpoch = state.epoch + 1;
        best = { accuracy: state.bestAccuracy, epoch: state.bestEpoch };
        trainSeconds = state.trainSeconds;
        log = readLog(runDir, hooks?.onNotice).filter((m) => m.epoch <= state.epoch);
      } else log = [];
      // every check has passed (configuration, data, checkpoint, log): only now is the run
      // changed (a resume's new epochs, temporaries of interrupted writes, the log)
      if (writer) {
        opts.beforeWrite?.();
        removeStaleTemporaries(runDir);
        writeLog(runDir, log);
      }
      await agreeOn(
        pg,
        'train/resume-epoch',
        String(startEpoch),
        'resume epoch',
        'every rank must read the same run directory (shared storage across machines)',
      );
    }
    if (!opts.resume && writer) {
      writeRunConfig(runDir, config, provenance);
      writeLog(runDir, log);
    }
    if (conversion && config.epochs === 0 && writer) {
      // the converted network is the run's model: its checkpoint of "no epoch yet" (epoch -1)
      const state = { epoch: -1, bestAccuracy: 0, bestEpoch: -1, trainSeconds: 0 };
      const meta = { normalization, classNames: trainSet.classNames };
      saveCheckpoint(runFile(runDir, 'best'), net, config, state, meta);
      saveCheckpoint(lastPath, net, config, state, { ...meta, sgd });
    }
    const perEpoch = trainLoader.batchesPerEpoch;
    const schedule = {
      name: config.lrSchedule,
      lr: lrOverride ?? config.lr,
      stepEvery: config.stepEvery,
      stepGamma: config.stepGamma,
    };
    let step = startEpoch * perEpoch;
    let lastEval: EvalResult | undefined;
    let lastLoss = NaN;
    let lastEpochSeconds = 0;
    /** Whether the run has warned of a runaway (once per run, resumed runs included). */
    let warned = log.some((m) => m.warning !== undefined);
    /** Why training ended before `config.epochs` (recorded in `result.json`), null when it did not. */
    let stoppedBy: StopReason | null = null;
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      // the time budget (the run's training seconds, earlier invocations included; each
      // invocation trains at least one epoch): rank 0's clock decides for every rank
      if (
        config.timeBudget !== undefined &&
        epoch > startEpoch &&
        (await rankZeroSays(pg, trainSeconds + lastEpochSeconds > config.timeBudget))
      ) {
        stoppedBy = 'time-budget';
        break;
      }
      hooks?.onEpochStart?.(epoch, config.epochs, perEpoch);
      trainLoader.resetStats();
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let i = 0;
      let lr = 0;
      let syncMs = 0;
      const windows = new LossWindows(perEpoch);
      for await (const b of trainLoader.epoch(epoch)) {
        lr = learningRate(schedule, epoch, i, perEpoch, config.epochs);
        const x = tf.tensor4d(b.x, [b.size, ...b.shape]);
        const y = tf.tensor1d(b.y, 'int32');
        const where = `epoch ${epoch + 1}, batch ${i + 1}`;
        const { loss, correct: hits } = await batchStep(x, y, lr, {
          weight: b.weight ?? 1,
          step,
          where,
        }).finally(() => tf.dispose([x, y]));
        if (W > 1) syncMs += sync.ms;
        lossSum += loss * b.size;
        windows.add(i, loss, b.size);
        correct += hits;
        seen += b.size;
        i++;
        step++;
        lastLoss = loss;
        const secs = (performance.now() - t0) / 1000;
        hooks?.onBatch?.(epoch, i, { loss: lossSum / seen, imagesPerSecond: seen / Math.max(secs, 1e-9) });
        // let the event loop turn (signals: Ctrl-C's handler; in-memory data never leaves the microtask queue)
        await new Promise<void>((r) => setImmediate(r));
      }
      const trainTime = (performance.now() - t0) / 1000;
      if (W > 1) {
        [lossSum, correct, seen] = await allReduceNumbers(pg, [lossSum, correct, seen]);
        if (!config.syncBn) await averageBuffers(pg, buffers); // synchronised: already equal
      }
      hooks?.onEvalStart?.('test');
      lastEval = await evaluate(net, testLoader, { monitorSamples: MONITOR_SAMPLES });
      const runaway = lastEval.stcb && !warned ? findRunaway(lastEval.stcb) : null;
      const warning = runaway
        ? runawayWarning(runaway, epoch, { gradient: config.stc.gradient, learnTheta: config.stc.learnTheta })
        : undefined;
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += trainTime;
      lastEpochSeconds = seconds;
      const m: EpochMetrics = {
        epoch,
        lr,
        train_loss: lossSum / Math.max(1, seen),
        train_accuracy: correct / Math.max(1, seen),
        test_loss: lastEval.loss,
        test_accuracy: lastEval.accuracy,
        seconds,
        data_seconds: trainLoader.stats.waitMs / 1000,
        images_per_second: seen / Math.max(trainTime, 1e-9),
        ...(W > 1 ? { allreduce_seconds: syncMs / 1000 } : {}),
        ...(lrOverride !== undefined ? { lr_override: lrOverride } : {}),
        train_loss_windows: windows.means(),
        ...(lastEval.stcb ? { stcb: lastEval.stcb } : {}),
        ...(warning ? { warning } : {}),
      };
      const isBest = m.test_accuracy > best.accuracy;
      if (isBest) best = { accuracy: m.test_accuracy, epoch };
      const state = {
        epoch,
        bestAccuracy: best.accuracy,
        bestEpoch: best.epoch,
        trainSeconds,
        ...(W > 1 ? { worldSize: W } : {}),
      };
      const meta = { normalization, classNames: trainSet.classNames };
      log.push(m);
      if (writer) {
        if (isBest) saveCheckpoint(runFile(runDir, 'best'), net, config, state, meta);
        writeLog(runDir, log);
        saveCheckpoint(lastPath, net, config, state, { ...meta, sgd }); // commit point
      }
      const stop = hooks?.onEpochEnd?.(m) === 'stop';
      if (warning) {
        warned = true;
        if (writer)
          (hooks?.onWarning ?? ((w: string) => process.stderr.write(`stcsnn: warning: ${w}\n`)))(warning);
      }
      if (stop) {
        if (epoch + 1 < config.epochs) stoppedBy = 'early-stop';
        break;
      }
    }
    hooks?.onEvalStart?.('spike statistics');
    const final = await evaluate(net, testLoader, { spikeStats: true });
    const dataSeconds = log.reduce((a, m) => a + m.data_seconds, 0);
    const ips = log.length ? log.reduce((a, m) => a + m.images_per_second, 0) / log.length : 0;
    const result: TrainResult = {
      runDir,
      dataset: config.dataset,
      arch: config.arch,
      mode: config.mode,
      T: config.stc.T,
      theta0: config.stc.theta0,
      tau: config.stc.tau,
      epochs: log.length,
      epochs_asked: config.epochs,
      stopped_by: stoppedBy,
      params: net.parameterCount(),
      backend: opts.backend,
      seed: config.seed,
      world_size: W,
      global_batch: config.batchSize * W,
      test_accuracy: final.accuracy,
      best_test_accuracy: Math.max(best.accuracy, final.accuracy),
      best_epoch: best.epoch,
      final_loss: log.length ? log[log.length - 1].train_loss : lastLoss,
      train_seconds: trainSeconds,
      images_per_second: ips,
      data_fraction: trainSeconds > 0 ? dataSeconds / trainSeconds : 0,
      fire_rates: (final.spikeStats ?? []).map((s) => ({ layer: s.layer, rate: s.fireRate })),
      spike_stats: final.spikeStats ?? [],
      per_class_accuracy: final.perClass,
      confusion: final.confusion,
      ...(provenance ? { provenance: withChangesSinceStart(runDir, provenance) } : {}),
      ...(conversion
        ? {
            conversion: {
              ...conversion,
              calibrated: conversion.calibrated.map((c) => ({
                ...c,
                before: [...c.before],
                after: [...c.after],
              })),
            },
          }
        : {}),
    };
    if (writer) writeResult(runDir, result);
    return result;
  } catch (e) {
    if (e instanceof NumericalError) {
      const lastPath = runFile(runDir, 'last');
      e.message += existsSync(lastPath)
        ? `; training stopped, the last good checkpoint ${lastPath} (epoch ${readRunState(lastPath).epoch + 1}) is intact`
        : '; training stopped before the first checkpoint';
    }
    throw e;
  } finally {
    sgd.dispose();
    net.dispose();
    await trainLoader.close();
    await testLoader.close();
  }
}

/**
 * Rank 0's `decision`, on every rank (data-parallel training: a decision from a clock differs
 * between the ranks, and a rank that stops alone leaves the others in an all-reduce).
 */
async function rankZeroSays(pg: ProcessGroup, decision: boolean): Promise<boolean> {
  if (pg.worldSize === 1) return decision;
  const [v] = await allReduceNumbers(pg, [pg.rank === 0 && decision ? 1 : 0]);
  return v > 0;
}

export type { Network };
export { NumericalError };

/** Converts `net` from the ANN at `source`, calibrating on the first training batches; says what it did. */
async function convertRun(
  net: Network,
  source: string,
  loader: DataLoader,
  hooks: TrainHooks | undefined,
): Promise<Conversion> {
  const batches: tf.Tensor4D[] = [];
  try {
    for await (const b of loader.epoch(0)) {
      batches.push(tf.tensor4d(b.x, [b.size, ...b.shape]));
      if (batches.length === CALIBRATION_BATCHES) break;
    }
    const c = convertFromAnn(net, source, batches);
    const n = c.calibrated.length;
    hooks?.onNotice?.(
      n === 0
        ? `converted from ${c.file}: thresholds not calibrated (--learn-theta off keeps theta0 ${net.config.stc?.theta0} in every STCB; --learn-theta layer or channel calibrates them)`
        : `converted from ${c.file}: ${n} STCB thresholds calibrated for the least encoding error of their inputs (${batches.length} batches)`,
    );
    return c;
  } finally {
    tf.dispose(batches);
  }
}
