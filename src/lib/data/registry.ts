/**
 * The data-set registry: every data set the CLI and the trainer know by name, with its
 * defaults (normalisation, augmentation, theta0) and how to
 * open it. To add a data set, add a {@link DatasetEntry} to {@link ENTRIES} (or call
 * {@link registerDataset}) and its name to {@link DATASET_NAMES}.
 *
 * Normalisation statistics are the usual per-channel training-set means and standard deviations
 * of `x / 255`. DVS frames (CIFAR10-DVS) are event counts per pixel and polarity; they are kept
 * unscaled (`scale 1, mean 0, std 1`): the paper treats an integrated frame as a membrane
 * potential in event counts, which is what its DVS threshold theta0 = 2 is chosen for, and the
 * first (plain conv + BN) layer absorbs any scale.
 */
import { DEFAULT_STC } from '../core/config.js';
import type { AugmentOptions } from './loader.js';
import {
  checkFashionMnistChecksums,
  EMBEDDED_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_COUNTS,
  FASHION_MNIST_HOWTO,
  FASHION_MNIST_MINI_COUNTS,
  findFashionMnist,
  openFashionMnist,
  openFashionMnistMini,
} from './readers/fashion-mnist.js';
import { LUMA } from './readers/image-files.js';
import { READERS } from './readers/index.js';
import { DataError, type Dataset, type Normalization } from './types.js';

/** Every data-set name, the default first. */
export const DATASET_NAMES = [
  'fashion-mnist-mini',
  'fashion-mnist',
  'cifar10',
  'cifar100',
  'tinyimagenet',
  'cifar10-dvs',
  'imagefolder',
] as const;

/** A known data-set name. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The default data set (embedded, needs no download). */
export const DEFAULT_DATASET: DatasetName = 'fashion-mnist-mini';

/** Options to open a data set; readers take the extra keys they know (e.g. `cacheDir`, `frames`). */
export interface OpenOptions {
  readonly split: 'train' | 'test';
  /** Where the files are (see each reader's search order). */
  readonly dataDir?: string;
  /** Keep only the first `limit` samples. */
  readonly limit?: number;
  readonly [extra: string]: unknown;
}

/** One registered data set. */
export interface DatasetEntry {
  readonly name: string;
  /** One line for listings. */
  readonly description: string;
  /** Default sample shape `[H, W, C]` (a reader's options may change it). */
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  /** Class names when fixed, else null (read from the data). */
  readonly classNames: readonly string[] | null;
  /** Sample counts of the full splits when fixed, else null. */
  readonly counts: { readonly train: number; readonly test: number } | null;
  /** Default normalisation. */
  readonly normalization: Normalization;
  /** Default training augmentation (null = none). */
  readonly augment: AugmentOptions | null;
  /**
   * Default initial threshold theta0 (static images: the core's default, 0.8; DVS: 2; the
   * paper's): the one source of
   * a training configuration's data-set-dependent default (`train/resolve.ts`).
   */
  readonly theta0: number;
  /** True for a data set shipped inside the package: it reads no data directory (`--data-dir`). */
  readonly embedded?: boolean;
  /**
   * The sample shape under a data set's options (`frames` and `size` of CIFAR10-DVS), where
   * they change it; absent: always {@link DatasetEntry.shape}. Nothing is opened.
   */
  sampleShape?(options: Readonly<Record<string, unknown>>): [number, number, number];
  /** Opens one split. @throws DataError on missing or malformed files */
  open(opts: OpenOptions): Dataset | Promise<Dataset>;
  /** Where the data would be read from (`embedded`, a path) or null when not found. */
  locate?(dataDir?: string): string | null;
  /** Whether the files match known checksums; null when unknown or not checked. */
  checksum?(dataDir?: string): boolean | null;
}

const rgb = (mean: number[], std: number[]): Normalization => ({ scale: 255, mean, std });

