/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research, MIT licence): 28x28 grey
 * images of 10 clothing classes, 60,000 train + 10,000 test, in IDX files.
 *
 * Where the files are looked for, first match wins:
 * 1. the explicit `dataDir` (and `dataDir/fashion-mnist`);
 * 2. `$STCSNN_DATA` and `$STCSNN_DATA/fashion-mnist`;
 * 3. the download directory of `stcsnn data fetch` ({@link defaultFashionMnistDownloadDir});
 * 4. `/usr/share/datasets/fashion-mnist` (Debian package `dataset-fashion-mnist`).
 *
 * Each file may be gzipped under its official name (`train-images-idx3-ubyte.gz`) or
 * inflated (`train-images-idx3-ubyte`; `train-images.idx3-ubyte` is accepted too).
 *
 * The embedded subset `fashion-mnist-mini` lives in `assets/fashion-mnist-mini/` in the same
 * format and is found relative to this module, so it needs no download.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { isGzip, readIdxImageSet, type IdxImageSet } from './idx.js';
import { DataError, type Dataset } from '../types.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { FileSystemError, readRegularFile } from '../../util/fs.js';

/** The ten class names, index = label. */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Base names (without `.gz`) of the four files, per split. */
export const FASHION_MNIST_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** Sample counts of the full data set. */
export const FASHION_MNIST_COUNTS = { train: 60000, test: 10000 } as const;

/** The official download location (HTTPS; the Zalando Research repository). */
export const FASHION_MNIST_URL =
  'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/';

/**
 * Known MD5 sums, per base name: `gz` of the official gzipped files, `raw` of their inflated
 * contents (Debian recompresses the files, so its `.gz` sums differ but the contents match `raw`).
 */
export const FASHION_MNIST_MD5: Readonly<Record<string, { gz: string; raw: string }>> = {
  'train-images-idx3-ubyte': {
    gz: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    raw: 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  },
  'train-labels-idx1-ubyte': {
    gz: '25c81989df183df01b3e8a0aad5dffbe',
    raw: '9018921c3c673c538a1fc5bad174d6f9',
  },
  't10k-images-idx3-ubyte': {
    gz: 'bef4ecab320f06d8554ea6380940ec79',
    raw: '8181f5470baa50b63fa0f6fddb340f0a',
  },
  't10k-labels-idx1-ubyte': {
    gz: 'bb300cfdad3c16e7a12a480ee83cd310',
    raw: '15d484375f8d13e6eb1aabb0c3f46965',
  },
};

/** Debian's install location of `dataset-fashion-mnist`. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Directory of the embedded subset (inside the package). */
export const EMBEDDED_FASHION_MNIST_DIR = fileURLToPath(
  new URL('../../../../assets/fashion-mnist-mini/', import.meta.url),
);

/** Sample counts of the embedded subset. */
export const FASHION_MNIST_MINI_COUNTS = { train: 4000, test: 1000 } as const;

