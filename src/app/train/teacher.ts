/**
 * The teacher of a distilled run (`stcsnn train --distill-from SOURCE`, `lib/train/distill.ts`):
 * a trained stcsnn network, ANN or STC, of any architecture and width, that takes the run's
 * inputs (same shape, same normalisation) and predicts its classes. SOURCE is a run directory
 * (its `best.safetensors`, else `last.safetensors`) or an stcsnn model file.
 */
import { ConfigError } from '../../lib/core/config.js';
import type { Dataset, Normalization } from '../../lib/data/types.js';
import { CheckpointError } from '../../lib/interop/state-dict.js';
import { loadModel, readModelInfo, type ModelInfo } from '../../lib/interop/model-file.js';
import { FormatError } from '../../lib/interop/safetensors.js';
import type { Network } from '../../lib/nn/models.js';
import { resolveModelPath } from '../rundir/model-path.js';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** What of the teacher described by `info` does not fit the run, or undefined. */
function mismatch(
  info: ModelInfo,
  ds: Pick<Dataset, 'shape' | 'classes'>,
  normalization: Normalization,
): string | undefined {
  const c = info.config;
  return !same(c.inputShape, ds.shape)
    ? `takes inputs ${c.inputShape.join('x')}, this run's data set ${ds.shape.join('x')}`
    : c.classes !== ds.classes
      ? `predicts ${c.classes} classes, this run's data set has ${ds.classes}`
      : info.normalization && !same(info.normalization, normalization)
        ? `was trained on inputs normalised as ${JSON.stringify(info.normalization)}, this run normalises as ${JSON.stringify(normalization)}`
        : undefined;
}

/** A model file's error as `--distill-from`'s; other errors as they are. */
function asDistillError(e: unknown): unknown {
  return e instanceof CheckpointError || e instanceof FormatError
    ? new CheckpointError(`--distill-from ${e.message}`)
    : e;
}

/**
 * Loads the teacher at `source` for a run on data of `ds`'s shape and classes, normalised by
 * `normalization`. Its input shape, classes and normalisation are checked on the model file's
 * header (`readModelInfo`) before its weights are read.
 * @throws ConfigError for an ONNX file; CheckpointError (one line, naming `--distill-from` and
 *   what does not match) for a missing or unreadable model, another input shape, class count or
 *   input normalisation
 */
export async function openTeacher(
  source: string,
  ds: Pick<Dataset, 'shape' | 'classes'>,
  normalization: Normalization,
): Promise<Network> {
  if (/\.onnx$/i.test(source))
    throw new ConfigError(
      `--distill-from ${source}: an ONNX model cannot teach; give a run directory or its .safetensors file`,
    );
  let path: string;
  try {
    path = resolveModelPath(source);
  } catch (e) {
    throw asDistillError(e);
  }
  let header: ModelInfo | undefined;
  try {
    header = readModelInfo(path);
  } catch {
    // an unreadable header: loading the file below says why, in its own words
  }
  const early = header && mismatch(header, ds, normalization);
  if (early) throw new CheckpointError(`--distill-from ${source}: the teacher ${early}`);
  let loaded: Awaited<ReturnType<typeof loadModel>>;
  try {
    loaded = await loadModel(path);
  } catch (e) {
    throw asDistillError(e);
  }
  const { net, file } = loaded;
  const problem = header ? undefined : mismatch(file, ds, normalization);
  if (problem) {
    net.dispose();
    throw new CheckpointError(`--distill-from ${source}: the teacher ${problem}`);
  }
  return net;
}
