/**
 * Model files on disk: reading, writing and resolving run directories. The format (metadata keys,
 * encoding, decoding) is `model-codec.ts`, re-exported here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildNetwork, type Network } from '../nn/models.js';
import { writeFileAtomic } from '../util/atomic.js';
import { decodeModel, encodeModel, type ModelFile, type SaveModelOptions } from './model-codec.js';
import { CheckpointError, loadStateDict } from './state-dict.js';

export * from './model-codec.js';

/** Writes `net` as a safetensors model file at `file`, atomically (temporary file, fsync, rename). */
export async function saveModel(file: string, net: Network, opts: SaveModelOptions = {}): Promise<void> {
  writeFileAtomic(file, encodeModel(net, opts));
}

/** Checkpoint file names in a run directory, in order of preference. */
export const RUN_DIR_MODELS = ['best.safetensors', 'last.safetensors'] as const;

/**
 * The model file a `--checkpoint`/`--model` argument names: the file itself, or in a run
 * directory `best.safetensors`, else `last.safetensors`.
 * @throws CheckpointError when the path does not exist or the directory holds neither file
 */
export function resolveModelPath(arg: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(arg);
  } catch {
    throw new CheckpointError(`${arg} does not exist (expected a run directory or a .safetensors file)`);
  }
  if (!st.isDirectory()) return arg;
  for (const name of RUN_DIR_MODELS) {
    const p = path.join(arg, name);
    if (fs.existsSync(p)) return p;
  }
  throw new CheckpointError(`run directory ${arg} has no ${RUN_DIR_MODELS.join(' or ')}`);
}

/**
 * Reads a model file (a safetensors file written by {@link saveModel} or the trainer).
 * @throws CheckpointError when the file cannot be read or describes no model; FormatError when
 *   it is not valid safetensors
 */
export async function readModelFile(file: string): Promise<ModelFile> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`cannot read model file ${file}${code ? ` (${code})` : ''}`);
  }
  return decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/**
 * Reads a model file and builds its network with the saved parameters.
 * @throws CheckpointError (one line, every mismatch) when the tensors do not fit the described model
 */
export async function loadModel(file: string): Promise<{ net: Network; file: ModelFile }> {
  const mf = await readModelFile(file);
  const net = buildNetwork(mf.config, 0);
  try {
    loadStateDict(net, mf.tensors, file);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return { net, file: mf };
}
