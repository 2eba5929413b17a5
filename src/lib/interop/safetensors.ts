/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written without
 * dependencies, with every field of an untrusted file checked before anything is allocated.
 *
 * Layout:
 *
 * ```
 * bytes 0..7      N, the header length, unsigned 64-bit little-endian
 * bytes 8..8+N    the header: UTF-8 JSON object
 *                   { "<name>": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] },
 *                     ...,
 *                     "__metadata__": { "<key>": "<string value>", ... } }      (optional)
 *                 padded with spaces to a multiple of 8 bytes when written here
 * bytes 8+N..     the data buffer; tensor bytes are row-major little-endian at
 *                 [8 + N + begin, 8 + N + end), offsets relative to the buffer's start
 * ```
 *
 * A valid file (as checked by {@link decodeSafetensors}): `8 + N <= file size`, `N <= 100 MB`,
 * the header is a JSON object, every dtype is one of {@link SAFE_DTYPES}, every shape entry is a
 * non-negative safe integer, `end - begin = product(shape) * dtype size`, and the tensors' byte
 * ranges tile the data buffer exactly (contiguous, non-overlapping, no gap, nothing after the last).
 */

/** Element types supported here, with their sizes in bytes. */
export const SAFE_DTYPES = { F32: 4, F64: 8, I32: 4, I64: 8, U8: 1 } as const;
/** A safetensors dtype name. */
export type SafeDType = keyof typeof SAFE_DTYPES;

/** The typed array that holds each dtype's elements. */
export interface SafeDataOf {
  F32: Float32Array;
  F64: Float64Array;
  I32: Int32Array;
  I64: BigInt64Array;
  U8: Uint8Array;
}
/** Any tensor data array. */
export type SafeData = SafeDataOf[SafeDType];

/** One tensor: `data` holds `product(shape)` elements, row-major. A 0-d tensor has `shape: []`. */
export interface SafeTensor {
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  readonly data: SafeData;
}

/** A decoded file: tensors by name and the `__metadata__` string map (empty when absent). */
export interface SafetensorsFile {
  readonly tensors: Record<string, SafeTensor>;
  readonly metadata: Record<string, string>;
}

/** A malformed file: the one-line message names the file and what is wrong. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Largest header accepted, in bytes. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Largest tensor rank accepted. */
export const MAX_RANK = 32;

const METADATA_KEY = '__metadata__';

function isDType(s: unknown): s is SafeDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(SAFE_DTYPES, s);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function constructorOf(dtype: SafeDType) {
  switch (dtype) {
    case 'F32':
      return Float32Array;
    case 'F64':
      return Float64Array;
    case 'I32':
      return Int32Array;
    case 'I64':
      return BigInt64Array;
    case 'U8':
      return Uint8Array;
  }
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Encodes tensors and metadata as a safetensors file. Tensors are laid out in name order; the
 * header is padded with spaces to a multiple of 8 bytes so that the data starts aligned.
 *
 * @throws RangeError when a tensor's data length is not `product(shape)` or its array type does
 *   not match its dtype (a bug in the caller, not bad input)
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafeTensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata };
  let offset = 0;
  for (const name of names) {
    if (name === METADATA_KEY || name === '') throw new RangeError(`safetensors: bad tensor name '${name}'`);
    const t = tensors[name];
    if (!(t.data instanceof constructorOf(t.dtype))) {
      throw new RangeError(`safetensors: ${name}: ${t.dtype} data must be a ${constructorOf(t.dtype).name}`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || t.data.length !== elementCount(t.shape)) {
      throw new RangeError(`safetensors: ${name}: ${t.data.length} elements do not fill shape [${t.shape}]`);
    }
    const size = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let p = 8 + headerLen;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p);
    p += d.byteLength;
  }
  return out;
}

