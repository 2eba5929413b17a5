/**
 * CIFAR10-DVS (Li et al. 2017): CIFAR-10 images recorded with a DVS128 camera, in the original
 * AEDAT 2.0 files (see `aedat.ts` for the format, the address decoding and the integration).
 *
 * Layout: `dataDir/<class>/*.aedat`, one folder per class (the official zips, extracted), or
 * `dataDir/CIFAR10-DVS/<class>/...`. Classes are the sub-folders sorted by name (for the official
 * set: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck = CIFAR-10's order).
 * A class folder without `.aedat` files is an error; so is, unless `strict: false`, anything but
 * the official 10 classes of 1000 files.
 *
 * Split (the set has none; fixed and deterministic, per class, `splitRule`):
 * - `natural` (default): the `.aedat` files sorted by name with numbers compared as numbers
 *   (`cifar10_cat_2` before `cifar10_cat_10`); the last `round(n * testFraction)` (at least 1)
 *   are the test set, the rest train; `testFraction` 0.1 gives files 900..999 as test;
 * - `spikingjelly`: SpikingJelly's `split_to_train_test_set(1 - testFraction, ..., random_split=
 *   False)` on its folder order: files sorted by code point (`_0, _1, _10, _100, ...`), the first
 *   `ceil(n * (1 - testFraction))` train, the rest test;
 * - `tebn`: the split of Duan et al. 2022 (TEBN) used by many later papers: natural order, the
 *   first `round(n * testFraction)` (files 0..99) test, the rest train. (SpikingJelly notes that
 *   accuracies on it are typically much higher than on other splits: compare like with like.)
 *
 * Samples: `[H, W, 2F]` float32 event counts, F = `frames` (default 1), channels frame-major
 * (`[f0p0, f0p1, f1p0, ...]`), H = W = 128 unless resized. `size` resizes every frame with
 * `resizeMode`: `area` (default: each output pixel is the mean count of the input area it covers,
 * i.e. counts per input pixel) or `bilinear` (half-pixel centres, no antialiasing).
 *
 * Frames are built on first read and cached on disk under `<cacheDir>/cifar10-dvs/<key>.stcf`,
 * where the key hashes the source file's absolute path, size and mtime and every integration
 * parameter (frames, splitting events by number, resize size and mode, address decoding; not the
 * train/test split, which does not change a sample); the entry format is in
 * `frame-cache.ts`. A damaged or mismatching entry is rebuilt, never trusted. Reads are async; a
 * byte-bounded in-memory LRU (`memoryBudgetMB`, default 2048) sits in front of the disk cache
 * (the unresized F = 1 train split, 9000 x 128 KiB, fits).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { DataError, SUBSET_HINT, type Dataset } from '../types.js';
import { DVS128_SIZE, integrateFrames, parseAedat } from './aedat.js';
import { decodeFrameCache, encodeFrameCache } from './frame-cache.js';
import { resizeHwc, type ResizeMode } from './image.js';
import {
  ByteLru,
  checkIndex,
  defaultCacheDir,
  direntIsDir,
  direntIsFile,
  isDir,
  listClassFiles,
  listDirSorted,
  MAX_DATA_FILE_BYTES,
  readFileAsync,
  selectSplit,
  splitCount,
} from './util.js';
import { writeFileAtomicAsync } from '../../util/atomic.js';
import { FileSystemError, readRegularFileAsync } from '../../util/fs.js';

/** Options of {@link openCifar10Dvs}. */
export interface Cifar10DvsOptions {
  /** Folder of class folders (or holding `CIFAR10-DVS/`). */
  readonly dataDir: string;
  readonly split: 'train' | 'test';
  /** Frames F per sample (channels = 2F); default 1. */
  readonly frames?: number;
  /** Resize every frame to `[h, w]` (or `n` = `[n, n]`), e.g. 48; default none (128x128). */
  readonly size?: number | readonly [number, number];
  /** How to resize; default `area`. */
  readonly resizeMode?: ResizeMode;
  /** Fraction of each class's files in the test split; default 0.1. */
  readonly testFraction?: number;
  /** Which files of a class are the test set (see the module doc); default `natural`. */
  readonly splitRule?: DvsSplitRule;
  /** Cache root; default `$STCSNN_CACHE` or `~/.cache/stcsnn`. Frames go in `cifar10-dvs/`. */
  readonly cacheDir?: string;
  /** In-memory cache budget in MiB; default 2048. */
  readonly memoryBudgetMB?: number;
  /**
   * Require the official layout (default true): 10 classes of 1000 files. `false` accepts any
   * number of class folders and files (subsets, other recordings in the same format).
   */
  readonly strict?: boolean;
}

