/**
 * Training checkpoints: one safetensors model file (see `interop/model-file.ts`) holding the
 * PyTorch-layout state dict, the momentum buffers as `optimizer.<parameter name>` tensors, the
 * run configuration (`stcsnn.train_config`) and the run state (`stcsnn.run_state`). One file
 * is one atomic rename, so a checkpoint is either the old one or the new one.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../data/types.js';
import { decodeModel, encodeModel, EXTRA_TENSOR_PREFIX } from '../interop/model-file.js';
import type { SafeTensor } from '../interop/safetensors.js';
import {
  CheckpointError,
  identityMismatch,
  identityOf,
  loadStateDict,
  type NetIdentity,
} from '../interop/state-dict.js';
import type { Network } from '../nn/models.js';
import { writeFileAtomic } from '../util/atomic.js';
import { configHash } from './config-hash.js';
import { ConfigError } from '../core/config.js';
import { configChanges, RESUME_MAY_CHANGE, trainConfigSchema, type TrainConfig } from './config.js';
import type { Sgd } from './sgd.js';

export { CheckpointError };

/** Metadata keys of the trainer. */
export const TRAIN_META = {
  config: 'stcsnn.train_config',
  state: 'stcsnn.run_state',
  /** `configHash(config)` (`config-hash.ts`): what a resume compares `config.json` with. */
  hash: 'stcsnn.config_hash',
} as const;

/** Where a run stands after an epoch. */
export interface RunState {
  /** Last finished epoch (0-based). */
  readonly epoch: number;
  readonly bestAccuracy: number;
  readonly bestEpoch: number;
  readonly trainSeconds: number;
  /** Ranks of a data-parallel run (absent: 1); a resumed run must keep it. */
  readonly worldSize?: number;
}

/** Writes a checkpoint of `net` (and the optimiser's momentum when given) atomically. */
export function saveCheckpoint(
  path: string,
  net: Network,
  config: TrainConfig,
  state: RunState,
  extra: { sgd?: Sgd; normalization?: Normalization; classNames?: readonly string[] } = {},
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
      [TRAIN_META.config]: JSON.stringify(config),
      [TRAIN_META.state]: JSON.stringify(state),
      [TRAIN_META.hash]: configHash(config),
    },
    extraTensors,
  });
  writeFileAtomic(path, bytes);
}

function decode(path: string) {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(
      `cannot read checkpoint ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

/** The run state stored in a checkpoint. */
export function readRunState(path: string): RunState {
  const mf = decode(path);
  const raw = mf.metadata[TRAIN_META.state];
  let s: Partial<RunState> | undefined;
  try {
    s = raw === undefined ? undefined : (JSON.parse(raw) as Partial<RunState>);
  } catch {
    s = undefined;
  }
  if (
    !s ||
    ![s.epoch, s.bestAccuracy, s.bestEpoch, s.trainSeconds].every(
      (v) => typeof v === 'number' && Number.isFinite(v),
    )
  ) {
    throw new CheckpointError(`${path}: no valid training state (metadata ${TRAIN_META.state})`);
  }
  if (s.worldSize !== undefined && !(Number.isInteger(s.worldSize) && s.worldSize >= 1))
    throw new CheckpointError(`${path}: invalid world size ${s.worldSize} in its training state`);
  return s as RunState;
}

/**
 * Loads a checkpoint's parameters into `net` and, when `sgd` is given, its momentum buffers.
 * @throws CheckpointError naming both networks when the file describes another network than
 *   `net` (`X is a resnet18 checkpoint (width 1, T 8), this run is vgg11 (width 0.25, T 8)`),
 *   or the first tensor mismatches of a damaged file
 */
export function loadCheckpoint(path: string, net: Network, sgd?: Sgd): void {
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
 * The configuration a checkpoint was trained with and its hash (computed for checkpoints
 * written before the hash was stored); null when the checkpoint carries no valid configuration.
 */
export function readCheckpointConfig(path: string): { config: TrainConfig; hash: string } | null {
  const mf = decode(path);
  const raw = mf.metadata[TRAIN_META.config];
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const r = trainConfigSchema.safeParse(parsed);
  if (!r.success) return null;
  return { config: r.data, hash: mf.metadata[TRAIN_META.hash] ?? configHash(r.data) };
}

/**
 * Refuses to continue the checkpoint at `path` with `config` when a field that defines the run
 * (all but `RESUME_MAY_CHANGE`) differs from the configuration it was trained with.
 * @throws ConfigError naming `source` and every changed field (`stc.T 8 -> 4`)
 */
export function checkResumeConfig(path: string, config: TrainConfig, source: string): void {
  const ck = readCheckpointConfig(path);
  if (!ck || ck.hash === configHash(config)) return;
  const changes = configChanges(ck.config, config);
  if (changes.length === 0) return;
  // another architecture altogether: say what the checkpoint is, in the words of a model-file
  // mismatch; other edits are named field by field below
  const net = (c: TrainConfig): NetIdentity => ({ arch: c.arch, mode: c.mode, width: c.width, T: c.stc.T });
  const other = ck.config.arch !== config.arch && identityMismatch(path, net(ck.config), net(config));
  if (other) throw new CheckpointError(other);
  throw new ConfigError(
    `${source} differs from the configuration the run's checkpoint ${path} was trained with: ${changes.join(', ')}; ` +
      `a resume may change only ${RESUME_MAY_CHANGE.join(', ')} (train another configuration in a new run directory)`,
  );
}
