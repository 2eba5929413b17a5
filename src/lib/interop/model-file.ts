/**
 * Model files on disk: reading and writing. The format (metadata keys, encoding, decoding) is
 * `model-codec.ts`, re-exported here. Which file of a run directory is its model is the
 * application's layout (`app/rundir/model-path.ts`, `resolveModelPath`).
 */
import * as fs from 'node:fs';
import { buildNetwork, type Network } from '../nn/models.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FileSystemError, MAX_MODEL_FILE_BYTES, openRegularFile, readRegularFileAsync } from '../util/fs.js';
import { decodeSafetensorsHeader, FormatError, MAX_HEADER_BYTES } from './safetensors.js';
import {
  decodeModel,
  encodeModel,
  modelInfoFromMetadata,
  type ModelFile,
  type ModelInfo,
  type SaveModelOptions,
} from './model-codec.js';
import { CheckpointError, loadStateDict } from './state-dict.js';

export * from './model-codec.js';

/** Writes `net` as a safetensors model file at `file`, atomically (temporary file, fsync, rename). */
export async function saveModel(file: string, net: Network, opts: SaveModelOptions = {}): Promise<void> {
  writeFileAtomic(file, encodeModel(net, opts));
}

/**
 * Reads a model file (a safetensors file written by `saveModel` or the trainer).
 * @throws CheckpointError when the file cannot be read or describes no model; FormatError when
 *   it is not valid safetensors
 */
export async function readModelFile(file: string): Promise<ModelFile> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFileAsync(file, { maxBytes: MAX_MODEL_FILE_BYTES, what: 'model file' });
  } catch (e) {
    if (e instanceof FileSystemError) throw new CheckpointError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`cannot read model file ${file}${code ? ` (${code})` : ''}`);
  }
  return decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/**
 * Reads a model file's description from its safetensors header alone (the header is validated
 * as {@link decodeSafetensors} does; the tensor data is not read): cheap for large checkpoints.
 * @throws CheckpointError when the file cannot be read or describes no model; FormatError when
 *   its header is not valid safetensors
 */
export function readModelInfo(file: string): ModelInfo {
  let fd = -1;
  try {
    ({ fd } = openRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, what: 'model file' }));
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(8);
    const got = fs.readSync(fd, head, 0, 8, 0);
    const n = got === 8 ? head.readBigUInt64LE(0) : 0n;
    const want = 8 + Number(n > BigInt(MAX_HEADER_BYTES) || 8n + n > BigInt(size) ? 0n : n);
    const bytes = Buffer.alloc(want);
    const read = fs.readSync(fd, bytes, 0, want, 0);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, read);
    return modelInfoFromMetadata(decodeSafetensorsHeader(view, size, file).metadata, file);
  } catch (e) {
    if (e instanceof CheckpointError || e instanceof FormatError) throw e;
    if (e instanceof FileSystemError) throw new CheckpointError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(`cannot read model file ${file}${code ? ` (${code})` : ''}`);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
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
