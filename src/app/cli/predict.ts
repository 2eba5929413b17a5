/** `stcsnn predict`: top-k classes of PNG/JPEG images with an ONNX model or a checkpoint. */
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { DataError } from '../../lib/data/types.js';
import { conversionText, imageToInput, type ChannelConversion } from '../../lib/interop/image-input.js';
import {
  modelInfoFromMetadata,
  readModelFile,
  type ModelFile,
  type ModelInfo,
} from '../../lib/interop/model-file.js';
import { buildNetwork } from '../../lib/nn/models.js';
import { resolveModelPath } from '../rundir/model-path.js';
import { onnxInputMismatch, readOnnxHeader, type OnnxInput } from '../../lib/interop/onnx.js';
import { CheckpointError, loadStateDict } from '../../lib/interop/state-dict.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { UsageError } from './errors.js';
import { notice, printJson, table } from './output.js';
import { parseInteger } from './options.js';
import { readTidy } from '../../lib/util/read.js';
import { escapeControl } from '../../lib/util/text.js';
import { IMAGE_LIMITS } from '../../lib/core/limits.js';
import { FileSystemError, MAX_MODEL_FILE_BYTES, readRegularFile } from '../../lib/util/fs.js';

interface PredictFlags extends CommonFlags {
  model: string;
  input: string[];
  top: string;
}

/** One image's prediction. */
export interface Prediction {
  input: string;
  top: { class: number; name: string; probability: number }[];
}

/** An image that could not be predicted (unreadable, not a PNG/JPEG, corrupt): its own entry. */
export interface PredictionError {
  input: string;
  error: string;
}

/** The result of `predict`, also its `--json` output. */
export interface PredictResult {
  model: string;
  runtime: 'onnxruntime' | 'stcsnn';
  /** One entry per `--input`, in order: a prediction, or the reason that image failed. */
  predictions: (Prediction | PredictionError)[];
}

/** Softmax of each row of a flat `[n, k]` array (float64, max-subtracted). */
export function softmaxRows(logits: ArrayLike<number>, k: number): number[][] {
  const out: number[][] = [];
  for (let r = 0; r < logits.length / k; r++) {
    const row = Array.from({ length: k }, (_, j) => logits[r * k + j]);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(e.map((v) => v / s));
  }
  return out;
}

