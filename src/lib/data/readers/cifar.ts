/**
 * CIFAR-10 and CIFAR-100, binary versions (https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * `dataDir` may be any of
 * - the official archive itself (`cifar-10-binary.tar.gz`, `cifar-100-binary.tar.gz`),
 * - a folder holding that archive,
 * - a folder holding the extracted folder (`cifar-10-batches-bin/`, `cifar-100-binary/`),
 * - the extracted folder itself.
 * Archives are extracted once into the cache (see `archive.ts`: atomic, refuses unsafe entries).
 *
 * File formats (all records fixed size, no header):
 * - CIFAR-10: `data_batch_1.bin` .. `data_batch_5.bin` (train), `test_batch.bin` (test); a record
 *   is 1 label byte (0..9) then 3072 pixel bytes, CHW (1024 red, 1024 green, 1024 blue, each 32x32
 *   row-major). Class names: `batches.meta.txt`, one a line.
 * - CIFAR-100: `train.bin`, `test.bin`; a record is a coarse label byte (0..19), a fine label byte
 *   (0..99), then 3072 pixel bytes CHW. Class names: `fine_label_names.txt`,
 *   `coarse_label_names.txt`.
 * A file whose size is not a whole number of records, an empty file, a missing file or a label out
 * of range is a {@link DataError} naming the file and byte offset; so is a file with fewer records
 * than the official count unless `strict: false`. With `strict: false` the CIFAR-10 train split
 * is the training batches present (any of `data_batch_1.bin` .. `data_batch_5.bin`, at least one);
 * a batch that exists but cannot be read is still an error. Samples are `[32, 32, 3]` HWC,
 * 0..255. The whole split is held in memory as bytes (CIFAR-10 train: 150 MiB).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, SUBSET_HINT, type Dataset } from '../types.js';
import { extractTarGzCached } from './archive.js';
import { checkIndex, defaultCacheDir, isDir, isFile, readFileOrThrow, readNameList } from './util.js';

/** Options shared by the CIFAR readers. */
export interface CifarOptions {
  /** The archive, the folder holding it, or the (folder holding the) extracted folder. */
  readonly dataDir: string;
  readonly split: 'train' | 'test';
  /** Where archives are extracted; default `$STCSNN_CACHE` or `~/.cache/stcsnn`. */
  readonly cacheDir?: string;
  /**
   * Require the official record counts (default true): 10000 per CIFAR-10 file, 50000/10000 for
   * CIFAR-100's train/test. `false` accepts smaller files in the same format (subsets).
   */
  readonly strict?: boolean;
}

/** CIFAR-100's label kinds, the default first: the 100 fine classes or the 20 coarse superclasses. */
export const CIFAR100_LABELS = ['fine', 'coarse'] as const;
/** A CIFAR-100 label kind. */
export type Cifar100Labels = (typeof CIFAR100_LABELS)[number];

/** CIFAR-100 options. */
export interface Cifar100Options extends CifarOptions {
  /** Which label: the 100 fine classes (default) or the 20 coarse superclasses. */
  readonly labels?: Cifar100Labels;
}

/** Bytes of one image, CHW 3x32x32. */
export const CIFAR_IMAGE_BYTES = 3072;

/** CIFAR-10's class names, used when `batches.meta.txt` is absent. */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** Layout of one CIFAR binary format. */
export interface CifarFormat {
  /** Label bytes before the pixels (1 for CIFAR-10, 2 for CIFAR-100). */
  readonly labelBytes: number;
  /** Which label byte is used. */
  readonly labelIndex: number;
  /** Number of classes of that label (labels must be below it). */
  readonly classes: number;
  /** Upper bounds of every label byte, `labelBytes` long (checked even when not used). */
  readonly labelLimits: readonly number[];
}

/** The CIFAR-10 record format. */
export const CIFAR10_FORMAT: CifarFormat = { labelBytes: 1, labelIndex: 0, classes: 10, labelLimits: [10] };

/** The CIFAR-100 record format with fine or coarse labels. */
export function cifar100Format(labels: Cifar100Labels): CifarFormat {
  return {
    labelBytes: 2,
    labelIndex: labels === 'fine' ? 1 : 0,
    classes: labels === 'fine' ? 100 : 20,
    labelLimits: [20, 100],
  };
}

/** Records parsed from one or more files: `images` is `[count, 32, 32, 3]` HWC bytes. */
export interface CifarRecords {
  readonly count: number;
  readonly images: Uint8Array;
  readonly labels: Int32Array;
}

/**
 * Parses a CIFAR binary file's bytes (see the module doc), converting CHW to HWC.
 * @param file the file name, for error messages
 * @throws DataError naming `file` and the byte offset of the first bad record
 */
