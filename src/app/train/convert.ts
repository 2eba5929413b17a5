/**
 * ANN-to-STC conversion (`stcsnn train --init-from SOURCE`): an STC run starts from a trained
 * ANN of the same architecture and width instead of a random initialisation; or from a trained
 * STC network of another T (re-encoding: e.g. trained at T = 8, fine-tuned at T = 2).
 *
 * SOURCE is a run directory (its `best.safetensors`, else `last.safetensors`), an stcsnn model
 * file, or a plain safetensors file holding the ANN's PyTorch `state_dict` in the layout of
 * docs/pytorch.md (`safetensors.torch.save_file(model.state_dict(), path)` of the documented ANN
 * module). Every parameter and batch-norm buffer is copied except learned thresholds
 * (`log_theta`: an ANN has none, an STC source's were learned for its own T); they are calibrated
 * from the activations the converted network sees (`lib/nn/calibrate.ts`). With fixed thresholds
 * (`--learn-theta off`) there is nothing per layer to calibrate: every STCB keeps `stc.theta0`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../lib/core/config.js';
import { decodeSafetensors } from '../../lib/interop/safetensors.js';
import { decodeModel, type ModelFile } from '../../lib/interop/model-codec.js';
import {
  CheckpointError,
  describeIdentity,
  identityDifference,
  identityOf,
  loadStateDict,
} from '../../lib/interop/state-dict.js';
import { calibrateThresholds, type CalibratedLayer } from '../../lib/nn/calibrate.js';
import { LOG_THETA } from '../../lib/nn/layers.js';
import type { Network } from '../../lib/nn/models.js';
import { FileSystemError, MAX_MODEL_FILE_BYTES, readRegularFile } from '../../lib/util/fs.js';
import type { DataLoader } from '../../lib/data/loader.js';
import { resolveModelPath } from '../rundir/model-path.js';
import type { TrainResult } from '../rundir/result-file.js';

/** Batches of training data the thresholds are calibrated on. */
export const CALIBRATION_BATCHES = 4;

/** What a conversion did, for the log and `result.json`. */
export interface Conversion {
  /** The file the ANN was read from. */
  readonly file: string;
  /** `stcsnn` (an stcsnn model file) or `state_dict` (a plain safetensors state dict). */
  readonly kind: 'stcsnn' | 'state_dict';
  /** What the source was: an ANN, or an STC network (re-encoded at this run's T). */
  readonly from: 'ann' | 'stc';
  /** The calibrated STCBs (empty with fixed thresholds). */
  readonly calibrated: readonly CalibratedLayer[];
}

const isLearnedThreshold = (name: string): boolean => name.endsWith(`.${LOG_THETA}`);

/** The source's file: an stcsnn model file (checked against `net`) or a plain state dict. */
function readSource(
  source: string,
  net: Network,
): { file: string; kind: Conversion['kind']; from: Conversion['from']; tensors: ModelFile['tensors'] } {
  if (/\.onnx$/i.test(source))
    throw new ConfigError(
      `--init-from ${source}: an ONNX model cannot be converted; give the ANN's run directory or its .safetensors file`,
    );
  let file: string;
  let bytes: Buffer;
  try {
    file = resolveModelPath(source);
    bytes = readRegularFile(file, { maxBytes: MAX_MODEL_FILE_BYTES, what: 'model' });
  } catch (e) {
    if (e instanceof FileSystemError || e instanceof CheckpointError)
      throw new CheckpointError(`--init-from ${(e as Error).message}`);
    throw e;
  }
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const raw = decodeSafetensors(view, file);
  if (raw.metadata['stcsnn.format'] === undefined) {
    const from = Object.keys(raw.tensors).some(isLearnedThreshold) ? 'stc' : 'ann';
    return { file, kind: 'state_dict', from, tensors: raw.tensors };
  }
  const mf = decodeModel(view, file);
  const from = mf.config.mode === 'ann' ? 'ann' : 'stc';
  const here = identityOf(net.config);
  const diff = identityDifference(identityOf(mf.config), here).filter((k) => k !== 'mode' && k !== 'T');
  if (diff.length)
    throw new CheckpointError(
      `--init-from ${file} is a ${describeIdentity(identityOf(mf.config), diff)} ${from.toUpperCase()}, this run is ${describeIdentity(here, diff)} (${diff.join(' and ')} ${diff.length > 1 ? 'differ' : 'differs'})`,
    );
  return { file, kind: 'stcsnn', from, tensors: mf.tensors };
}

/**
 * Initialises the STC network `net` from the ANN (or STC network) at `source` and calibrates its
 * learned thresholds on `batches` (inputs as in training); a source's own learned thresholds are
 * not copied.
 * @throws ConfigError for a source that cannot be converted (ONNX, another network);
 *   CheckpointError naming the tensors that do not fit (missing, wrong shape: e.g. another class
 *   count)
 */
export function convertFrom(net: Network, source: string, batches: readonly tf.Tensor4D[]): Conversion {
  if (net.config.mode !== 'stc')
    throw new ConfigError('--init-from converts an ANN into an STC network: it needs --mode stc');
  const { file, kind, from, tensors } = readSource(source, net);
  const copied = Object.fromEntries(Object.entries(tensors).filter(([name]) => !isLearnedThreshold(name)));
  loadStateDict(net, copied, file, { except: isLearnedThreshold });
  return { file, kind, from, calibrated: calibrateThresholds(net, batches) };
}

/**
 * Converts `net` from the ANN at `source` (`--init-from`), calibrating on the first training
 * batches of `loader`; says what it did in one notice, and returns it as `result.json` records it.
 */
export async function convertRun(
  net: Network,
  source: string,
  loader: DataLoader,
  onNotice?: (line: string) => void,
): Promise<NonNullable<TrainResult['conversion']>> {
  const batches: tf.Tensor4D[] = [];
  try {
    for await (const b of loader.epoch(0)) {
      batches.push(tf.tensor4d(b.x, [b.size, ...b.shape]));
      if (batches.length === CALIBRATION_BATCHES) break;
    }
    const c = convertFrom(net, source, batches);
    const n = c.calibrated.length;
    const what = `converted from ${c.file}${c.from === 'stc' ? ' (an STC network, re-encoded)' : ''}`;
    onNotice?.(
      n === 0
        ? `${what}: thresholds not calibrated (--learn-theta off keeps theta0 ${net.config.stc?.theta0} in every STCB; --learn-theta layer or channel calibrates them)`
        : `${what}: ${n} STCB thresholds calibrated for the least encoding error of their inputs (${batches.length} batches)`,
    );
    return {
      ...c,
      calibrated: c.calibrated.map((l) => ({ ...l, before: [...l.before], after: [...l.after] })),
    };
  } finally {
    tf.dispose(batches);
  }
}