/** An image file's bytes: a regular file of at most `IMAGE_LIMITS.maxFileBytes`. @throws DataError */
function readInput(file: string): Uint8Array {
  try {
    return readRegularFile(file, { maxBytes: IMAGE_LIMITS.maxFileBytes, what: 'image' });
  } catch (e) {
    if (e instanceof FileSystemError) throw new DataError(e.message);
    throw new DataError(`cannot read image ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Logits `[n, classes]` of NHWC inputs with onnxruntime-node (imported on demand). */
async function onnxLogits(
  bytes: Uint8Array,
  info: ModelInfo,
  x: Float32Array,
  n: number,
  source: string,
): Promise<Float32Array> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch {
    throw new UsageError(
      'running an .onnx model needs the onnxruntime-node package (npm install onnxruntime-node); or pass the run directory',
    );
  }
  const [h, w, c] = info.config.inputShape;
  const nchw = new Float32Array(x.length);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++)
          nchw[((i * c + ch) * h + y) * w + xx] = x[((i * h + y) * w + xx) * c + ch];
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (e) {
    throw new CheckpointError(`onnxruntime cannot load the model: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    let out: import('onnxruntime-node').InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ input: new ort.Tensor('float32', nchw, [n, c, h, w]) });
    } catch (e) {
      // the graph refused what its metadata describes (an edited file): one line, bad input
      throw new CheckpointError(
        `${source}: onnxruntime cannot run the model on input [${n},${c},${h},${w}] (its metadata's inputShape [${h},${w},${c}]): ${(e as Error).message.split('\n')[0]}`,
      );
    }
    const logits = out.logits ?? Object.values(out)[0];
    const k = info.config.classes;
    if (!logits || logits.data.length !== n * k)
      throw new CheckpointError(
        `${source}: the graph's output has ${logits?.data.length ?? 0} values, not ${n} x ${k} classes (its metadata's classes)`,
      );
    return Float32Array.from(logits.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** A model to predict with: an ONNX graph (run by onnxruntime) or a model file (run by stcsnn). */
type PredictModel =
  | {
      readonly kind: 'onnx';
      readonly file: string;
      readonly info: ModelInfo;
      readonly bytes: Uint8Array;
      readonly inputs: readonly OnnxInput[];
    }
  | { readonly kind: 'stcsnn'; readonly file: string; readonly info: ModelFile };

/**
 * The model `--model` names: an `.onnx` file (its graph's input checked against its metadata,
 * for any batch), or a run directory or model file.
 */
async function readPredictModel(path: string): Promise<PredictModel> {
  if (!path.toLowerCase().endsWith('.onnx')) {
    const file = resolveModelPath(path);
    return { kind: 'stcsnn', file, info: await readModelFile(file) };
  }
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, { maxBytes: MAX_MODEL_FILE_BYTES, what: 'model file' });
  } catch (e) {
    if (e instanceof FileSystemError) throw new CheckpointError(e.message);
    throw new CheckpointError(`cannot read model ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const header = readOnnxHeader(bytes, path);
  const info = modelInfoFromMetadata(header.metadata, path);
  // the graph must take what the metadata describes (both can be edited apart): checked
  // here for any batch, and again for the batch fed (modelLogits)
  const mismatch = onnxInputMismatch(header.inputs, info.config.inputShape);
  if (mismatch) throw new CheckpointError(`${path}: ${mismatch}`);
  return { kind: 'onnx', file: path, info, bytes, inputs: header.inputs };
}

/**
 * The model's inputs of the images, each on its own: one that cannot be read is reported in
 * `failed` (by its index), the rest converted (a channel conversion said once).
 */
function readImages(
  files: readonly string[],
  info: ModelInfo,
): { inputs: Float32Array[]; failed: Map<number, string> } {
  const told = new Set<ChannelConversion>();
  const onConvert = (c: ChannelConversion) => {
    if (!told.has(c)) notice(conversionText(c));
    told.add(c);
  };
  const inputs: Float32Array[] = [];
  const failed = new Map<number, string>();
  files.forEach((f, i) => {
    try {
      inputs.push(imageToInput(readInput(f), f, info.config.inputShape, info.normalization, onConvert));
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      failed.set(i, e.message);
    }
  });
  return { inputs, failed };
}

/** The model's logits `[n, classes]` of `n` NHWC inputs. */
async function modelLogits(
  model: PredictModel,
  x: Float32Array,
  n: number,
  flags: PredictFlags,
): Promise<Float32Array> {
  const { info } = model;
  if (model.kind === 'onnx') {
    const mismatch = onnxInputMismatch(model.inputs, info.config.inputShape, n);
    if (mismatch) throw new CheckpointError(`${model.file}: ${mismatch}`);
    return onnxLogits(model.bytes, info, x, n, model.file);
  }
  await backendFor(flags);
  const net = buildNetwork(info.config, 0);
  try {
    loadStateDict(net, model.info.tensors, model.file);
    return readTidy(() =>
      net.forward(tf.tensor4d(x, [n, ...info.config.inputShape]), { training: false }),
    ) as Float32Array;
  } finally {
    net.dispose();
  }
}

/** The class probabilities of each input (none without inputs). */
async function probabilities(
  model: PredictModel,
  inputs: readonly Float32Array[],
  flags: PredictFlags,
): Promise<number[][]> {
  const n = inputs.length;
  if (n === 0) return [];
  const [h, w, c] = model.info.config.inputShape;
  const per = h * w * c;
  const x = new Float32Array(per * n);
  inputs.forEach((v, i) => x.set(v, i * per));
  return softmaxRows(await modelLogits(model, x, n, flags), model.info.config.classes);
}

/** One entry per input file: its `k` most probable classes, or why it was not predicted. */
function predictionsOf(
  files: readonly string[],
  failed: ReadonlyMap<number, string>,
  probs: readonly number[][],
  info: ModelInfo,
  k: number,
): (Prediction | PredictionError)[] {
  let next = 0;
  return files.map((f, i) => {
    const error = failed.get(i);
    if (error !== undefined) return { input: f, error };
    return {
      input: f,
      top: probs[next++]
        .map((p, c) => ({ class: c, name: info.classNames?.[c] ?? String(c), probability: p }))
        .sort((a, b) => b.probability - a.probability || a.class - b.class)
        .slice(0, k),
    };
  });
}

/** Each input's name and its table of classes (or why it was not predicted). */
function printPredictions(predictions: readonly (Prediction | PredictionError)[]): void {
  for (const p of predictions) {
    console.log(escapeControl(p.input));
    if ('error' in p) {
      console.log(`  not predicted: ${escapeControl(p.error)}`);
      continue;
    }
    console.log(
      table([
        ['rank', 'class', 'name', 'probability'],
        ...p.top.map((t, j) => [String(j + 1), String(t.class), t.name, t.probability.toFixed(4)]),
      ]),
    );
  }
}

/**
 * `stcsnn predict`: the top-k classes of each image; an image that cannot be read gets its own
 * entry, and the command fails (exit 2) only when none could be predicted.
 */
export function predictCommand(): Command {
  const cmd = new Command('predict').description(
    'top-k classes with probabilities for PNG/JPEG images, resized and normalised as in training; ' +
      'colour images are converted to luminance for a greyscale model (and grey to three channels), said once on stderr. An image that cannot be read gets its own entry with the reason ({input, error} in --json) and the others are still predicted: exit 0 when at least one image was predicted, 2 when none was',
  );
  cmd
    .requiredOption(
      '--model <path>',
      'an ONNX file from `stcsnn export`, a run directory or a .safetensors file',
    )
    .requiredOption('--input <images...>', 'PNG or JPEG files')
    .option('--top <k>', 'classes to list per image', '5');
  withCommon(cmd);
  cmd.action(async (flags: PredictFlags) => {
    const model = await readPredictModel(flags.model);
    const { info } = model;
    const k = parseInteger('--top', flags.top, 1, info.config.classes);
    if (!info.normalization) notice(`${model.file} stores no normalisation; feeding raw 0..255 pixels`);
    const { inputs, failed } = readImages(flags.input, info);
    const probs = await probabilities(model, inputs, flags);
    const predictions = predictionsOf(flags.input, failed, probs, info, k);
    const r: PredictResult = {
      model: model.file,
      runtime: model.kind === 'onnx' ? 'onnxruntime' : 'stcsnn',
      predictions,
    };
    const none = inputs.length === 0;
    const allFailed = () =>
      new DataError(
        `no image could be predicted: ${failed.get(0)}${failed.size > 1 ? ` (and ${failed.size - 1} more; see each entry)` : ''}`,
      );
    if (failed.size > 0 && !none)
      notice(`${failed.size} of ${flags.input.length} images could not be predicted (see their entries)`);
    if (flags.json) {
      printJson(r);
      if (none) throw allFailed();
      return;
    }
    printPredictions(predictions);
    if (none) throw allFailed();
  });
  return cmd;
}
