/**
 * What the trainer trains with ({@link setUpTraining}): the data loaders of a configuration
 * ({@link openLoaders}), the network held to the loading caps, its optimiser and step (with the
 * teacher of a distilled run), and what this invocation's code, machine and data are (its
 * provenance).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/core/config.js';
import { dataFingerprint } from '../../lib/data/fingerprint.js';
import { DataLoader } from '../../lib/data/loader.js';
import { datasetInfo, normalizationFor, openDataset } from '../../lib/data/registry.js';
import type { Dataset, Normalization } from '../../lib/data/types.js';
import type { SyncStats } from '../../lib/distributed/grad-sync.js';
import type { ProcessGroup } from '../../lib/distributed/process-group.js';
import { activeBackend } from '../../lib/engine/backend.js';
import { modelSizeOverLimits } from '../../lib/interop/model-codec.js';
import type { Network } from '../../lib/nn/models.js';
import { DISTILL_DEFAULTS } from '../../lib/train/distill.js';
import type { Sgd } from '../../lib/train/sgd.js';
import type { TrainConfig } from '../config/config.js';
import { currentProvenance, type Provenance } from '../rundir/provenance.js';
import { openTeacher } from './teacher.js';
import { archFor, trainerModel, trainerStep } from './trainer-step.js';

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

/** What {@link setUpTraining} set up; {@link Training.close} frees it. */
export interface Training {
  readonly trainLoader: DataLoader;
  readonly testLoader: DataLoader;
  readonly trainSet: Dataset;
  readonly normalization: Normalization;
  readonly net: Network;
  readonly sgd: Sgd;
  /** The network's non-trainable variables (batch-norm running statistics). */
  readonly buffers: readonly tf.Variable[];
  /** The trainer's step on one batch ({@link trainerStep}). */
  readonly step: ReturnType<typeof trainerStep>;
  /** Filled by each step's gradient all-reduce (data-parallel training). */
  readonly sync: SyncStats;
  /** The writing rank's provenance: code, machine, data (undefined on the other ranks). */
  readonly provenance?: Provenance;
  /** Disposes of the network and optimiser and closes the loaders. */
  close(): Promise<void>;
}

/**
 * Opens the data of `config` (this rank's shard in data-parallel training), refuses a model the
 * loading caps could not load (before anything is written), and builds the network, optimiser
 * and step; on the writing rank (rank 0), with the provenance of this invocation on `backend`.
 * @throws ConfigError when the data set's model is over the loading caps (MODEL_LIMITS)
 */
export async function setUpTraining(
  config: TrainConfig,
  pg: ProcessGroup,
  backend: string,
): Promise<Training> {
  const W = pg.worldSize;
  const loaders = await openLoaders(config, W > 1 ? { rank: pg.rank, worldSize: W } : undefined);
  const { train: trainLoader, test: testLoader, trainSet, testSet, normalization } = loaders;
  // a run that could not be loaded is never made: the model the data set gives is held to the
  // loading caps (MODEL_LIMITS: the input's sides, channels and values, the classes, the
  // classifier) before anything is written
  const over = modelSizeOverLimits(archFor(config, trainSet));
  if (over) {
    await trainLoader.close();
    await testLoader.close();
    throw new ConfigError(
      `${config.dataset} (${trainSet.source}): a model of this data set could not be loaded: ${over} (MODEL_LIMITS, the loading caps)`,
    );
  }
  // a distilled run's teacher, checked against the data before anything is written
  let teacher: Network | undefined;
  try {
    teacher =
      config.distillFrom === undefined
        ? undefined
        : await openTeacher(config.distillFrom, trainSet, normalization);
  } catch (e) {
    await trainLoader.close();
    await testLoader.close();
    throw e;
  }
  const distill = teacher && {
    teacher,
    alpha: config.distillAlpha ?? DISTILL_DEFAULTS.alpha,
    temperature: config.distillTemperature ?? DISTILL_DEFAULTS.temperature,
  };
  // what this invocation trains with: the code, this machine, the data read (config.json at the
  // start, result.json at the end)
  const b = activeBackend();
  const provenance =
    pg.rank === 0
      ? currentProvenance(backend, b?.threads, dataFingerprint(trainSet, testSet), b?.precision)
      : undefined;
  const { net, sgd } = trainerModel(config, trainSet);
  const buffers = net
    .namedVariables()
    .filter((e) => !e.trainable)
    .map((e) => e.variable);
  const sync: SyncStats = { ms: 0, buckets: 0, bytes: 0 };
  const step = trainerStep(net, sgd, { processGroup: pg, syncBn: config.syncBn, stats: sync, distill });
  return {
    trainLoader,
    testLoader,
    trainSet,
    normalization,
    net,
    sgd,
    buffers,
    step,
    sync,
    provenance,
    close: async () => {
      sgd.dispose();
      net.dispose();
      teacher?.dispose();
      await trainLoader.close();
      await testLoader.close();
    },
  };
}
