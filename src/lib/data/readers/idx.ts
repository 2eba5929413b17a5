/**
 * The IDX file format (LeCun's MNIST format, also used by Fashion-MNIST), gzipped or raw.
 *
 * Layout (all integers big-endian):
 * ```
 * bytes 0-1   0x00 0x00
 * byte  2     element type: 0x08 = uint8 (the only type this reader accepts)
 * byte  3     number of dimensions d
 * bytes 4..   d uint32 sizes
 * then        prod(sizes) uint8 elements, row-major
 * ```
 * Images are magic `0x00000803` (`[count, rows, cols]`); labels are `0x00000801` (`[count]`).
 * A gzip stream is recognised by its magic `0x1f 0x8b` and inflated first; byte offsets in
 * errors then refer to the inflated data and say so.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { FileSystemError, readRegularFile } from '../../util/fs.js';
import { DataError } from '../types.js';
import { IDX_MAX_BYTES, parseIdxRaw, type IdxArray, type IdxKind } from '../idx-format.js';

export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IDX_MAX_BYTES, parseIdxRaw } from '../idx-format.js';
export type { IdxArray, IdxKind } from '../idx-format.js';

/** Options for reading IDX files. */
export interface IdxReadOptions {
  /** Reject inflated data larger than this many bytes (default {@link IDX_MAX_BYTES}). */
  maxBytes?: number;
}

/** True when `buf` starts with the gzip magic `0x1f 0x8b`. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Inflates `buf` if it is gzipped; otherwise returns it unchanged.
 * @throws DataError naming `file` on a corrupt or truncated stream, or one inflating past `maxBytes`.
 */
export function maybeGunzip(buf: Uint8Array, file: string, maxBytes = IDX_MAX_BYTES): Uint8Array {
  if (!isGzip(buf)) return buf;
  try {
    return gunzipSync(buf, { maxOutputLength: maxBytes });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
      throw new DataError(`${file}: gzip data inflates to more than ${maxBytes} bytes`);
    const msg = (e as Error).message ?? String(e);
    throw new DataError(`${file}: corrupt or truncated gzip data (${msg})`);
  }
}

/**
 * Parses IDX bytes (raw or gzipped) of the given kind.
 *
 * Checks, in order: the magic (type and dimension count), that the header is complete, that each
 * size is sane (> 0 for rows/cols; the product is checked against the bytes present before
 * anything is allocated), and that the data is exactly `prod(dims)` bytes (truncated or
 * oversized files are rejected).
 * @param bytes file contents (a gzip stream is inflated first)
 * @param file name used in error messages
 * @throws DataError `"<file>: byte <offset>: <problem>"`
 */
export function parseIdx(
  bytes: Uint8Array,
  file: string,
  kind: IdxKind,
  opts: IdxReadOptions = {},
): IdxArray {
  const gz = isGzip(bytes);
  const buf = maybeGunzip(bytes, file, opts.maxBytes ?? IDX_MAX_BYTES);
  return parseIdxRaw(buf, file, kind, gz);
}

/** Reads and parses an IDX file (raw or gzipped). @throws DataError naming the file. */
export function readIdxFile(path: string, kind: IdxKind, opts: IdxReadOptions = {}): IdxArray {
  let bytes: Uint8Array;
  try {
    // a gzipped IDX file is at most its inflated cap (gzip never expands); a raw one is the cap
    bytes = readRegularFile(path, { maxBytes: opts.maxBytes ?? IDX_MAX_BYTES, what: 'IDX file' });
  } catch (e) {
    if (e instanceof FileSystemError) throw new DataError(e.message);
    throw new DataError(`${path}: cannot read (${(e as Error).message})`);
  }
  return parseIdx(bytes, path, kind, opts);
}

/** Images and labels read from a pair of IDX files. */
export interface IdxImageSet {
  /** Number of images (= labels). */
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** `[count, rows, cols]` uint8 pixels. */
  readonly images: Uint8Array;
  /** `[count]` uint8 labels. */
  readonly labels: Uint8Array;
}

/**
 * Reads an image file and a label file and checks they agree.
 * @param classes when given, every label must be below it (the error names the label's byte offset)
 * @throws DataError naming the offending file
 */
export function readIdxImageSet(
  imagesPath: string,
  labelsPath: string,
  classes?: number,
  opts: IdxReadOptions = {},
): IdxImageSet {
  const im = readIdxFile(imagesPath, 'images', opts);
  const lb = readIdxFile(labelsPath, 'labels', opts);
  const [count, rows, cols] = im.dims;
  if (lb.dims[0] !== count)
    throw new DataError(`${labelsPath}: byte 4: ${lb.dims[0]} labels, but ${imagesPath} has ${count} images`);
  if (classes !== undefined) {
    for (let i = 0; i < lb.data.length; i++) {
      if (lb.data[i] >= classes)
        throw new DataError(`${labelsPath}: byte ${8 + i}: label ${lb.data[i]} is not below ${classes}`);
    }
  }
  return { count, rows, cols, images: im.data, labels: lb.data };
}

/**
 * Encodes uint8 data as an IDX file (for fixtures and the embedded subset).
 * @param dims sizes; `data.length` must equal their product
 * @param gzip gzip the result (deterministically: no name, mtime 0)
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array, gzip = false): Uint8Array {
  const total = dims.reduce((a, b) => a * b, 1);
  if (data.length !== total)
    throw new RangeError(`encodeIdx: ${data.length} bytes for dims ${dims.join('x')}`);
  const out = new Uint8Array(4 + 4 * dims.length + total);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(data, 4 + 4 * dims.length);
  return gzip ? gzipSync(out, { level: 9 }) : out;
}
