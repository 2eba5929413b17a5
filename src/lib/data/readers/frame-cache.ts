/**
 * The on-disk cache of integrated DVS frames: one file per (source file, integration parameters).
 *
 * File format (little-endian):
 * | offset | size | field                                                   |
 * |--------|------|---------------------------------------------------------|
 * | 0      | 4    | magic `STCF`                                            |
 * | 4      | 4    | version, uint32 (1)                                     |
 * | 8      | 12   | shape H, W, C, uint32 each                              |
 * | 20     | 4    | CRC-32 of the payload                                   |
 * | 24     | 32   | SHA-256 of the cache key (the entry's identity)         |
 * | 56     | 4HWC | payload: the `[H, W, C]` sample, float32                |
 * An entry is trusted only when every field checks out and the size is exact; anything else is
 * reported as a {@link DataError}, and the reader rebuilds the entry from the source.
 */
import { createHash } from 'node:crypto';
import { DataError } from '../types.js';
import { crc32 } from './util.js';

/** The cache file magic. */
export const FRAME_CACHE_MAGIC = 'STCF';
/** The cache file version. */
export const FRAME_CACHE_VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Header bytes. */
export const FRAME_CACHE_HEADER = 56;

/** SHA-256 of a cache key string, as 32 bytes. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** Serialises a sample into a cache file (see the module doc). */
export function encodeFrameCache(
  data: Float32Array,
  shape: readonly [number, number, number],
  key: string,
): Buffer {
  const n = shape[0] * shape[1] * shape[2];
  if (data.length !== n) throw new Error(`frame cache: ${data.length} values for shape ${shape.join('x')}`);
  const buf = Buffer.alloc(FRAME_CACHE_HEADER + 4 * n);
  buf.write(FRAME_CACHE_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(FRAME_CACHE_VERSION, 4);
  buf.writeUInt32LE(shape[0], 8);
  buf.writeUInt32LE(shape[1], 12);
  buf.writeUInt32LE(shape[2], 16);
  if (LITTLE_ENDIAN) buf.set(new Uint8Array(data.buffer, data.byteOffset, 4 * n), FRAME_CACHE_HEADER);
  else for (let i = 0; i < n; i++) buf.writeFloatLE(data[i], FRAME_CACHE_HEADER + 4 * i);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_CACHE_HEADER)), 20);
  keyDigest(key).copy(buf, 24);
  return buf;
}

/**
 * Reads a cache file, checking it against the expected shape and key.
 * @param file the cache file's name, for error messages
 * @throws DataError naming `file` and the byte offset of the first field that does not check out
 */
export function decodeFrameCache(
  buf: Uint8Array,
  file: string,
  shape: readonly [number, number, number],
  key: string,
): Float32Array {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < FRAME_CACHE_HEADER)
    throw new DataError(`${file}: byte ${b.length}: truncated frame cache header`);
  if (b.toString('latin1', 0, 4) !== FRAME_CACHE_MAGIC) throw new DataError(`${file}: byte 0: wrong magic`);
  const version = b.readUInt32LE(4);
  if (version !== FRAME_CACHE_VERSION) throw new DataError(`${file}: byte 4: unsupported version ${version}`);
  for (let k = 0; k < 3; k++) {
    const v = b.readUInt32LE(8 + 4 * k);
    if (v !== shape[k]) {
      throw new DataError(`${file}: byte ${8 + 4 * k}: shape ${v} differs from the expected ${shape[k]}`);
    }
  }
  if (!keyDigest(key).equals(b.subarray(24, 56)))
    throw new DataError(`${file}: byte 24: key digest does not match`);
  const n = shape[0] * shape[1] * shape[2];
  if (b.length !== FRAME_CACHE_HEADER + 4 * n) {
    throw new DataError(
      `${file}: byte ${Math.min(b.length, FRAME_CACHE_HEADER + 4 * n)}: size ${b.length}, expected ${FRAME_CACHE_HEADER + 4 * n}`,
    );
  }
  if (crc32(b.subarray(FRAME_CACHE_HEADER)) !== b.readUInt32LE(20)) {
    throw new DataError(`${file}: byte 20: payload checksum mismatch`);
  }
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(b.subarray(FRAME_CACHE_HEADER));
  else for (let i = 0; i < n; i++) out[i] = b.readFloatLE(FRAME_CACHE_HEADER + 4 * i);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i]))
      throw new DataError(`${file}: byte ${FRAME_CACHE_HEADER + 4 * i}: non-finite value`);
  }
  return out;
}
