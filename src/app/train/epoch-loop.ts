/**
 * The epoch loop: for every epoch from the run record's start, the batches (the trainer's step,
 * made here for the network and optimiser it trains, the learning-rate schedule, progress), the
 * evaluation on the test set with the runaway monitor, the epoch's line of `log.jsonl` committed
 * through the record, the hooks; stops at the time budget or a hook's early stop.
 * Data-parallel: the step all-reduces the gradients, the ranks' sums are all-reduced (and their
 * batch-norm running statistics averaged) every epoch, and rank 0's clock decides the time
 * budget for every rank.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allReduceNumbers, averageBuffers, type SyncStats } from '../../lib/distributed/grad-sync.js';
import type { ProcessGroup } from '../../lib/distributed/process-group.js';
import { learningRate } from '../../lib/train/lr-schedule.js';
import { findRunaway, MONITOR_SAMPLES } from '../../lib/train/monitor.js';
import type { TrainConfig } from '../config/config.js';
import type { EpochMetrics, RunRecord, StopReason } from '../rundir/run-record.js';
import { evaluate } from './evaluate.js';
import { LossWindows } from './loss-windows.js';
import { runawayWarning } from './runaway-warning.js';
import type { Training } from './setup.js';
import { trainerStep } from './trainer-step.js';

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

/** The fields of a training configuration that the epoch loop reads. */
export type LoopConfig = Pick<
  TrainConfig,
  'epochs' | 'timeBudget' | 'lr' | 'lrSchedule' | 'stepEvery' | 'stepGamma' | 'syncBn' | 'stc'
>;

/** What the epoch loop trains: the run, what it trains with, and how. */
export interface EpochLoop {
  /** What the loop reads of the run's configuration: its epochs, budget, schedule and mask. */
  readonly config: LoopConfig;
  readonly record: RunRecord;
  readonly training: Training;
  readonly pg: ProcessGroup;
  readonly hooks?: TrainHooks;
  /** The base learning rate instead of the configuration's (a resume's `--lr`). */
  readonly lrOverride?: number;
}

/** How the epoch loop ended. */
export interface LoopEnd {
  /** Why training ended before `config.epochs` (recorded in `result.json`), null when it did not. */
  readonly stoppedBy: StopReason | null;
  /** The last batch's loss (NaN when no batch was trained). */
  readonly lastLoss: number;
}

/** The trainer's step over the group ({@link trainerStep}), made once per invocation. */
interface Stepping {
  readonly step: ReturnType<typeof trainerStep>;
  /** Filled by each step's gradient all-reduce (data-parallel training). */
  readonly sync: SyncStats;
}

/** One epoch's training sums (this rank's until all-reduced). */
interface EpochSums {
  lossSum: number;
  correct: number;
  seen: number;
  /** The rate of the epoch's last batch. */
  lr: number;
  /** Seconds spent in the gradient all-reduce (data-parallel training). */
  syncMs: number;
  windows: LossWindows;
  lastLoss: number;
  /** Batches trained. */
  batches: number;
}

/** Trains the epochs from `loop.record.startEpoch` to the configuration's, each one committed. */
export async function trainEpochs(loop: EpochLoop): Promise<LoopEnd> {
  const { config, record, pg, hooks } = loop;
  const { net, sgd, trainLoader, distill } = loop.training;
  const sync: SyncStats = { ms: 0, buckets: 0, bytes: 0 };
  const stepping: Stepping = {
    step: trainerStep(net, sgd, { processGroup: pg, syncBn: config.syncBn, stats: sync, distill }),
    sync,
  };
  const perEpoch = trainLoader.batchesPerEpoch;
  const start = record.startEpoch;
  let step = start * perEpoch;
  let lastLoss = NaN;
  let lastEpochSeconds = 0;
  /** Whether the run has warned of a runaway (once per run, resumed runs included). */
  let warned = record.log.some((m) => m.warning !== undefined);
  for (let epoch = start; epoch < config.epochs; epoch++) {
    // the time budget (the run's training seconds, earlier invocations included; each
    // invocation trains at least one epoch): rank 0's clock decides for every rank
    const over = record.trainSeconds + lastEpochSeconds > (config.timeBudget ?? Infinity);
    if (config.timeBudget !== undefined && epoch > start && (await rankZeroSays(pg, over)))
      return { stoppedBy: 'time-budget', lastLoss };
    hooks?.onEpochStart?.(epoch, config.epochs, perEpoch);
    const t0 = performance.now();
    const sums = await trainOneEpoch(loop, stepping, epoch, step, t0);
    step += sums.batches;
    if (sums.batches > 0) lastLoss = sums.lastLoss;
    const trainTime = (performance.now() - t0) / 1000;
    const m = await evaluateEpoch(loop, epoch, sums, t0, trainTime, warned);
    lastEpochSeconds = m.seconds;
    record.commitEpoch(m, trainTime);
    const stop = hooks?.onEpochEnd?.(m) === 'stop';
    if (m.warning) {
      warned = true;
      if (pg.rank === 0)
        (hooks?.onWarning ?? ((w: string) => process.stderr.write(`stcsnn: warning: ${w}\n`)))(m.warning);
    }
    if (stop) return { stoppedBy: epoch + 1 < config.epochs ? 'early-stop' : null, lastLoss };
  }
  return { stoppedBy: null, lastLoss };
}

