/**
 * jAER AEDAT 2.0 event files, as recorded for CIFAR10-DVS, and their integration into frames.
 *
 * File format: header lines, each starting with `#` and ending with `\n` (the first must be
 * `#!AER-DAT2.<minor>`), then events of 8 bytes: a big-endian uint32 address and a big-endian uint32
 * timestamp (microseconds). The header ends at the first line that does not start with `#`.
 *
 * Address decoding for CIFAR10-DVS (the DVS128 layout SpikingJelly reads, 128x128):
 * `x = 127 - ((addr & 0x7F00) >> 8)`, `y = 127 - ((addr & 0xFE) >> 1)`, `p = 1 - (addr & 1)`.
 * No event-type filtering, as in SpikingJelly.
 *
 * Integration (SpikingJelly's `split_by='number'`): N events into F frames; frame f takes events
 * `[f*floor(N/F), (f+1)*floor(N/F))`, the last frame takes the rest; each frame counts events per
 * pixel and polarity. The frames are stacked as channels of one `[H, W, 2F]` sample, frame-major:
 * channel `2f + p` is frame f, polarity p (`[f0p0, f0p1, f1p0, f1p1, ...]`).
 */
import { DataError } from '../types.js';

/** The sensor size of CIFAR10-DVS (DVS128). */
export const DVS128_SIZE = 128;

/** Decoded events, `count` long each. */
export interface DvsEvents {
  readonly count: number;
  /** Column, 0..127. */
  readonly x: Uint8Array;
  /** Row, 0..127. */
  readonly y: Uint8Array;
  /** Polarity, 0 or 1. */
  readonly p: Uint8Array;
  /** Timestamps as stored (microseconds). */
  readonly t: Uint32Array;
}

const HASH = 0x23; // '#'
const NL = 0x0a;
const MAGIC = '#!AER-DAT';

/**
 * Finds where an AEDAT 2.0 file's header ends.
 * @returns the byte offset of the first event
 * @throws DataError naming `file` and the offset of the bad line: no header or a wrong magic line,
 *   a version other than 2.x, or a header line without its `\n` (missing header end)
 */
export function aedatDataOffset(buf: Uint8Array, file: string): number {
  if (buf.length === 0 || buf[0] !== HASH) {
    throw new DataError(`${file}: byte 0: missing AEDAT header (expected '${MAGIC}2.0')`);
  }
  let pos = 0;
  while (pos < buf.length && buf[pos] === HASH) {
    const nl = buf.indexOf(NL, pos);
    if (nl < 0) throw new DataError(`${file}: byte ${pos}: header line not terminated (missing header end)`);
    if (pos === 0) {
      const first = Buffer.from(buf.buffer, buf.byteOffset, Math.min(nl, 64)).toString('latin1').trimEnd();
      if (!first.startsWith(MAGIC)) {
        throw new DataError(`${file}: byte 0: wrong magic '${first.slice(0, 20)}', expected '${MAGIC}2.0'`);
      }
      const version = first.slice(MAGIC.length);
      if (!/^2(\.\d+)?$/.test(version)) {
        throw new DataError(
          `${file}: byte ${MAGIC.length}: unsupported AEDAT version '${version.slice(0, 16)}', expected 2.x`,
        );
      }
    }
    pos = nl + 1;
  }
  return pos;
}

/**
 * Parses an AEDAT 2.0 file's bytes into CIFAR10-DVS events (see the module doc).
 * @throws DataError naming `file` and a byte offset: header errors, a data part that is not a
 *   whole number of 8-byte events (an odd number of 32-bit words), or no events at all
 */
export function parseAedat(buf: Uint8Array, file: string): DvsEvents {
  const start = aedatDataOffset(buf, file);
  const bytes = buf.length - start;
  if (bytes % 4 !== 0) {
    throw new DataError(
      `${file}: byte ${start}: event data of ${bytes} bytes is not a whole number of 32-bit words`,
    );
  }
  if (bytes % 8 !== 0) {
    throw new DataError(
      `${file}: byte ${buf.length - 4}: odd number of 32-bit words (${bytes / 4}) after the header at byte ${start}`,
    );
  }
  const count = bytes / 8;
  if (count === 0) throw new DataError(`${file}: byte ${start}: no events after the header`);
  const view = new DataView(buf.buffer, buf.byteOffset + start, bytes);
  const x = new Uint8Array(count);
  const y = new Uint8Array(count);
  const p = new Uint8Array(count);
  const t = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const addr = view.getUint32(i * 8, false);
    t[i] = view.getUint32(i * 8 + 4, false);
    x[i] = 127 - ((addr & 0x7f00) >>> 8);
    y[i] = 127 - ((addr & 0xfe) >>> 1);
    p[i] = 1 - (addr & 1);
  }
  return { count, x, y, p, t };
}

/**
 * Integrates events into `frames` frames by event number (see the module doc).
 * @returns `[128, 128, 2*frames]` event counts, channel `2f + p`
 */
export function integrateFrames(ev: DvsEvents, frames: number): Float32Array {
  if (!Number.isInteger(frames) || frames < 1)
    throw new DataError(`frames must be a positive integer, got ${frames}`);
  const H = DVS128_SIZE;
  const W = DVS128_SIZE;
  const C = 2 * frames;
  const out = new Float32Array(H * W * C);
  const di = Math.floor(ev.count / frames);
  for (let f = 0; f < frames; f++) {
    const lo = f * di;
    const hi = f === frames - 1 ? ev.count : lo + di;
    for (let i = lo; i < hi; i++) out[(ev.y[i] * W + ev.x[i]) * C + 2 * f + ev.p[i]] += 1;
  }
  return out;
}