export function parseCifarRecords(buf: Uint8Array, file: string, format: CifarFormat): CifarRecords {
  const rec = format.labelBytes + CIFAR_IMAGE_BYTES;
  if (buf.length === 0) throw new DataError(`${file}: empty file, expected ${rec}-byte records`);
  if (buf.length % rec !== 0) {
    const offset = buf.length - (buf.length % rec);
    throw new DataError(
      `${file}: size ${buf.length} is not a multiple of the ${rec}-byte record (truncated or extra record at byte ${offset})`,
    );
  }
  const count = buf.length / rec;
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const base = r * rec;
    for (let k = 0; k < format.labelBytes; k++) {
      const v = buf[base + k];
      if (v >= format.labelLimits[k]) {
        throw new DataError(
          `${file}: byte ${base + k} (record ${r}): label ${v} out of range 0..${format.labelLimits[k] - 1}`,
        );
      }
    }
    labels[r] = buf[base + format.labelIndex];
    const px = base + format.labelBytes;
    const dst = r * CIFAR_IMAGE_BYTES;
    for (let p = 0; p < 1024; p++) {
      images[dst + p * 3] = buf[px + p];
      images[dst + p * 3 + 1] = buf[px + 1024 + p];
      images[dst + p * 3 + 2] = buf[px + 2048 + p];
    }
  }
  return { count, images, labels };
}

/** An in-memory image data set of HWC bytes; exposes them as `raw` for the loader's workers. */
export class ByteImageDataset implements Dataset {
  readonly count: number;
  private readonly size: number;

  constructor(
    readonly name: string,
    readonly split: 'train' | 'test',
    readonly shape: readonly [number, number, number],
    readonly classNames: readonly string[],
    readonly labels: Int32Array,
    readonly source: string,
    private readonly images: Uint8Array,
  ) {
    this.count = labels.length;
    this.size = shape[0] * shape[1] * shape[2];
    if (images.length !== this.count * this.size) throw new Error(`${name}: image bytes do not match labels`);
  }

  get classes(): number {
    return this.classNames.length;
  }

  /**
   * All samples as bytes, `[count, H, W, C]` row-major (the loader's `RawPixels`, which lets its
   * worker threads assemble batches without calling `read`). Do not modify.
   */
  get raw(): Uint8Array {
    return this.images;
  }

  read(i: number, out: Float32Array, offset: number): void {
    checkIndex(i, this.count, this.name);
    const s = i * this.size;
    for (let k = 0; k < this.size; k++) out[offset + k] = this.images[s + k];
  }
}

/** Where a CIFAR data set's files are found (see {@link CIFAR_LAYOUTS}). */
export interface CifarLayout {
  /** The extracted folder's name. */
  readonly folder: string;
  /** A file that marks the extracted folder. */
  readonly marker: string;
  /** The official archives' names. */
  readonly archives: readonly string[];
  /** The data set's name in messages. */
  readonly what: string;
}

/** The official layouts of CIFAR-10 and CIFAR-100 (binary versions), extracted or archived. */
export const CIFAR_LAYOUTS: Readonly<Record<'cifar10' | 'cifar100', CifarLayout>> = Object.freeze({
  cifar10: {
    folder: 'cifar-10-batches-bin',
    marker: 'test_batch.bin',
    archives: ['cifar-10-binary.tar.gz'],
    what: 'CIFAR-10',
  },
  cifar100: {
    folder: 'cifar-100-binary',
    marker: 'test.bin',
    archives: ['cifar-100-binary.tar.gz'],
    what: 'CIFAR-100',
  },
});

/**
 * Finds the extracted folder: `dataDir` itself, `dataDir/<folder>`, or the folder inside an
 * archive (`dataDir` being the archive or holding one of the layout's archives).
 */
async function locate(dataDir: string, layout: CifarLayout, cacheDir: string): Promise<string> {
  const { folder, marker, archives, what } = layout;
  const fromArchive = async (archive: string): Promise<string> => {
    const root = await extractTarGzCached(archive, cacheDir);
    for (const cand of [path.join(root, folder), root]) {
      if (isFile(path.join(cand, marker))) return cand;
    }
    throw new DataError(`${archive}: archive has no ${folder}/${marker}`);
  };
  if (isFile(dataDir)) {
    if (/\.(tar\.gz|tgz)$/i.test(dataDir)) return fromArchive(dataDir);
    throw new DataError(`${dataDir}: expected a folder or a .tar.gz archive for ${what}`);
  }
  if (!isDir(dataDir)) throw new DataError(`${dataDir}: no such folder (${what})`);
  for (const cand of [dataDir, path.join(dataDir, folder)]) {
    if (isFile(path.join(cand, marker))) return cand;
  }
  for (const a of archives) {
    const p = path.join(dataDir, a);
    if (isFile(p)) return fromArchive(p);
  }
  throw new DataError(
    `${dataDir}: no ${what} data (expected ${folder}/${marker} or ${archives.join(' or ')})`,
  );
}