/** The batches of `epoch` (global steps from `step`; `t0`: the epoch's start, for the rate shown). */
async function trainOneEpoch(
  loop: EpochLoop,
  stepping: Stepping,
  epoch: number,
  step: number,
  t0: number,
): Promise<EpochSums> {
  const { config, training, hooks } = loop;
  const { trainLoader } = training;
  const { sync } = stepping;
  const W = loop.pg.worldSize;
  const perEpoch = trainLoader.batchesPerEpoch;
  const schedule = {
    name: config.lrSchedule,
    lr: loop.lrOverride ?? config.lr,
    stepEvery: config.stepEvery,
    stepGamma: config.stepGamma,
  };
  const s: EpochSums = {
    lossSum: 0,
    correct: 0,
    seen: 0,
    lr: 0,
    syncMs: 0,
    windows: new LossWindows(perEpoch),
    lastLoss: NaN,
    batches: 0,
  };
  trainLoader.resetStats();
  let i = 0;
  for await (const b of trainLoader.epoch(epoch)) {
    s.lr = learningRate(schedule, epoch, i, perEpoch, config.epochs);
    const x = tf.tensor4d(b.x, [b.size, ...b.shape]);
    const y = tf.tensor1d(b.y, 'int32');
    const where = `epoch ${epoch + 1}, batch ${i + 1}`;
    const { loss, correct } = await stepping
      .step(x, y, s.lr, { weight: b.weight ?? 1, step, where })
      .finally(() => tf.dispose([x, y]));
    if (W > 1) s.syncMs += sync.ms;
    s.lossSum += loss * b.size;
    s.windows.add(i, loss, b.size);
    s.correct += correct;
    s.seen += b.size;
    i++;
    step++;
    s.batches = i;
    s.lastLoss = loss;
    const secs = (performance.now() - t0) / 1000;
    hooks?.onBatch?.(epoch, i, { loss: s.lossSum / s.seen, imagesPerSecond: s.seen / Math.max(secs, 1e-9) });
    // let the event loop turn (signals: Ctrl-C's handler; in-memory data never leaves the microtask queue)
    await new Promise<void>((r) => setImmediate(r));
  }
  return s;
}

/**
 * Epoch `epoch`'s line of `log.jsonl`: the ranks' sums all-reduced (and their batch-norm running
 * statistics averaged), the test set evaluated with the runaway monitor (`warned`: the run has
 * warned already, so it does not again).
 */
async function evaluateEpoch(
  loop: EpochLoop,
  epoch: number,
  sums: EpochSums,
  t0: number,
  trainTime: number,
  warned: boolean,
): Promise<EpochMetrics> {
  const { config, training, pg } = loop;
  const W = pg.worldSize;
  let { lossSum, correct, seen } = sums;
  if (W > 1) {
    [lossSum, correct, seen] = await allReduceNumbers(pg, [lossSum, correct, seen]);
    // the batch-norm running statistics (synchronised batch norm: already equal)
    if (!config.syncBn) await averageBuffers(pg, runningStatistics(training.net));
  }
  loop.hooks?.onEvalStart?.('test');
  const ev = await evaluate(training.net, training.testLoader, { monitorSamples: MONITOR_SAMPLES });
  const runaway = ev.stcb && !warned ? findRunaway(ev.stcb) : null;
  const warning = runaway
    ? runawayWarning(runaway, epoch, { gradient: config.stc.gradient, learnTheta: config.stc.learnTheta })
    : undefined;
  return {
    epoch,
    lr: sums.lr,
    train_loss: lossSum / Math.max(1, seen),
    train_accuracy: correct / Math.max(1, seen),
    test_loss: ev.loss,
    test_accuracy: ev.accuracy,
    seconds: (performance.now() - t0) / 1000,
    data_seconds: training.trainLoader.stats.waitMs / 1000,
    images_per_second: seen / Math.max(trainTime, 1e-9),
    ...(W > 1 ? { allreduce_seconds: sums.syncMs / 1000 } : {}),
    ...(loop.lrOverride !== undefined ? { lr_override: loop.lrOverride } : {}),
    train_loss_windows: sums.windows.means(),
    ...(ev.stcb ? { stcb: ev.stcb } : {}),
    ...(warning ? { warning } : {}),
  };
}

/** The network's non-trainable variables (batch-norm running statistics), in network order. */
function runningStatistics(net: Training['net']): tf.Variable[] {
  return net
    .namedVariables()
    .filter((e) => !e.trainable)
    .map((e) => e.variable);
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
