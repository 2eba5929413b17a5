/**
 * A network's parameters as a PyTorch `state_dict`: the names of `Module.namedVariables()`
 * (`blocks.0.conv.weight`, `layer2.0.shortcut.weight`, `stem_bn.running_mean`, ...) with
 * PyTorch's layouts and dtypes:
 *
 * | tensor                               | here (TensorFlow.js)  | state dict            |
 * | ------------------------------------ | --------------------- | --------------------- |
 * | conv weight                          | `[kh, kw, Cin, Cout]` | F32 `[Cout, Cin, kh, kw]` |
 * | linear weight                        | `[in, out]`           | F32 `[out, in]`       |
 * | linear bias, BN weight/bias/running_mean/running_var | `[C]` | F32 `[C]`           |
 * | BN `num_batches_tracked`             | int32 `[]`            | I64 `[]`              |
 *
 * so that the PyTorch modules of `docs/pytorch.md` load it with `load_state_dict(strict=True)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readTidy } from '../util/read.js';
import { thresholdRangeProblem } from '../core/config.js';
import { LOG_THETA } from '../nn/layers.js';
import type { ArchConfig, Network } from '../nn/models.js';
import type { SafeDType, SafeTensor } from './safetensors.js';

/** A checkpoint that does not fit the model (or cannot be one); the message is one line naming the file. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Axis permutation from our layout to PyTorch's, by rank (rank 4: conv, rank 2: linear). */
const TO_TORCH: Record<number, number[]> = { 4: [3, 2, 0, 1], 2: [1, 0] };
/** The inverse permutations (PyTorch layout to ours). */
const FROM_TORCH: Record<number, number[]> = { 4: [2, 3, 1, 0], 2: [1, 0] };

/** What a state dict must hold for one variable. */
export interface StateDictEntrySpec {
  readonly name: string;
  readonly dtype: SafeDType;
  /** PyTorch shape. */
  readonly shape: readonly number[];
}

function torchShape(shape: readonly number[]): number[] {
  const perm = TO_TORCH[shape.length];
  return perm ? perm.map((a) => shape[a]) : [...shape];
}

/** The names, dtypes and PyTorch shapes a state dict of `net` holds, in `state_dict` order. */
export function stateDictSpec(net: Network): StateDictEntrySpec[] {
  return net.namedVariables().map((e) => ({
    name: e.name,
    dtype: e.variable.dtype === 'int32' ? 'I64' : 'F32',
    shape: torchShape(e.variable.shape),
  }));
}

/** A short description of a network for messages: `vgg11 (width 0.25, stc)`. */
export function describeNetwork(net: Network): string {
  const c = net.config;
  return `${c.arch} (width ${c.width}, ${c.mode})`;
}

/**
 * What tells one network from another for a checkpoint: architecture, mode, width, T and (when
 * known) the input shape and class count. A training configuration has all but the geometry.
 */
export interface NetIdentity {
  readonly arch: string;
  readonly mode: string;
  readonly width: number;
  readonly T: number;
  readonly inputShape?: readonly number[];
  readonly classes?: number;
}

/** The identity of a model configuration. */
export function identityOf(c: ArchConfig): NetIdentity {
  return {
    arch: c.arch,
    mode: c.mode,
    width: c.width,
    T: c.stc.T,
    inputShape: c.inputShape,
    classes: c.classes,
  };
}

type IdentityKey = keyof NetIdentity;
const IDENTITY_KEYS: readonly IdentityKey[] = ['arch', 'mode', 'width', 'T', 'inputShape', 'classes'];

/** The fields in which `a` and `b` differ (a field only one of them knows is not compared). */
export function identityDifference(a: NetIdentity, b: NetIdentity): IdentityKey[] {
  return IDENTITY_KEYS.filter((k) => {
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined) return false;
    return Array.isArray(x)
      ? (x as readonly number[]).join(',') !== (y as readonly number[]).join(',')
      : x !== y;
  });
}

/**
 * `resnet18 (width 1, T 8)`, with the mode, input shape and class count too when they are among
 * `also` (the fields that differ from what it is compared with).
 */
export function describeIdentity(id: NetIdentity, also: readonly IdentityKey[] = []): string {
  return `${id.arch} (${identityDetails(id, also)})`;
}

function identityDetails(id: NetIdentity, also: readonly IdentityKey[]): string {
  const parts = [`width ${id.width}`, `T ${id.T}`];
  if (also.includes('mode')) parts.push(id.mode);
  if (also.includes('inputShape') && id.inputShape) parts.push(`input [${id.inputShape.join(',')}]`);
  if (also.includes('classes') && id.classes !== undefined) parts.push(`${id.classes} classes`);
  return parts.join(', ');
}

/**
 * The one-line message when the checkpoint `source` describes another network than `expected`
 * (`this run is`, `its run's config.json says`, ...), or null when they are the same network.
 * Checked on the file's description before any tensor is compared, so that a checkpoint of
 * another architecture is named as such rather than as a list of missing tensors.
 */
export function identityMismatch(
  source: string,
  file: NetIdentity,
  expected: NetIdentity,
  expectedIs = 'this run is',
): string | null {
  const diff = identityDifference(file, expected);
  if (diff.length === 0) return null;
  return `${source} is a ${file.arch} checkpoint (${identityDetails(file, diff)}), ${expectedIs} ${describeIdentity(expected, diff)}`;
}

