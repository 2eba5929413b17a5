/**
 * What the trainer trains with ({@link setUpTraining}): the data loaders of a configuration
 * ({@link openLoaders}), the network held to the loading caps and its optimiser, a distilled
 * run's teacher, and what this invocation's code, machine and data are (its provenance). The
 * step that trains them is the epoch loop's (`epoch-loop.ts`).
 */
import { dataFingerprint } from '../../lib/data/fingerprint.js';
import { DataLoader } from '../../lib/data/loader.js';
import { datasetInfo, normalizationFor, openDataset } from '../../lib/data/registry.js';
import type { Dataset, Normalization } from '../../lib/data/types.js';
import type { ProcessGroup } from '../../lib/distributed/process-group.js';
import { activeBackend } from '../../lib/engine/backend.js';
import type { Network } from '../../lib/nn/models.js';
import { DISTILL_DEFAULTS, type Distillation } from '../../lib/train/distill.js';
import type { Sgd } from '../../lib/train/sgd.js';
import type { TrainConfig } from '../config/config.js';
import { currentProvenance, type Provenance } from '../rundir/provenance.js';
import { openTeacher } from './teacher.js';
import { trainerModel } from './trainer-step.js';

/** The fields of a training configuration that say what data it reads and how it batches it. */
export type DataConfig = Pick<
  TrainConfig,
  'dataset' | 'dataDir' | 'datasetOptions' | 'limitTrain' | 'limitTest' | 'batchSize' | 'augment' | 'seed'
>;

/**
 * Opens the train and test loaders of a configuration's data; `shard` (data-parallel training)
 * makes the train loader read only this rank's shard of every epoch.
 */
export async function openLoaders(
  config: DataConfig,
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
  /** A distilled run's teacher and the weights of its term (`--distill-from`), for the step. */
  readonly distill?: Distillation;
  /** The writing rank's provenance: code, machine, data (undefined on the other ranks). */
  readonly provenance?: Provenance;
  /** Disposes of the network, optimiser and teacher and closes the loaders. */
  close(): Promise<void>;
}

/**
 * Opens the data of `config` (this rank's shard in data-parallel training) and builds the
 * network (refused when the loading caps could not load it, before anything is written) and its
 * optimiser; on the writing rank (rank 0), with the provenance of this invocation on `backend`.
 * @throws ConfigError when the data set's model is over the loading caps (`trainerModel`)
 */
export async function setUpTraining(
  config: TrainConfig,
  pg: ProcessGroup,
  backend: string,
): Promise<Training> {
  const W = pg.worldSize;
  const loaders = await openLoaders(config, W > 1 ? { rank: pg.rank, worldSize: W } : undefined);
  const { train: trainLoader, test: testLoader, trainSet, testSet, normalization } = loaders;
  const closeLoaders = async (): Promise<void> => {
    await trainLoader.close();
    await testLoader.close();
  };
  let model: ReturnType<typeof trainerModel>;
  try {
    model = trainerModel(config, trainSet);
  } catch (e) {
    // a model over the loading caps: refused before anything is written
    await closeLoaders();
    throw e;
  }
  const { net, sgd } = model;
  // a distilled run's teacher, checked against the data before anything is written
  let teacher: Network | undefined;
  try {
    teacher =
      config.distillFrom === undefined
        ? undefined
        : await openTeacher(config.distillFrom, trainSet, normalization);
  } catch (e) {
    sgd.dispose();
    net.dispose();
    await closeLoaders();
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
  return {
    trainLoader,
    testLoader,
    trainSet,
    normalization,
    net,
    sgd,
    distill,
    provenance,
    close: async () => {
      sgd.dispose();
      net.dispose();
      teacher?.dispose();
      await closeLoaders();
    },
  };
}