/** Reads and concatenates the records of several files, each holding `expected` records when given. */
function readRecords(files: readonly string[], format: CifarFormat, expected: number | null): CifarRecords {
  const parts = files.map((f) => {
    const r = parseCifarRecords(readFileOrThrow(f), f, format);
    if (expected !== null && r.count !== expected) {
      throw new DataError(`${f}: ${r.count} records, expected the official ${expected} ${SUBSET_HINT}`);
    }
    return r;
  });
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * CIFAR_IMAGE_BYTES);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { count, images, labels };
}

/** Class names from `file` when it exists (it must have exactly `n` names), else `fallback`. */
function classNamesFrom(file: string, n: number, fallback: () => string[]): string[] {
  if (!isFile(file)) return fallback();
  const names = readNameList(file);
  if (names.length !== n) throw new DataError(`${file}: ${names.length} class names, expected ${n}`);
  return names;
}

/** Files of one CIFAR-10 split in `dir`, as the official data set has them. */
export function cifar10Files(dir: string, split: 'train' | 'test'): string[] {
  return split === 'train'
    ? [1, 2, 3, 4, 5].map((k) => path.join(dir, `data_batch_${k}.bin`))
    : [path.join(dir, 'test_batch.bin')];
}

/** False when nothing exists at `p` (not even a dangling link); other errors count as present. */
function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The files of a CIFAR-10 split to read. Strict: all official files, a missing one refused with
 * the `--subset` hint. `strict: false` (a subset): the training batches that exist, in order, at
 * least one; anything present at a batch's name (a FIFO, a link to a device, an unreadable file)
 * is kept, for the read to refuse naming it.
 * @throws DataError naming the missing file, or `dir` when no training batch is there
 */
export function cifar10SplitFiles(dir: string, split: 'train' | 'test', strict: boolean): string[] {
  const files = cifar10Files(dir, split);
  if (split === 'test') return files;
  const present = files.filter(exists);
  if (strict) {
    const missing = files.find((f) => !present.includes(f));
    if (missing !== undefined) {
      throw new DataError(
        `${missing}: missing; the official CIFAR-10 has data_batch_1.bin .. data_batch_5.bin ${SUBSET_HINT}`,
      );
    }
    return files;
  }
  if (present.length === 0) {
    throw new DataError(`${dir}: no CIFAR-10 training batch (data_batch_1.bin .. data_batch_5.bin)`);
  }
  return present;
}

/**
 * Opens a CIFAR-10 split (see the module doc for the accepted layouts and checks): 50000 train or
 * 10000 test samples of `[32, 32, 3]`, 0..255, 10 classes. Every record is read and checked here.
 */
export async function openCifar10(opts: CifarOptions): Promise<ByteImageDataset> {
  const dir = await locate(opts.dataDir, CIFAR_LAYOUTS.cifar10, opts.cacheDir ?? defaultCacheDir());
  const strict = opts.strict !== false;
  const rec = readRecords(cifar10SplitFiles(dir, opts.split, strict), CIFAR10_FORMAT, strict ? 10000 : null);
  const names = classNamesFrom(path.join(dir, 'batches.meta.txt'), 10, () => [...CIFAR10_CLASSES]);
  return new ByteImageDataset('cifar10', opts.split, [32, 32, 3], names, rec.labels, dir, rec.images);
}

/**
 * Opens a CIFAR-100 split with fine (default, 100 classes) or coarse (20 classes) labels: 50000
 * train or 10000 test samples of `[32, 32, 3]`, 0..255. Every record is read and checked here.
 */
export async function openCifar100(opts: Cifar100Options): Promise<ByteImageDataset> {
  const labels = opts.labels ?? 'fine';
  const dir = await locate(opts.dataDir, CIFAR_LAYOUTS.cifar100, opts.cacheDir ?? defaultCacheDir());
  const format = cifar100Format(labels);
  const expected = opts.strict === false ? null : opts.split === 'train' ? 50000 : 10000;
  const rec = readRecords(
    [path.join(dir, opts.split === 'train' ? 'train.bin' : 'test.bin')],
    format,
    expected,
  );
  const names = classNamesFrom(path.join(dir, `${labels}_label_names.txt`), format.classes, () =>
    Array.from({ length: format.classes }, (_, i) => `${labels}_${i}`),
  );
  const name = labels === 'fine' ? 'cifar100' : 'cifar100-coarse';
  return new ByteImageDataset(name, opts.split, [32, 32, 3], names, rec.labels, dir, rec.images);
}