/** The entries, in {@link DATASET_NAMES} order; the readers in `readers/` plug in via `READERS`. */
const ENTRIES: DatasetEntry[] = [
  {
    name: 'fashion-mnist-mini',
    description: 'embedded stratified Fashion-MNIST subset (4,000 train + 1,000 test), no download',
    shape: [28, 28, 1],
    classes: 10,
    classNames: FASHION_MNIST_CLASSES,
    counts: FASHION_MNIST_MINI_COUNTS,
    normalization: { scale: 255, mean: [0.286], std: [0.353] },
    augment: { crop: 2, flip: true },
    theta0: DEFAULT_STC.theta0,
    embedded: true,
    open: (o) => openFashionMnistMini({ split: o.split, limit: o.limit }),
    locate: () => EMBEDDED_FASHION_MNIST_DIR,
    checksum: () => null,
  },
  {
    name: 'fashion-mnist',
    description: `Fashion-MNIST, 60,000 train + 10,000 test IDX files (${FASHION_MNIST_HOWTO})`,
    shape: [28, 28, 1],
    classes: 10,
    classNames: FASHION_MNIST_CLASSES,
    counts: FASHION_MNIST_COUNTS,
    normalization: { scale: 255, mean: [0.286], std: [0.353] },
    augment: { crop: 2, flip: true },
    theta0: DEFAULT_STC.theta0,
    open: (o) => openFashionMnist({ split: o.split, dataDir: o.dataDir, limit: o.limit }),
    locate: (dataDir) => findFashionMnist(dataDir),
    checksum: (dataDir) => {
      const dir = findFashionMnist(dataDir);
      return dir ? checkFashionMnistChecksums(dir) : null;
    },
  },
  {
    name: 'cifar10',
    description: 'CIFAR-10, binary version (cifar-10-binary.tar.gz or its extracted folder)',
    shape: [32, 32, 3],
    classes: 10,
    classNames: null,
    counts: { train: 50000, test: 10000 },
    normalization: rgb([0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]),
    augment: { crop: 4, flip: true },
    theta0: DEFAULT_STC.theta0,
    open: READERS.cifar10.open,
    locate: READERS.cifar10.locate,
  },
  {
    name: 'cifar100',
    description: 'CIFAR-100, binary version (cifar-100-binary.tar.gz or its extracted folder)',
    shape: [32, 32, 3],
    classes: 100,
    classNames: null,
    counts: { train: 50000, test: 10000 },
    normalization: rgb([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
    augment: { crop: 4, flip: true },
    theta0: DEFAULT_STC.theta0,
    open: READERS.cifar100.open,
    locate: READERS.cifar100.locate,
  },
  {
    name: 'tinyimagenet',
    description: 'TinyImageNet (the unzipped tiny-imagenet-200/ folder), 64x64, 200 classes',
    shape: [64, 64, 3],
    classes: 200,
    classNames: null,
    counts: { train: 100000, test: 10000 },
    normalization: rgb([0.4802, 0.4481, 0.3975], [0.277, 0.2691, 0.2821]),
    augment: { crop: 8, flip: true },
    theta0: DEFAULT_STC.theta0,
    open: READERS.tinyimagenet.open,
    locate: READERS.tinyimagenet.locate,
  },
  {
    name: 'cifar10-dvs',
    description: 'CIFAR10-DVS (AEDAT event files), integrated into frames of 2 polarity channels',
    shape: [128, 128, 2],
    classes: 10,
    classNames: null,
    counts: { train: 9000, test: 1000 }, // the readers' fixed 90/10 split of 10 x 1000 files
    normalization: { scale: 1, mean: [0], std: [1] }, // one value for all 2F channels (F frames)
    augment: null,
    theta0: 2,
    open: READERS['cifar10-dvs'].open,
    locate: READERS['cifar10-dvs'].locate,
    sampleShape: READERS['cifar10-dvs'].shape,
  },
  {
    name: 'imagefolder',
    description: 'a folder of class sub-folders of PNG/JPEG images (ImageNet statistics)',
    shape: [32, 32, 3],
    classes: 0,
    classNames: null,
    counts: null,
    normalization: rgb([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    augment: { crop: 4, flip: true },
    theta0: DEFAULT_STC.theta0,
    open: READERS.imagefolder.open,
    locate: READERS.imagefolder.locate,
  },
];

const TABLE = new Map<string, DatasetEntry>(ENTRIES.map((e) => [e.name, e]));

/**
 * A data set's normalisation for samples of `channels` channels: `norm` itself when it has one
 * value or one per channel; for luminance images (`channels: 1`) of a data set with RGB
 * statistics, the luminance of the means and of the standard deviations (BT.601 weights; the
 * standard deviation of a weighted sum of fully correlated channels).
 * @throws DataError when neither applies
 */
export function normalizationFor(norm: Normalization, channels: number): Normalization {
  if (norm.mean.length === 1 || norm.mean.length === channels) return norm;
  if (channels === 1 && norm.mean.length === 3 && norm.std.length === 3) {
    const luma = (v: readonly number[]) => LUMA.reduce((acc, w, c) => acc + w * v[c], 0);
    return { scale: norm.scale, mean: [luma(norm.mean)], std: [luma(norm.std)] };
  }
  throw new DataError(
    `normalisation has ${norm.mean.length} values per channel for ${channels}-channel samples`,
  );
}

/** Adds or replaces an entry (readers may register at import time). */
export function registerDataset(entry: DatasetEntry): void {
  TABLE.set(entry.name, entry);
}

/** Every registered name (the static names first). */
export function registeredNames(): string[] {
  return [...new Set<string>([...DATASET_NAMES, ...TABLE.keys()])];
}

/** The registry entry of `name`. @throws DataError listing the known names */
export function datasetInfo(name: string): DatasetEntry {
  const e = TABLE.get(name);
  if (!e) throw new DataError(`unknown data set '${name}'; known: ${registeredNames().join(', ')}`);
  return e;
}

/**
 * The sample shape `[H, W, C]` of data set `name` opened with `options` (e.g. `frames: 4` of
 * CIFAR10-DVS stacks 2 channels per frame: docs/semantics.md §4), without opening it.
 * @throws DataError for an unknown name or a bad option
 */
export function sampleShape(
  name: string,
  options: Readonly<Record<string, unknown>> = {},
): [number, number, number] {
  const e = datasetInfo(name);
  return e.sampleShape ? e.sampleShape(options) : [...e.shape];
}

/** A view of the first `limit` samples of `ds`. */
export function limitDataset(ds: Dataset, limit: number): Dataset {
  const n = Math.max(0, Math.min(ds.count, Math.floor(limit)));
  if (n === ds.count) return ds;
  const labels = ds.labels.subarray(0, n);
  return {
    name: ds.name,
    split: ds.split,
    count: n,
    shape: ds.shape,
    classes: ds.classes,
    classNames: ds.classNames,
    labels,
    source: ds.source,
    read(i, out, offset) {
      if (!(i >= 0 && i < n)) throw new RangeError(`${ds.name}: sample ${i} out of 0..${n - 1}`);
      return ds.read(i, out, offset);
    },
  };
}

/**
 * Opens split `opts.split` of data set `name`; `limit` is applied even when the reader ignores it.
 * @throws DataError for an unknown name (listing the known ones) or bad files
 */
export async function openDataset(name: string, opts: OpenOptions): Promise<Dataset> {
  const entry = datasetInfo(name);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 0))
    throw new DataError(`${name}: limit must be an integer >= 0, got ${opts.limit}`);
  const ds = await entry.open(opts);
  return opts.limit === undefined ? ds : limitDataset(ds, opts.limit);
}

/** The data sets that read files from a data directory (every one but the embedded ones). */
export function dataDirDatasets(): DatasetName[] {
  return DATASET_NAMES.filter((d) => datasetInfo(d).embedded !== true);
}
