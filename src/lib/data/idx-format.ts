/**
 * The IDX format on bytes already inflated (no Node imports; the browser build uses it). The
 * format is described in `readers/idx.ts`, which adds gzip and files.
 */
import { DataError } from './types.js';

/** Magic number of an IDX file of uint8 images, `[count, rows, cols]`. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of uint8 labels, `[count]`. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** The largest inflated IDX file accepted by default (1 GiB), to bound memory on bad input. */
export const IDX_MAX_BYTES = 1 << 30;

/** Which kind of IDX file is expected. */
export type IdxKind = 'images' | 'labels';

/** A parsed IDX file: its sizes and its elements (a view into the file's bytes). */
export interface IdxArray {
  /** Sizes, `[count, rows, cols]` for images, `[count]` for labels. */
  readonly dims: readonly number[];
  /** `prod(dims)` uint8 elements, row-major. */
  readonly data: Uint8Array;
}

/** Fails with `"<file>: [inflated ]byte <offset>: <problem>"`. */
export function idxFail(file: string, offset: number | null, what: string, gz: boolean): never {
  const where = offset === null ? '' : gz ? `: inflated byte ${offset}` : `: byte ${offset}`;
  throw new DataError(`${file}${where}: ${what}`);
}

/**
 * Parses raw (not gzipped) IDX bytes of the given kind; `gz` only words error offsets as
 * offsets into inflated data. The checks are those listed at `parseIdx` in `readers/idx.ts`.
 * @throws DataError `"<file>: byte <offset>: <problem>"`
 */
export function parseIdxRaw(buf: Uint8Array, file: string, kind: IdxKind, gz = false): IdxArray {
  const wantDims = kind === 'images' ? 3 : 1;
  const wantMagic = kind === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
  if (buf.length < 4) idxFail(file, buf.length, `file too short for an IDX header (${buf.length} bytes)`, gz);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  if (magic !== wantMagic) {
    const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
    idxFail(file, 0, `bad magic ${hex(magic)}, expected ${hex(wantMagic)} (IDX uint8 ${kind})`, gz);
  }
  const headerLen = 4 + 4 * wantDims;
  if (buf.length < headerLen)
    idxFail(file, buf.length, `truncated IDX header (${buf.length} of ${headerLen} bytes)`, gz);
  const dims: number[] = [];
  let total = 1;
  const available = buf.length - headerLen;
  for (let d = 0; d < wantDims; d++) {
    const off = 4 + 4 * d;
    const v = view.getUint32(off);
    if (d > 0 && v === 0) idxFail(file, off, `dimension ${d} is 0`, gz);
    dims.push(v);
    total *= v;
    // reject a lying header before trusting it: even without the last dimension the product
    // exceeds the bytes present (a merely truncated file fails the size check below instead)
    if (total > available && d < wantDims - 1)
      idxFail(
        file,
        off,
        `dimension ${d} = ${v} is impossible: ${dims.join('x')}x... elements, but only ${available} data bytes follow the header`,
        gz,
      );
  }
  if (available < total) {
    idxFail(
      file,
      buf.length,
      `truncated data: header says ${dims.join('x')} = ${total} bytes, only ${available} follow it`,
      gz,
    );
  }
  if (available > total)
    idxFail(
      file,
      headerLen + total,
      `${available - total} unexpected bytes after the ${total} data bytes`,
      gz,
    );
  return { dims, data: buf.subarray(headerLen, headerLen + total) };
}