/** The file of `base` in `dir`: gzipped, inflated, or with the `.idx3` dot variant; null if none. */
export function findIdxFile(dir: string, base: string): string | null {
  const dotted = base.replace(/-idx(\d)-ubyte$/, '.idx$1-ubyte');
  for (const name of [`${base}.gz`, base, `${dotted}.gz`, dotted]) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

function hasAllFiles(dir: string): boolean {
  return Object.values(FASHION_MNIST_FILES).every(
    (f) => findIdxFile(dir, f.images) !== null && findIdxFile(dir, f.labels) !== null,
  );
}

/**
 * Where `stcsnn data fetch fashion-mnist` writes without `--data-dir`:
 * `$STCSNN_DATA/fashion-mnist`, else `$STCSNN_CACHE/fashion-mnist`, else
 * `~/.cache/stcsnn/fashion-mnist`.
 */
export function defaultFashionMnistDownloadDir(): string {
  const data = process.env.STCSNN_DATA;
  if (data) return join(data, 'fashion-mnist');
  const cache = process.env.STCSNN_CACHE;
  return join(cache ? cache : join(homedir(), '.cache', 'stcsnn'), 'fashion-mnist');
}

/** The directories searched for Fashion-MNIST, in order. */
export function fashionMnistSearchPath(dataDir?: string): string[] {
  const dirs: string[] = [];
  if (dataDir) dirs.push(dataDir, join(dataDir, 'fashion-mnist'));
  const env = process.env.STCSNN_DATA;
  if (env) dirs.push(env, join(env, 'fashion-mnist'));
  dirs.push(defaultFashionMnistDownloadDir(), DEBIAN_FASHION_MNIST_DIR);
  return [...new Set(dirs)];
}

/**
 * The first directory holding all four Fashion-MNIST files, or null.
 * With an explicit `dataDir`, only it (and `dataDir/fashion-mnist`) are searched.
 */
export function findFashionMnist(dataDir?: string): string | null {
  const dirs = dataDir ? [dataDir, join(dataDir, 'fashion-mnist')] : fashionMnistSearchPath();
  return dirs.find(hasAllFiles) ?? null;
}

/** How to get the files, for error messages. */
export const FASHION_MNIST_HOWTO =
  'run `apt-get install dataset-fashion-mnist`, or `stcsnn data fetch fashion-mnist --data-dir DIR`, or download the four files from ' +
  FASHION_MNIST_URL +
  ' into DIR (then pass --data-dir DIR or set STCSNN_DATA)';

/** An in-memory uint8 image set as a {@link Dataset}. */
class IdxDataset implements Dataset {
  readonly shape: readonly [number, number, number];
  readonly classes = 10;
  readonly classNames = FASHION_MNIST_CLASSES;
  readonly labels: Int32Array;
  readonly count: number;
  private readonly pixels: Uint8Array;

  constructor(
    readonly name: string,
    readonly split: 'train' | 'test',
    readonly source: string,
    set: IdxImageSet,
    limit?: number,
  ) {
    const n = limit === undefined ? set.count : Math.min(set.count, Math.max(0, Math.floor(limit)));
    const px = set.rows * set.cols;
    this.count = n;
    this.shape = [set.rows, set.cols, 1];
    this.pixels = set.images.subarray(0, n * px);
    this.labels = Int32Array.from(set.labels.subarray(0, n));
  }

  /** Raw uint8 pixels, `[count, H, W]` (for the loader's worker path and tools). */
  get raw(): Uint8Array {
    return this.pixels;
  }

  read(i: number, out: Float32Array, offset: number): void {
    if (!(i >= 0 && i < this.count))
      throw new RangeError(`${this.name}: sample ${i} out of 0..${this.count - 1}`);
    const px = this.shape[0] * this.shape[1];
    out.set(this.pixels.subarray(i * px, (i + 1) * px), offset);
  }
}

/** Options to open Fashion-MNIST. */
export interface FashionMnistOptions {
  split: 'train' | 'test';
  /** Directory with the four files (see the module doc for the search order). */
  dataDir?: string;
  /** Keep only the first `limit` samples. */
  limit?: number;
}

function openFromDir(
  name: string,
  dir: string,
  split: 'train' | 'test',
  limit?: number,
  source = dir,
): Dataset {
  const f = FASHION_MNIST_FILES[split];
  const im = findIdxFile(dir, f.images);
  const lb = findIdxFile(dir, f.labels);
  if (!im) throw new DataError(`${join(dir, f.images)}.gz: not found`);
  if (!lb) throw new DataError(`${join(dir, f.labels)}.gz: not found`);
  const set = readIdxImageSet(im, lb, 10);
  if (set.rows !== 28 || set.cols !== 28)
    throw new DataError(`${im}: byte 8: images are ${set.rows}x${set.cols}, Fashion-MNIST is 28x28`);
  return new IdxDataset(name, split, source, set, limit);
}

/**
 * Opens a Fashion-MNIST split (all samples held in memory as uint8; `read` yields 0..255 floats,
 * shape `[28, 28, 1]`).
 * @throws DataError when the files are missing (saying how to get them) or malformed
 */
export function openFashionMnist(opts: FashionMnistOptions): Dataset {
  const dir = findFashionMnist(opts.dataDir);
  if (!dir) {
    const where = opts.dataDir ? opts.dataDir : fashionMnistSearchPath().join(', ');
    throw new DataError(`${where}: Fashion-MNIST files not found; ${FASHION_MNIST_HOWTO}`);
  }
  return openFromDir('fashion-mnist', dir, opts.split, opts.limit);
}

/**
 * Opens the embedded stratified subset `fashion-mnist-mini` (4,000 train + 1,000 test real
 * Fashion-MNIST images, 400 / 100 per class; see `assets/fashion-mnist-mini/LICENSE.md`).
 */
export function openFashionMnistMini(opts: { split: 'train' | 'test'; limit?: number }): Dataset {
  if (!hasAllFiles(EMBEDDED_FASHION_MNIST_DIR))
    throw new DataError(
      `${EMBEDDED_FASHION_MNIST_DIR}: the embedded Fashion-MNIST subset is missing from this install`,
    );
  return openFromDir('fashion-mnist-mini', EMBEDDED_FASHION_MNIST_DIR, opts.split, opts.limit, 'embedded');
}

/** MD5 hex digest of bytes. */
export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/**
 * Checks the four files in `dir` against the known MD5s (the official `.gz` sum, or the sum of
 * the inflated contents). True when all match, false when any differs, null when the directory
 * lacks a file or is not the full data set.
 */
export function checkFashionMnistChecksums(dir: string): boolean | null {
  let ok = true;
  for (const split of Object.values(FASHION_MNIST_FILES)) {
    for (const base of [split.images, split.labels]) {
      const p = findIdxFile(dir, base);
      if (!p) return null;
      if (!matchesKnownMd5(base, readIdxBytes(p))) ok = false;
    }
  }
  return ok;
}

/** The bytes of an IDX file (a regular file of at most 1 GiB), for its checksum. @throws DataError */
function readIdxBytes(file: string): Buffer {
  try {
    return readRegularFile(file, { maxBytes: 2 ** 30, what: 'IDX file' });
  } catch (e) {
    if (e instanceof FileSystemError) throw new DataError(e.message);
    throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** True when `bytes` (gzipped or inflated) is the official file `base`, by MD5. */
export function matchesKnownMd5(base: string, bytes: Uint8Array): boolean {
  const known = FASHION_MNIST_MD5[base];
  if (!known) return false;
  if (!isGzip(bytes)) return md5(bytes) === known.raw;
  if (md5(bytes) === known.gz) return true;
  try {
    return md5(gunzipSync(bytes)) === known.raw;
  } catch {
    return false;
  }
}

/** Downloads are refused beyond this size (the largest official file is 26 MB). */
const MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024;

/** What {@link fetchFashionMnist} did per file. */
export interface FetchedFile {
  readonly file: string;
  /** `downloaded`, or `present` when a file with the right checksum was already there. */
  readonly status: 'downloaded' | 'present';
  readonly bytes: number;
}

/** Options of {@link fetchFashionMnist}. */
export interface FetchOptions {
  /** Base URL (default {@link FASHION_MNIST_URL}; `$STCSNN_FASHION_MNIST_URL` overrides it). */
  readonly baseUrl?: string;
  /** Per-file timeout in milliseconds (default 120,000). */
  readonly timeoutMs?: number;
  /** Called before each download. */
  readonly onFile?: (name: string, url: string) => void;
}

/** The network failed (offline, DNS, HTTP error): the message says how to get the files instead. */
export class FetchError extends DataError {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/**
 * Downloads the four official gzipped files into `dir`, checks each against its MD5 and writes it
 * atomically (temporary name, then rename). Files already present with the right checksum are kept.
 * @throws FetchError (a DataError) when a download fails, saying how to get the files by hand;
 *   DataError when a downloaded file has the wrong checksum
 */
export async function fetchFashionMnist(dir: string, opts: FetchOptions = {}): Promise<FetchedFile[]> {
  const base = opts.baseUrl ?? process.env.STCSNN_FASHION_MNIST_URL ?? FASHION_MNIST_URL;
  const done: FetchedFile[] = [];
  mkdirSync(dir, { recursive: true });
  for (const split of Object.values(FASHION_MNIST_FILES)) {
    for (const name of [split.images, split.labels]) {
      const target = join(dir, `${name}.gz`);
      const existing = findIdxFile(dir, name);
      if (existing && matchesKnownMd5(name, readIdxBytes(existing))) {
        done.push({ file: existing, status: 'present', bytes: statSync(existing).size });
        continue;
      }
      const url = new URL(`${name}.gz`, base.endsWith('/') ? base : `${base}/`).href;
      opts.onFile?.(name, url);
      let bytes: Uint8Array;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const len = Number(res.headers.get('content-length') ?? 0);
        if (len > MAX_DOWNLOAD_BYTES) throw new Error(`${len} bytes is too large`);
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        const err = e as Error & { cause?: { code?: string; message?: string } };
        const why = err.cause?.code ?? err.cause?.message ?? err.message;
        throw new FetchError(
          `${url}: download failed (${why}); offline, get the files with \`apt-get install dataset-fashion-mnist\` or download them by hand from ${FASHION_MNIST_URL} into ${dir}`,
        );
      }
      if (!matchesKnownMd5(name, bytes))
        throw new DataError(
          `${url}: MD5 ${md5(bytes)} does not match the official ${FASHION_MNIST_MD5[name].gz}`,
        );
      try {
        writeFileAtomic(target, bytes);
      } catch (e) {
        throw new DataError(`${target}: cannot write (${(e as Error).message})`);
      }
      done.push({ file: target, status: 'downloaded', bytes: bytes.length });
    }
  }
  return done;
}
