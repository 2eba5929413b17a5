/**
 * Model files and checkpoints: one safetensors file holding the PyTorch-layout state dict
 * (see `state-dict.ts`) and the model's description in the `__metadata__` string map.
 *
 * Metadata keys (values are strings; JSON where noted):
 *
 * | key                    | value |
 * | ---------------------- | ----- |
 * | `stcsnn.format`        | `stcsnn-model/1` |
 * | `stcsnn.config`        | JSON `{"arch","mode","width","inputShape":[H,W,C],"classes","path","stc":{"T","theta0","tau","schedule","fire","gradient","learnTheta","shift"}}` (an `ArchConfig`, checked by its schema, `nn/arch-config.ts`; `path` absent: `fused`; `gradient` absent: `relu`, `learnTheta` absent: `off`, `shift` absent: `none`) |
 * | `stcsnn.normalization` | JSON `{"scale","mean":[..C],"std":[..C]}`, `x' = (x / scale - mean[c]) / std[c]` on raw 0..255 pixels (optional) |
 * | `stcsnn.class_names`   | JSON array of `classes` strings (optional) |
 * | anything else          | the writer's (e.g. the trainer's epoch and accuracy), kept as is |
 *
 * Tensor names starting with `optimizer.` are reserved for training state (momentum buffers);
 * they are returned apart (`extraTensors`) and are not part of the model's state dict.
 *
 * This module is the format itself, on bytes (no file system; the browser build uses it);
 * `model-file.ts` reads and writes files.
 */
import { ConfigError } from '../core/config.js';
import { INPUT_LIMITS, inputShapeProblem } from '../core/limits.js';
import { parseArchConfig, type ArchConfig, type PlanConfig } from '../nn/arch-config.js';
import type { Network } from '../nn/models.js';
import { planNetwork, weightMacs } from '../nn/plan.js';
import type { Normalization } from '../data/types.js';
import { decodeSafetensors, encodeSafetensors, FormatError, type SafeTensor } from './safetensors.js';
import { CheckpointError, stateDictOf } from './state-dict.js';

/** The value of `stcsnn.format`. */
export const MODEL_FORMAT = 'stcsnn-model/1';
/** Metadata keys written by `saveModel` (Node). */
export const META_KEYS = {
  format: 'stcsnn.format',
  config: 'stcsnn.config',
  normalization: 'stcsnn.normalization',
  classNames: 'stcsnn.class_names',
} as const;
/**
 * Loading caps on the model a file (or ONNX metadata) describes, checked before any network or
 * input buffer is allocated, so that a lying description (a dimension of 2^31) is refused:
 * input sides at most 4096, channels at most 1024, one input at most 2^26 values (`INPUT_LIMITS`,
 * `core/limits.ts`, which training applies to the data set's shape when it makes a run), at
 * most 100,000 classes, and a classifier (the plan's last layer) of at most 2^26 weights.
 */
export const MODEL_LIMITS = {
  ...INPUT_LIMITS,
  maxClasses: 100_000,
  maxClassifierWeights: 2 ** 26,
} as const;

/** Prefix of tensor names that are training state, not model parameters. */
export const EXTRA_TENSOR_PREFIX = 'optimizer.';

/** What a model file says about its model, besides the parameters. */
export interface ModelInfo {
  readonly config: ArchConfig;
  readonly normalization?: Normalization;
  readonly classNames?: readonly string[];
}

/** Optional content of `saveModel` (Node). */
export interface SaveModelOptions {
  readonly normalization?: Normalization;
  readonly classNames?: readonly string[];
  /** More metadata (keys must not collide with {@link META_KEYS}). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Training state; every name must start with {@link EXTRA_TENSOR_PREFIX}. */
  readonly extraTensors?: Readonly<Record<string, SafeTensor>>;
}

