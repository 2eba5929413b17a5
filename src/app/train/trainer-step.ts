/**
 * The trainer's model and step: the network's architecture for a configuration ({@link archFor}),
 * the network and optimiser it builds, refusing a network the loading caps could not load
 * ({@link trainerModel}), and its step on one batch ({@link trainerStep}): `trainStepReduced`
 * with the gradient check (a non-finite or overflowing gradient stops training, naming the step
 * and the layer) and the data-parallel gradient all-reduce. `bench/run-stcsnn.js` builds and
 * times the same model and step, so that it measures what `stcsnn train` trains.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/core/config.js';
import type { Dataset } from '../../lib/data/types.js';
import { localProcessGroup, type ProcessGroup } from '../../lib/distributed/process-group.js';
import { allReduceGradients, type SyncStats } from '../../lib/distributed/grad-sync.js';
import { modelSizeOverLimits } from '../../lib/interop/model-codec.js';
import { buildNetwork, type ArchConfig, type Network } from '../../lib/nn/models.js';
import type { BatchNormSync } from '../../lib/nn/sync-bn.js';
import type { Distillation } from '../../lib/train/distill.js';
import { sgdFor, type Sgd } from '../../lib/train/sgd.js';
import {
  NumericalError,
  squaredNorms,
  trainStepReduced,
  type TrainStepResult,
} from '../../lib/train/step.js';
import type { TrainConfig } from '../config/config.js';

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
  const norms = squaredNorms(entries.map(([, g]) => g));
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
 * momentum, weight decay and Nesterov flag (none on learned thresholds). A network that the
 * loading caps could not load (`MODEL_LIMITS`: the input's sides, channels and values, the
 * classes, the classifier) is refused before it is built: a run that could not be loaded is never
 * made. `bench/run-stcsnn.js` builds its networks here, so that it measures what `stcsnn train`
 * trains.
 * @throws ConfigError naming the data set (`ds.source`: where it was read) when the network is
 *   over the loading caps
 */
export function trainerModel(
  config: TrainConfig,
  ds: Pick<Dataset, 'shape' | 'classes'> & { readonly source?: string },
): { net: Network; sgd: Sgd } {
  const arch = archFor(config, ds);
  const over = modelSizeOverLimits(arch);
  if (over)
    throw new ConfigError(
      `${config.dataset}${ds.source === undefined ? '' : ` (${ds.source})`}: a model of this data set could not be loaded: ${over} (MODEL_LIMITS, the loading caps)`,
    );
  const net = buildNetwork(arch, config.seed);
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
  /** Distil from a teacher (`--distill-from`): the loss of `lib/train/distill.ts`. */
  readonly distill?: Distillation;
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
      distill: opts.distill,
      reduce: async (grads) => {
        checkGradients(grads, names, batch.step, batch.where);
        return allReduceGradients(pg, vars, grads, batch.weight, { stats: sync });
      },
    });
}
