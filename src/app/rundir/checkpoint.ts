/**
 * Training checkpoints (`last.safetensors`, `best.safetensors` of a run directory): one
 * safetensors model file (see `interop/model-file.ts`) holding the PyTorch-layout state dict,
 * the momentum buffers as `optimizer.<parameter name>` tensors, the run configuration
 * (`stcsnn.train_config`) and the run state (`stcsnn.run_state`). One file is one atomic rename,
 * so a checkpoint is either the old one or the new one.
 */
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../lib/data/types.js';
import { decodeModel, encodeModel, EXTRA_TENSOR_PREFIX } from '../../lib/interop/model-file.js';
import type { SafeTensor } from '../../lib/interop/safetensors.js';
import {
  CheckpointError,
  identityMismatch,
  identityOf,
  loadStateDict,
} from '../../lib/interop/state-dict.js';
import type { Network } from '../../lib/nn/models.js';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import { FileSystemError, MAX_MODEL_FILE_BYTES, readRegularFile } from '../../lib/util/fs.js';
import type { HashedConfig } from '../config/config-hash.js';
import { issueText, trainConfigSchema, type TrainConfig } from '../config/config.js';

export { CheckpointError };

/**
 * The optimiser state a checkpoint keeps: one momentum buffer per trained variable, in the same
 * order (the trainer's `Sgd` is one).
 */
export interface MomentumState {
  readonly variables: readonly tf.Variable[];
  readonly buffers: readonly tf.Variable[];
}

/** Metadata keys of the trainer. */
export const TRAIN_META = {
  config: 'stcsnn.train_config',
  state: 'stcsnn.run_state',
  /** `configHash(config)` (`config-hash.ts`): what a resume compares `config.json` with. */
  hash: 'stcsnn.config_hash',
} as const;

/** Where a run stands after an epoch. */
export interface RunState {
  /** Last finished epoch (0-based); -1 for a converted network before any epoch (`--init-from`, `--epochs 0`). */
  readonly epoch: number;
  readonly bestAccuracy: number;
  readonly bestEpoch: number;
  readonly trainSeconds: number;
  /** Ranks of a data-parallel run (absent: 1); a resumed run must keep it. */
  readonly worldSize?: number;
}

/**
 * Writes a checkpoint of `net` (and the optimiser's momentum when given) atomically, with the
 * run's configuration and its hash (`run`) and state.
 */
export function saveCheckpoint(
  path: string,
  net: Network,
  run: HashedConfig,
  state: RunState,
  extra: { sgd?: MomentumState; normalization?: Normalization; classNames?: readonly string[] } = {},
): void {
  const extraTensors: Record<string, SafeTensor> = {};
  if (extra.sgd) {
    const byVar = new Map(net.namedVariables().map((e) => [e.variable, e.name]));
    extra.sgd.variables.forEach((v, i) => {
      const b = extra.sgd!.buffers[i];
      extraTensors[`${EXTRA_TENSOR_PREFIX}${byVar.get(v)}`] = {
        dtype: 'F32',
        shape: [...b.shape],
        data: b.dataSync() as Float32Array,
      };
    });
  }
  const bytes = encodeModel(net, {
    normalization: extra.normalization,
    classNames: extra.classNames,
    metadata: {
      [TRAIN_META.config]: JSON.stringify(run.config),
      [TRAIN_META.state]: JSON.stringify(state),
      [TRAIN_META.hash]: run.hash,
    },
    extraTensors,
  });
  writeFileAtomic(path, bytes);
}

function decode(path: string) {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path, { maxBytes: MAX_MODEL_FILE_BYTES, what: 'checkpoint' });
  } catch (e) {
    if (e instanceof FileSystemError) throw new CheckpointError(e.message);
    throw new CheckpointError(
      `cannot read checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/**
 * The schema of a checkpoint's run state (`stcsnn.run_state`): the last finished epoch (0-based;
 * -1: a converted network, no epoch trained),
 * the best test accuracy and its epoch (at most the last one), the training seconds, and the
 * world size of a data-parallel run.
 */
export const runStateSchema = z.object({
  epoch: z.number().int().min(-1),
  bestAccuracy: z.number().min(0).max(1),
  bestEpoch: z.number().int().min(-1),
  trainSeconds: z.number().min(0),
  worldSize: z.number().int().min(1).optional(),
});

/**
 * The run state stored in a checkpoint, validated by {@link runStateSchema} and against the
 * configuration stored beside it (a last epoch below its `epochs`, a best epoch not after it).
 * @throws CheckpointError naming the file, the metadata key and the field that is wrong
 */
export function readRunState(path: string): RunState {
  const mf = decode(path);
  const raw = mf.metadata[TRAIN_META.state];
  const where = `${path}: training state (metadata ${TRAIN_META.state})`;
  if (raw === undefined) throw new CheckpointError(`${where} is missing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CheckpointError(`${where} is not valid JSON`);
  }
  const r = runStateSchema.safeParse(parsed);
  if (!r.success) {
    const { path: field, message } = issueText(r.error);
    throw new CheckpointError(`${where}: ${field}: ${message}`);
  }
  const s = r.data;
  if (s.bestEpoch > s.epoch)
    throw new CheckpointError(`${where}: bestEpoch ${s.bestEpoch} is after the last epoch ${s.epoch}`);
  const epochs = storedConfig(mf)?.epochs;
  if (epochs !== undefined && s.epoch >= epochs)
    throw new CheckpointError(
      `${where}: epoch ${s.epoch} is past the run's last epoch (its configuration has epochs ${epochs}, so at most ${epochs - 1})`,
    );
  return s;
}

/**
 * Loads a checkpoint's parameters into `net` and, when `sgd` is given, its momentum buffers.
 * @throws CheckpointError naming both networks when the file describes another network than
 *   `net` (`X is a resnet18 checkpoint (width 1, T 8), this run is vgg11 (width 0.25, T 8)`),
 *   or the first tensor mismatches of a damaged file
 */
export function loadCheckpoint(path: string, net: Network, sgd?: MomentumState): void {
  const mf = decode(path);
  const other = identityMismatch(path, identityOf(mf.config), identityOf(net.config));
  if (other) throw new CheckpointError(other);
  loadStateDict(net, mf.tensors, path);
  if (!sgd) return;
  const byVar = new Map(net.namedVariables().map((e) => [e.variable, e.name]));
  sgd.variables.forEach((v, i) => {
    const name = `${EXTRA_TENSOR_PREFIX}${byVar.get(v)}`;
    const t = mf.extraTensors[name];
    const b = sgd.buffers[i];
    if (!t || t.dtype !== 'F32' || t.shape.join(',') !== b.shape.join(',')) {
      throw new CheckpointError(`${path}: optimizer state ${name} is missing or has the wrong shape`);
    }
    b.assign(tf.tensor(t.data as Float32Array, b.shape));
  });
}

/**
 * The configuration a checkpoint was trained with and its stored hash (absent in checkpoints
 * written before the hash was stored); null when the checkpoint carries no valid configuration.
 */
export function readCheckpointConfig(path: string): { config: TrainConfig; hash?: string } | null {
  const mf = decode(path);
  const config = storedConfig(mf);
  if (!config) return null;
  return { config, hash: mf.metadata[TRAIN_META.hash] };
}

/** The valid training configuration in a decoded checkpoint's metadata; null when none. */
function storedConfig(mf: ReturnType<typeof decode>): TrainConfig | null {
  const raw = mf.metadata[TRAIN_META.config];
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const r = trainConfigSchema.safeParse(parsed);
  return r.success ? r.data : null;
}