/** A model file read and checked. */
export interface ModelFile extends ModelInfo {
  /** The file name. */
  readonly source: string;
  /** The model's state dict (PyTorch layouts). */
  readonly tensors: Record<string, SafeTensor>;
  /** Tensors named `optimizer.*`. */
  readonly extraTensors: Record<string, SafeTensor>;
  /** The whole metadata map. */
  readonly metadata: Record<string, string>;
}

/** The metadata `saveModel` (Node) writes for `info`. */
export function modelMetadata(
  info: ModelInfo,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const c = info.config;
  const meta: Record<string, string> = { ...extra };
  meta[META_KEYS.format] = MODEL_FORMAT;
  meta[META_KEYS.config] = JSON.stringify({
    arch: c.arch,
    mode: c.mode,
    width: c.width,
    inputShape: [...c.inputShape],
    classes: c.classes,
    path: c.path,
    stc: {
      T: c.stc.T,
      theta0: c.stc.theta0,
      tau: c.stc.tau,
      schedule: c.stc.schedule,
      fire: c.stc.fire,
      gradient: c.stc.gradient,
      learnTheta: c.stc.learnTheta,
      // written where it is not the default, so that files of unshifted networks stay as they were
      ...(c.stc.shift !== 'none' ? { shift: c.stc.shift } : {}),
    },
  });
  if (info.normalization) {
    const n = info.normalization;
    meta[META_KEYS.normalization] = JSON.stringify({ scale: n.scale, mean: [...n.mean], std: [...n.std] });
  }
  if (info.classNames) meta[META_KEYS.classNames] = JSON.stringify([...info.classNames]);
  return meta;
}

/** Encodes `net` and its description as a safetensors file's bytes. */
export function encodeModel(net: Network, opts: SaveModelOptions = {}): Uint8Array {
  for (const k of Object.keys(opts.metadata ?? {})) {
    if ((Object.values(META_KEYS) as string[]).includes(k))
      throw new RangeError(`metadata key ${k} is reserved`);
  }
  const tensors = stateDictOf(net);
  for (const [name, t] of Object.entries(opts.extraTensors ?? {})) {
    if (!name.startsWith(EXTRA_TENSOR_PREFIX)) {
      throw new RangeError(`extra tensor ${name} must be named ${EXTRA_TENSOR_PREFIX}*`);
    }
    tensors[name] = t;
  }
  const info: ModelInfo = {
    config: net.config,
    normalization: opts.normalization,
    classNames: opts.classNames,
  };
  return encodeSafetensors(tensors, modelMetadata(info, opts.metadata));
}

