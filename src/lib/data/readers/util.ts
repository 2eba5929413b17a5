/**
 * Small helpers shared by the readers: the cache root, natural file ordering,
 * the deterministic train/test split rule, a byte-bounded LRU cache and a full-read `verify`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FileSystemError, readRegularFile, readRegularFileAsync } from '../../util/fs.js';
import { DataError, type Dataset } from '../types.js';

/**
 * The cache root: `$STCSNN_CACHE` when set, else `~/.cache/stcsnn`. Readers take an explicit
 * `cacheDir` option that overrides both.
 */
export function defaultCacheDir(): string {
  const env = process.env.STCSNN_CACHE;
  if (env !== undefined && env !== '') return path.resolve(env);
  return path.join(os.homedir(), '.cache', 'stcsnn');
}

/**
 * Compares names the way people sort numbered files: runs of digits compare as numbers
 * (`img_2` < `img_10`), everything else by UTF-16 code unit (locale independent, so the order,
 * and every split built on it, is the same on every machine).
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    const da = ca >= 48 && ca <= 57;
    const db = cb >= 48 && cb <= 57;
    if (da && db) {
      let ie = i;
      while (ie < a.length && a.charCodeAt(ie) >= 48 && a.charCodeAt(ie) <= 57) ie++;
      let je = j;
      while (je < b.length && b.charCodeAt(je) >= 48 && b.charCodeAt(je) <= 57) je++;
      const na = a.slice(i, ie).replace(/^0+/, '');
      const nb = b.slice(j, je).replace(/^0+/, '');
      if (na.length !== nb.length) return na.length - nb.length;
      if (na !== nb) return na < nb ? -1 : 1;
      i = ie;
      j = je;
    } else {
      if (ca !== cb) return ca - cb;
      i++;
      j++;
    }
  }
  if (a.length - i !== b.length - j) return a.length - i - (b.length - j);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The deterministic per-class split used when a data set has no split of its own (CIFAR10-DVS,
 * image folders without `train/`/`test/`): the class's files sorted with {@link naturalCompare},
 * the last `nTest` go to test, the rest to train, where
 * `nTest = n < 2 ? 0 : max(1, round(n * testFraction))` (1000 files, 0.1 -> 900/100).
 */
export function splitCount(n: number, testFraction: number): { train: number; test: number } {
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new DataError(`test fraction must be in [0, 1), got ${testFraction}`);
  }
  const test = n < 2 || testFraction === 0 ? 0 : Math.max(1, Math.round(n * testFraction));
  return { train: n - test, test };
}

/** Selects one split of a naturally sorted file list (see {@link splitCount}). */
export function selectSplit<T>(sorted: readonly T[], split: 'train' | 'test', testFraction: number): T[] {
  const { train } = splitCount(sorted.length, testFraction);
  return split === 'train' ? sorted.slice(0, train) : sorted.slice(train);
}

/** True when `p` is an existing directory. */
export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when `p` is an existing regular file (or a link to one). */
export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The largest data file read whole (a CIFAR batch is 30 MB, a Fashion-MNIST archive 26 MB, an
 * AEDAT recording a few MB): 1 GiB.
 */
export const MAX_DATA_FILE_BYTES = 2 ** 30;

/** A failed read as a {@link DataError}: a refused path as the refusal says, else `FILE: cannot read (CODE)`. */
function readError(file: string, e: unknown): DataError {
  if (e instanceof FileSystemError) return new DataError(e.message);
  return new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
}

/**
 * Reads a whole data file: a regular file (or a link to one) of at most `maxBytes` bytes
 * (`readRegularFile`: `/dev/zero`, a FIFO or a directory are refused naming the path and what
 * it is, without being read); a missing or unreadable file is a {@link DataError} too.
 */
export function readFileOrThrow(file: string, maxBytes = MAX_DATA_FILE_BYTES, what = 'data file'): Buffer {
  try {
    return readRegularFile(file, { maxBytes, what });
  } catch (e) {
    throw readError(file, e);
  }
}

/** Async {@link readFileOrThrow}. */
export async function readFileAsync(
  file: string,
  maxBytes = MAX_DATA_FILE_BYTES,
  what = 'data file',
): Promise<Buffer> {
  try {
    return await readRegularFileAsync(file, { maxBytes, what });
  } catch (e) {
    throw readError(file, e);
  }
}