/** The network's parameters and buffers in PyTorch layouts (see the table above). */
export function stateDictOf(net: Network): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  for (const e of net.namedVariables()) {
    const v = e.variable;
    if (v.dtype === 'int32') {
      const values = v.dataSync() as Int32Array;
      out[e.name] = { dtype: 'I64', shape: [...v.shape], data: BigInt64Array.from(values, (x) => BigInt(x)) };
      continue;
    }
    const perm = TO_TORCH[v.rank];
    const data = perm
      ? (readTidy(() => tf.transpose(v, perm)) as Float32Array)
      : Float32Array.from(v.dataSync() as Float32Array);
    out[e.name] = { dtype: 'F32', shape: torchShape(v.shape), data };
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Options of {@link stateDictMismatches} and {@link loadStateDict}. */
export interface StateDictOptions {
  /**
   * The variables of `net` the state dict does not hold (they keep their values; one in the
   * state dict is unexpected): e.g. the learned thresholds, when an ANN's state dict initialises
   * its STC network.
   */
  readonly except?: (name: string) => boolean;
}

/**
 * Lists every way `tensors` fails to fit `net`: missing names, unexpected names, wrong dtypes,
 * wrong shapes, non-finite floats, counters outside int32, learned thresholds (`log_theta`)
 * whose thresholds leave the float32 range. Empty when it fits.
 */
export function stateDictMismatches(
  net: Network,
  tensors: Readonly<Record<string, SafeTensor>>,
  opts: StateDictOptions = {},
): string[] {
  const problems: string[] = [];
  const spec = stateDictSpec(net).filter((e) => !opts.except?.(e.name));
  const known = new Set(spec.map((s) => s.name));
  for (const s of spec) {
    const t = Object.prototype.hasOwnProperty.call(tensors, s.name) ? tensors[s.name] : undefined;
    if (!t) {
      problems.push(`missing ${s.name}`);
      continue;
    }
    if (t.dtype !== s.dtype) {
      problems.push(`${s.name} has dtype ${t.dtype} but the model expects ${s.dtype}`);
      continue;
    }
    if (!sameShape(t.shape, s.shape)) {
      problems.push(
        `${s.name} has shape [${t.shape.join(',')}] but the model expects [${s.shape.join(',')}]`,
      );
      continue;
    }
    if (t.dtype === 'F32') {
      const d = t.data as Float32Array;
      for (let i = 0; i < d.length; i++) {
        if (!Number.isFinite(d[i])) {
          problems.push(`${s.name} holds a non-finite value (${d[i]}) at index ${i}`);
          break;
        }
      }
      // a learned threshold, theta0 = exp(log_theta), must keep every threshold in float32
      if (s.name.endsWith(`.${LOG_THETA}`) && net.config.stc) {
        for (let i = 0; i < d.length; i++) {
          const range = Number.isFinite(d[i]) ? thresholdRangeProblem(Math.exp(d[i]), net.config.stc) : null;
          if (range) {
            problems.push(`${s.name} holds ${d[i]} at index ${i}: thresholds outside ${range}`);
            break;
          }
        }
      }
    } else {
      const d = t.data as BigInt64Array;
      for (let i = 0; i < d.length; i++) {
        if (d[i] < 0n || d[i] > 2147483647n) {
          problems.push(`${s.name} holds ${d[i]}, outside 0..2^31-1`);
          break;
        }
      }
    }
  }
  for (const name of Object.keys(tensors)) if (!known.has(name)) problems.push(`unexpected ${name}`);
  return problems;
}

/** How many tensor mismatches a {@link loadStateDict} error names. */
export const MISMATCHES_SHOWN = 3;

/**
 * Loads a state dict (PyTorch layouts) into `net`, after checking every name, dtype and shape.
 * Nothing is assigned unless everything fits.
 *
 * @param source the file it came from, for the message
 * @throws CheckpointError naming the first {@link MISMATCHES_SHOWN} mismatches and their count in
 *   one line: `checkpoint X does not match vgg11 (width 0.25, stc): missing blocks.0.conv.weight;
 *   ... (47 mismatches in all)`; a checkpoint of another network is caught before (see
 *   {@link identityMismatch}), so this is a damaged or hand-made file
 */
export function loadStateDict(
  net: Network,
  tensors: Readonly<Record<string, SafeTensor>>,
  source: string,
  opts: StateDictOptions = {},
): void {
  const problems = stateDictMismatches(net, tensors, opts);
  if (problems.length > 0) {
    const more = problems.length > MISMATCHES_SHOWN ? `; ... (${problems.length} mismatches in all)` : '';
    throw new CheckpointError(
      `checkpoint ${source} does not match ${describeNetwork(net)}: ${problems.slice(0, MISMATCHES_SHOWN).join('; ')}${more}`,
    );
  }
  for (const e of net.namedVariables()) {
    if (opts.except?.(e.name)) continue;
    const t = tensors[e.name];
    const v = e.variable;
    tf.tidy(() => {
      if (v.dtype === 'int32') {
        v.assign(
          tf.tensor(
            Int32Array.from(t.data as BigInt64Array, (x) => Number(x)),
            v.shape,
            'int32',
          ),
        );
        return;
      }
      const pt = tf.tensor(t.data as Float32Array, [...t.shape], 'float32');
      const perm = FROM_TORCH[v.rank];
      v.assign(perm ? tf.transpose(pt, perm) : pt);
    });
  }
}