function parseJsonMeta(meta: Record<string, string>, key: string, source: string): unknown {
  try {
    return JSON.parse(meta[key]);
  } catch {
    throw new CheckpointError(`${source}: metadata ${key} is not valid JSON`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Why the model of `c` exceeds {@link MODEL_LIMITS}, or null. Cheap: the input is checked on
 * its numbers, the classifier on the network's plan (`planNetwork`: shapes only, nothing is
 * built). Callers that build networks from untrusted numbers check this first.
 * @throws ConfigError when `c` is not a valid plan configuration (`checkPlanConfig`)
 */
export function modelSizeOverLimits(c: PlanConfig): string | null {
  const L = MODEL_LIMITS;
  const input = inputShapeProblem(c.inputShape);
  if (input) return input;
  if (c.classes > L.maxClasses) return `${c.classes} classes exceed ${L.maxClasses}`;
  const classifier = planNetwork(c).layers.at(-1)!;
  if (weightMacs(classifier) > L.maxClassifierWeights)
    return `a classifier of ${classifier.inShape.join('x')}x${c.classes} weights exceeds ${L.maxClassifierWeights}`;
  return null;
}

/**
 * Parses the model description from a metadata map.
 * @throws CheckpointError naming `source` when a key is missing or its value is invalid
 */
export function modelInfoFromMetadata(meta: Record<string, string>, source: string): ModelInfo {
  const bad = (what: string): never => {
    throw new CheckpointError(`${source}: ${what}`);
  };
  if (meta[META_KEYS.format] !== MODEL_FORMAT) {
    bad(
      meta[META_KEYS.format] === undefined
        ? `no ${META_KEYS.format} metadata: not an stcsnn model file`
        : `unsupported ${META_KEYS.format} ${JSON.stringify(meta[META_KEYS.format])} (this version reads ${MODEL_FORMAT})`,
    );
  }
  if (meta[META_KEYS.config] === undefined) bad(`no ${META_KEYS.config} metadata`);
  const raw = parseJsonMeta(meta, META_KEYS.config, source);
  if (!isObject(raw) || !isObject(raw.stc))
    return bad(`metadata ${META_KEYS.config} is not a model configuration object`);
  let config: ArchConfig;
  try {
    config = parseArchConfig({ ...raw, path: raw.path ?? 'fused' });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (e.param === 'arch')
      return bad(`metadata ${META_KEYS.config}: unknown arch ${JSON.stringify(raw.arch)}`);
    return bad(`metadata ${META_KEYS.config}: ${e.message}`);
  }
  const over = modelSizeOverLimits(config);
  if (over) return bad(`metadata ${META_KEYS.config}: ${over} (loading caps, see MODEL_LIMITS)`);
  let normalization: Normalization | undefined;
  if (meta[META_KEYS.normalization] !== undefined) {
    const n = parseJsonMeta(meta, META_KEYS.normalization, source);
    const c = config.inputShape[2];
    const vec = (v: unknown) =>
      Array.isArray(v) &&
      (v.length === c || v.length === 1) &&
      v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (
      !isObject(n) ||
      typeof n.scale !== 'number' ||
      !(n.scale > 0) ||
      !vec(n.mean) ||
      !vec(n.std) ||
      !(n.std as number[]).every((x) => x > 0)
    ) {
      bad(
        `metadata ${META_KEYS.normalization} must be {scale > 0, mean: [1 or ${c} numbers], std: [1 or ${c} numbers > 0]}`,
      );
    }
    const o = n as Record<string, unknown>;
    normalization = { scale: o.scale as number, mean: o.mean as number[], std: o.std as number[] };
  }
  let classNames: string[] | undefined;
  if (meta[META_KEYS.classNames] !== undefined) {
    const names = parseJsonMeta(meta, META_KEYS.classNames, source);
    if (
      !Array.isArray(names) ||
      names.length !== config.classes ||
      !names.every((x) => typeof x === 'string')
    ) {
      bad(`metadata ${META_KEYS.classNames} must be an array of ${config.classes} strings`);
    }
    classNames = names as string[];
  }
  return { config, normalization, classNames };
}

/**
 * Whether `bytes` are an ONNX model rather than safetensors: an `.onnx` name, or a protobuf
 * `ModelProto` start (field 1 `ir_version` as a varint, tag byte 0x08) where safetensors would
 * have its JSON header's `{` at byte 8.
 */
function looksLikeOnnx(bytes: Uint8Array, source: string): boolean {
  if (/\.onnx$/i.test(source)) return true;
  return bytes.length > 8 && bytes[0] === 0x08 && bytes[1] < 0x80 && bytes[8] !== 0x7b;
}

/**
 * Decodes a model file's bytes: the safetensors container, then the description.
 * @throws FormatError for a malformed container; CheckpointError for a missing or bad description
 */
export function decodeModel(bytes: Uint8Array, source: string): ModelFile {
  if (looksLikeOnnx(bytes, source)) {
    throw new FormatError(
      `${source} is an ONNX model, not an stcsnn model file (.safetensors or a run directory); ONNX models are for \`stcsnn predict --model\``,
    );
  }
  const { tensors: all, metadata } = decodeSafetensors(bytes, source);
  const info = modelInfoFromMetadata(metadata, source);
  const tensors: Record<string, SafeTensor> = {};
  const extraTensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(all)) {
    Object.defineProperty(name.startsWith(EXTRA_TENSOR_PREFIX) ? extraTensors : tensors, name, {
      value: t,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { ...info, source, tensors, extraTensors, metadata };
}

export { FormatError, CheckpointError };