/** Lists a directory's entries sorted with {@link naturalCompare}; a missing directory is a DataError. */
export function listDirSorted(dir: string): fs.Dirent[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(`${dir}: cannot list directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return entries.sort((a, b) => naturalCompare(a.name, b.name));
}

/** True for a directory entry that is a directory (following a symbolic link). */
export function direntIsDir(dir: string, d: fs.Dirent): boolean {
  if (d.isDirectory()) return true;
  return d.isSymbolicLink() && isDir(path.join(dir, d.name));
}

/** True for a directory entry that is a regular file (following a symbolic link). */
export function direntIsFile(dir: string, d: fs.Dirent): boolean {
  if (d.isFile()) return true;
  return d.isSymbolicLink() && isFile(path.join(dir, d.name));
}

/**
 * The class folders under `root` (sub-folders sorted by name, hidden ones skipped) with the files
 * `filesOf` takes from each; a class folder it takes none from is refused, `${folder}: ${empty}`.
 */
export function listClassFiles(
  root: string,
  filesOf: (classDir: string) => string[],
  empty: string,
): { classNames: string[]; files: string[][] } {
  const classNames: string[] = [];
  const files: string[][] = [];
  for (const d of listDirSorted(root)) {
    if (d.name.startsWith('.') || !direntIsDir(root, d)) continue;
    const dir = path.join(root, d.name);
    const list = filesOf(dir);
    if (list.length === 0) throw new DataError(`${dir}: ${empty}`);
    classNames.push(d.name);
    files.push(list);
  }
  return { classNames, files };
}

/**
 * Reads a text file of names, one a line (`\r\n` or `\n`), dropping empty lines and trimming
 * whitespace.
 */
export function readNameList(file: string): string[] {
  return readFileOrThrow(file)
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * A least-recently-used cache bounded by total bytes. Used to keep decoded samples of data sets
 * that decode on demand; with a budget at least the data set's decoded size it simply keeps
 * everything once decoded.
 */
export class ByteLru<V extends { byteLength: number }> {
  private readonly map = new Map<number, V>();
  private bytes = 0;

  /** @param budgetBytes the most bytes kept; 0 disables caching. */
  constructor(readonly budgetBytes: number) {}

  /** The cached value for `key`, marking it most recently used. */
  get(key: number): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Stores `value`, evicting the least recently used entries beyond the budget. */
  set(key: number, value: V): void {
    if (value.byteLength > this.budgetBytes) return;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.byteLength;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.bytes += value.byteLength;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budgetBytes) break;
      this.map.delete(k);
      this.bytes -= v.byteLength;
    }
  }

  /** Bytes held now. */
  get size(): number {
    return this.bytes;
  }
}

/** What {@link verifyDataset} found. */
export interface VerifyReport {
  /** Samples read. */
  readonly count: number;
  /** Samples per class, `classes` long. */
  readonly perClass: number[];
  /** Smallest and largest value seen (0 for an empty split). */
  readonly min: number;
  readonly max: number;
}

/**
 * Reads every sample of `ds` (decoding, parsing or building whatever it reads on demand), checks
 * there is a label per sample, every label is in range and every value finite, and counts samples
 * per class (`stcsnn data verify`). `onProgress` is called after each sample.
 * @throws DataError naming the data set, the split and the sample at the first problem
 */
export async function verifyDataset(
  ds: Dataset,
  onProgress?: (done: number, total: number) => void,
): Promise<VerifyReport> {
  const [h, w, c] = ds.shape;
  const n = h * w * c;
  const buf = new Float32Array(n);
  const perClass = new Array<number>(ds.classes).fill(0);
  let min = Infinity;
  let max = -Infinity;
  if (ds.labels.length < ds.count)
    throw new DataError(`${ds.source}: ${ds.split}: ${ds.labels.length} labels for ${ds.count} samples`);
  for (let i = 0; i < ds.count; i++) {
    const label = ds.labels[i];
    if (!(label >= 0 && label < ds.classes))
      throw new DataError(
        `${ds.source}: ${ds.split} sample ${i}: label ${label} outside 0..${ds.classes - 1}`,
      );
    perClass[label]++;
    await ds.read(i, buf, 0);
    for (let k = 0; k < n; k++) {
      const v = buf[k];
      if (!Number.isFinite(v)) throw new DataError(`${ds.source}: ${ds.split} sample ${i}: non-finite value`);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    onProgress?.(i + 1, ds.count);
  }
  return { count: ds.count, perClass, min: ds.count ? min : 0, max: ds.count ? max : 0 };
}

/** Checks `i` is a valid sample index of a data set with `count` samples. */
export function checkIndex(i: number, count: number, name: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= count) {
    throw new RangeError(`${name}: sample index ${i} outside 0..${count - 1}`);
  }
}

let crcTable: Uint32Array | null = null;

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG): `zlib.crc32` where Node has it (>= 20.15), else a table
 * implementation.
 */
export function crc32(data: Uint8Array): number {
  if (nativeCrc32 !== undefined) return nativeCrc32(data) >>> 0;
  return crc32Table(data);
}

/** The table implementation of {@link crc32} (exported for tests). */
export function crc32Table(data: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