/** Sets an own enumerable property, also for names like `__proto__`. */
function setOwn<V>(obj: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A tensor's entry in the header: where its bytes lie in the data buffer. */
export interface SafeTensorEntry {
  readonly name: string;
  readonly dtype: SafeDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header: its length N, the tensors in data order, and the metadata. */
export interface SafetensorsHeader {
  readonly headerLength: number;
  readonly entries: readonly SafeTensorEntry[];
  readonly metadata: Record<string, string>;
}

/**
 * Decodes and validates a safetensors header (every check of {@link decodeSafetensors} except
 * reading the data) from the file's first bytes.
 *
 * @param bytes the file's first `8 + N` bytes at least (or the whole file)
 * @param fileSize the whole file's size in bytes
 * @param source the file name, for error messages
 * @throws FormatError (one line, naming `source`) for a truncated file, a header length that
 *   overflows the file or exceeds {@link MAX_HEADER_BYTES}, a header that is not a UTF-8 JSON
 *   object, an unknown dtype, a bad shape, offsets out of range, overlapping or leaving gaps, or
 *   a byte range whose size disagrees with shape and dtype
 */
export function decodeSafetensorsHeader(
  bytes: Uint8Array,
  fileSize: number,
  source: string,
): SafetensorsHeader {
  const fail = (what: string): never => {
    throw new FormatError(`${source}: not a valid safetensors file: ${what}`);
  };
  if (!LITTLE_ENDIAN) fail('big-endian hosts are not supported');
  if (fileSize < 8 || bytes.length < 8) fail(`${fileSize} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(n64);
  if (n < 2) fail(`header length ${n} is too short for a JSON object`);
  if (8 + n > fileSize) fail(`header length ${n} overflows the file (${fileSize} bytes)`);
  if (8 + n > bytes.length) fail(`header length ${n}: only ${bytes.length} bytes were read`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (!isPlainObject(header)) return fail('the header is not a JSON object');
  const dataLen = fileSize - 8 - n;
  const metadata: Record<string, string> = {};
  const entries: SafeTensorEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(raw)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${JSON.stringify(k)} is not a string`);
        setOwn(metadata, k, v as string);
      }
      continue;
    }
    const q = JSON.stringify(name);
    if (name === '') fail('a tensor has an empty name');
    if (!isPlainObject(raw)) fail(`tensor ${q} is not an object`);
    const e = raw as Record<string, unknown>;
    for (const k of Object.keys(e)) {
      if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets')
        fail(`tensor ${q} has an unknown field ${JSON.stringify(k)}`);
    }
    if (!isDType(e.dtype)) {
      fail(
        `tensor ${q} has unsupported dtype ${JSON.stringify(e.dtype) ?? 'undefined'} (supported: ${Object.keys(SAFE_DTYPES).join(', ')})`,
      );
    }
    const dtype = e.dtype as SafeDType;
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > MAX_RANK)
      fail(`tensor ${q} has no shape array of rank <= ${MAX_RANK}`);
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        fail(`tensor ${q} has a bad shape entry ${JSON.stringify(d)}`);
      }
    }
    let count = 1;
    for (const d of shape as number[]) {
      count *= d;
      if (!Number.isSafeInteger(count)) fail(`tensor ${q} has a shape whose size overflows`);
    }
    const byteSize = count * SAFE_DTYPES[dtype];
    if (!Number.isSafeInteger(byteSize)) fail(`tensor ${q} has a shape whose size overflows`);
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
    ) {
      fail(`tensor ${q} has bad data_offsets (need [begin, end], non-negative integers)`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin) fail(`tensor ${q} has data_offsets [${begin}, ${end}] with end < begin`);
    if (end > dataLen) fail(`tensor ${q} ends at ${end}, past the ${dataLen}-byte data buffer (truncated?)`);
    if (end - begin !== byteSize) {
      fail(`tensor ${q} has ${end - begin} bytes but ${dtype} [${shape}] needs ${byteSize}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin < expected) fail(`tensor ${JSON.stringify(e.name)} overlaps the previous tensor's bytes`);
    if (e.begin > expected)
      fail(`a gap of ${e.begin - expected} bytes before tensor ${JSON.stringify(e.name)}`);
    expected = e.end;
  }
  if (expected !== dataLen) fail(`${dataLen - expected} bytes after the last tensor`);
  return { headerLength: n, entries, metadata };
}

/**
 * Decodes and validates a safetensors file. Memory used is bounded by the file's size: every
 * length is checked against the bytes present before a buffer is allocated.
 *
 * @param bytes the whole file
 * @param source the file name, for error messages
 * @throws FormatError (one line, naming `source`) for a truncated file, a header length that
 *   overflows the file or exceeds {@link MAX_HEADER_BYTES}, a header that is not a UTF-8 JSON
 *   object, an unknown dtype, a bad shape, offsets out of range, overlapping or leaving gaps, or
 *   a byte range whose size disagrees with shape and dtype
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const { headerLength: n, entries, metadata } = decodeSafetensorsHeader(bytes, bytes.length, source);
  const tensors: Record<string, SafeTensor> = {};
  const base = 8 + n;
  for (const e of entries) {
    // a copy of its own (Uint8Array.prototype.slice: a Node Buffer's own slice would share memory)
    const copy = Uint8Array.prototype.slice.call(bytes, base + e.begin, base + e.end);
    const Ctor = constructorOf(e.dtype);
    const data = new Ctor(copy.buffer, 0, (e.end - e.begin) / SAFE_DTYPES[e.dtype]);
    setOwn(tensors, e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