/** How CIFAR10-DVS is split into train and test (see the module doc). */
export type DvsSplitRule = 'natural' | 'spikingjelly' | 'tebn';

/** The files of one split of one class, `sorted` in natural order (see the module doc). */
export function selectDvsSplit(
  sorted: readonly string[],
  split: 'train' | 'test',
  testFraction: number,
  rule: DvsSplitRule,
): string[] {
  if (rule === 'natural') return selectSplit(sorted, split, testFraction);
  const { test } = splitCount(sorted.length, testFraction);
  if (rule === 'tebn') return split === 'test' ? sorted.slice(0, test) : sorted.slice(test);
  const byCodePoint = [...sorted].sort((a, b) => {
    const x = path.basename(a);
    const y = path.basename(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const train = Math.ceil(sorted.length * (1 - testFraction));
  return split === 'train' ? byCodePoint.slice(0, train) : byCodePoint.slice(train);
}

/** Counters of where samples came from, for reports and tests. */
export interface FrameCacheStats {
  /** Served from the in-memory LRU. */
  memoryHits: number;
  /** Served from a valid disk cache entry. */
  diskHits: number;
  /** Built from the AEDAT file because there was no entry. */
  builds: number;
  /** Built again because the entry was damaged or did not match. */
  rebuilds: number;
}

/** A CIFAR10-DVS split; `read` is async. */
export interface Cifar10DvsDataset extends Dataset {
  /** The AEDAT file of every sample. */
  readonly files: readonly string[];
  /** The cache file of sample `i`. */
  cachePath(i: number): string;
  /** Cache statistics since opening. */
  readonly stats: FrameCacheStats;
}

/** Version of the integration code; bump when it changes what a cache entry holds. */
const INTEGRATION_VERSION = 1;

const CLASS_FOLDER_PARENTS = ['CIFAR10-DVS', 'cifar10-dvs', 'CIFAR10DVS'];

function isAedat(name: string): boolean {
  return /\.aedat$/i.test(name);
}

/** Finds the folder holding the class folders. */
function locateRoot(dataDir: string): string {
  if (!isDir(dataDir)) throw new DataError(`${dataDir}: no such folder (CIFAR10-DVS)`);
  const hasClassFolders = (dir: string) =>
    listDirSorted(dir).some(
      (d) =>
        direntIsDir(dir, d) &&
        listDirSorted(path.join(dir, d.name)).some(
          (f) => isAedat(f.name) && direntIsFile(path.join(dir, d.name), f),
        ),
    );
  if (hasClassFolders(dataDir)) return dataDir;
  for (const sub of CLASS_FOLDER_PARENTS) {
    const p = path.join(dataDir, sub);
    if (isDir(p) && hasClassFolders(p)) return p;
  }
  throw new DataError(
    `${dataDir}: no CIFAR10-DVS class folders with .aedat files (extract the official zips here)`,
  );
}

/** The classes and every class's AEDAT files, sorted (see the module doc). */
export function listDvsFiles(root: string): { classNames: string[]; files: string[][] } {
  const aedatFiles = (dir: string) =>
    listDirSorted(dir)
      .filter((f) => isAedat(f.name) && direntIsFile(dir, f))
      .map((f) => path.join(dir, f.name));
  return listClassFiles(root, aedatFiles, 'class folder without .aedat event files');
}

function normSize(size: Cifar10DvsOptions['size']): [number, number] | null {
  if (size === undefined) return null;
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || h > 4096 || w > 4096) {
    throw new DataError(`CIFAR10-DVS: bad frame size ${String(size)}`);
  }
  return [h, w];
}

/**
 * The sample shape `[H, W, 2F]` of the options' `frames` (F, default 1) and `size` (default
 * 128x128), what {@link openCifar10Dvs} reads; nothing is opened.
 * @throws DataError for a bad frame count or size
 */
export function cifar10DvsShape(opts: Pick<Cifar10DvsOptions, 'frames' | 'size'>): [number, number, number] {
  const frames = opts.frames ?? 1;
  if (!Number.isInteger(frames) || frames < 1 || frames > 1024) {
    throw new DataError(`CIFAR10-DVS: frames must be an integer in 1..1024, got ${frames}`);
  }
  const size = normSize(opts.size);
  return [size?.[0] ?? DVS128_SIZE, size?.[1] ?? DVS128_SIZE, 2 * frames];
}

/** Refuses anything but the official 10 classes of 1000 files (a subset needs `strict: false`). */
function checkOfficialCounts(
  root: string,
  classNames: readonly string[],
  perClass: readonly string[][],
): void {
  const hint = SUBSET_HINT;
  if (classNames.length !== 10) {
    throw new DataError(`${root}: ${classNames.length} class folders, expected the official 10 ${hint}`);
  }
  perClass.forEach((l, c) => {
    if (l.length !== 1000) {
      throw new DataError(
        `${path.join(root, classNames[c])}: ${l.length} .aedat files, expected the official 1000 ${hint}`,
      );
    }
  });
}

/** The files of a split over all classes, class by class, with their labels. */
function splitFiles(
  perClass: readonly string[][],
  split: Cifar10DvsOptions['split'],
  testFraction: number,
  splitRule: DvsSplitRule,
): { files: string[]; labels: Int32Array } {
  const files: string[] = [];
  const labelList: number[] = [];
  perClass.forEach((list, c) => {
    for (const f of selectDvsSplit(list, split, testFraction, splitRule)) {
      files.push(f);
      labelList.push(c);
    }
  });
  return { files, labels: Int32Array.from(labelList) };
}

/** What a sample's frames are made with: the integration parameters and the sample shape. */
interface Integration {
  readonly frames: number;
  readonly size: [number, number] | null;
  readonly resizeMode: NonNullable<Cifar10DvsOptions['resizeMode']>;
  readonly shape: [number, number, number];
}

/**
 * The frames of the samples' AEDAT files, built on first read and cached on disk under
 * `cacheRoot` (see the module doc) behind a byte-bounded in-memory LRU: `load(i)` gives sample
 * `i`'s frames, `cachePath(i)` its cache file; `stats` counts hits and builds.
 */
function frameSource(
  files: readonly string[],
  integration: Integration,
  cacheRoot: string,
  memoryBudgetMB: number,
): { load(i: number): Promise<Float32Array>; cachePath(i: number): string; stats: FrameCacheStats } {
  const { frames, size, resizeMode, shape } = integration;
  const lru = new ByteLru<Float32Array>(Math.max(0, memoryBudgetMB) * 1024 * 1024);
  const stats: FrameCacheStats = { memoryHits: 0, diskHits: 0, builds: 0, rebuilds: 0 };

  const keyOf = (file: string): string => {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      throw new DataError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    return JSON.stringify({
      format: 'stcsnn-cifar10-dvs-frames',
      integration: INTEGRATION_VERSION,
      file: path.resolve(file),
      size: st.size,
      mtimeMs: st.mtimeMs,
      frames,
      splitBy: 'number',
      decode: 'x=127-((a&0x7F00)>>8),y=127-((a&0xFE)>>1),p=1-(a&1)',
      sensor: [DVS128_SIZE, DVS128_SIZE],
      resize: size,
      resizeMode: size === null ? null : resizeMode,
      layout: 'HWC,c=2f+p',
    });
  };
  const cacheFile = (key: string): string =>
    path.join(cacheRoot, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.stcf`);

  const build = async (file: string): Promise<Float32Array> => {
    const ev = parseAedat(await readFileAsync(file), file);
    const raw = integrateFrames(ev, frames);
    return size === null
      ? raw
      : resizeHwc(raw, DVS128_SIZE, DVS128_SIZE, 2 * frames, size[0], size[1], resizeMode);
  };

  /** The cache entry `cf` of `key`, or null when there is none or it is damaged (or not a regular file). */
  const readEntry = async (
    cf: string,
    key: string,
  ): Promise<{ data: Float32Array | null; existed: boolean }> => {
    let existed = false;
    try {
      const buf = await readRegularFileAsync(cf, {
        maxBytes: MAX_DATA_FILE_BYTES,
        what: 'frame cache entry',
      });
      existed = true;
      const data = decodeFrameCache(buf, cf, shape, key);
      stats.diskHits++;
      return { data, existed };
    } catch (e) {
      // No entry, or a damaged / mismatching one (or not a regular file): rebuilt by the caller.
      const damaged = e instanceof DataError || e instanceof FileSystemError;
      if (!damaged && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return { data: null, existed };
    }
  };

  const load = async (i: number): Promise<Float32Array> => {
    const cached = lru.get(i);
    if (cached !== undefined) {
      stats.memoryHits++;
      return cached;
    }
    const file = files[i];
    const key = keyOf(file);
    const cf = cacheFile(key);
    const entry = await readEntry(cf, key);
    let data = entry.data;
    if (data === null) {
      data = await build(file);
      if (entry.existed) stats.rebuilds++;
      else stats.builds++;
      await writeFileAtomicAsync(cf, encodeFrameCache(data, shape, key));
    }
    lru.set(i, data);
    return data;
  };
  return { load, cachePath: (i) => cacheFile(keyOf(files[i])), stats };
}

/**
 * Opens a CIFAR10-DVS split (see the module doc). Lists and splits the files; frames are built on
 * first read (or by {@link verifyDataset}, which reads every sample).
 */
export async function openCifar10Dvs(opts: Cifar10DvsOptions): Promise<Cifar10DvsDataset> {
  const shape = cifar10DvsShape(opts);
  const frames = opts.frames ?? 1;
  const size = normSize(opts.size);
  const resizeMode = opts.resizeMode ?? 'area';
  const testFraction = opts.testFraction ?? 0.1;
  const splitRule = opts.splitRule ?? 'natural';
  if (!['natural', 'spikingjelly', 'tebn'].includes(splitRule)) {
    throw new DataError(`CIFAR10-DVS: unknown split rule '${String(splitRule)}'`);
  }
  splitCount(0, testFraction); // validates the fraction
  const root = locateRoot(opts.dataDir);
  const { classNames, files: perClass } = listDvsFiles(root);
  if (opts.strict !== false) checkOfficialCounts(root, classNames, perClass);
  const { files, labels } = splitFiles(perClass, opts.split, testFraction, splitRule);
  if (files.length === 0) throw new DataError(`${root}: the ${opts.split} split of CIFAR10-DVS is empty`);
  const source = frameSource(
    files,
    { frames, size, resizeMode, shape },
    path.join(opts.cacheDir ?? defaultCacheDir(), 'cifar10-dvs'),
    opts.memoryBudgetMB ?? 2048,
  );
  const name = 'cifar10-dvs';
  return {
    name,
    split: opts.split,
    count: files.length,
    shape,
    classes: classNames.length,
    classNames,
    labels,
    source: root,
    files,
    stats: source.stats,
    cachePath: (i: number) => {
      checkIndex(i, files.length, name);
      return source.cachePath(i);
    },
    async read(i: number, out: Float32Array, offset: number): Promise<void> {
      checkIndex(i, files.length, name);
      out.set(await source.load(i), offset);
    },
  };
}
