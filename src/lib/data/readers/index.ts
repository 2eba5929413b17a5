/**
 * The readers of CIFAR-10/100, TinyImageNet, CIFAR10-DVS and image folders, and their glue to the
 * data-set registry (`../registry.ts`): {@link READERS} maps a registry name to an `open` taking
 * the registry's options (with the reader-specific extras below) and a `locate`. Fashion-MNIST's
 * reader (`fashion-mnist.ts`, on the IDX files of `idx.ts`) is here too; the registry opens it and
 * the embedded subset directly.
 *
 * Registry options understood (extras are checked; a wrong type is a DataError):
 * - every reader: `dataDir` (default `$STCSNN_DATA`), `cacheDir` (default `$STCSNN_CACHE` or
 *   `~/.cache/stcsnn`);
 * - `cifar10`, `cifar100`, `tinyimagenet`, `cifar10-dvs`: `strict` (default true: the official
 *   counts are required; false accepts a subset in the same format);
 * - `cifar100`: `labels` `'fine'` (default) or `'coarse'`;
 * - `cifar10-dvs`: `frames` (F, default 1), `size` (resize, e.g. 48), `resizeMode`
 *   (`'area'` default, `'bilinear'`), `testFraction` (0.1), `splitRule` (`'natural'` default,
 *   `'spikingjelly'`, `'tebn'`), `memoryBudgetMB` (2048);
 * - `imagefolder`: `imageSize`, `channels` (1 or 3), `resizeMode` (`'bilinear'` default),
 *   `testFraction` (0.1), `memoryBudgetMB` (1024);
 * - `tinyimagenet`: `memoryBudgetMB` (2048).
 */
import * as path from 'node:path';
import { DataError, type Dataset } from '../types.js';
import {
  CIFAR_LAYOUTS,
  CIFAR100_LABELS,
  openCifar10,
  openCifar100,
  type Cifar100Labels,
  type CifarLayout,
} from './cifar.js';
import { cifar10DvsShape, openCifar10Dvs } from './cifar10-dvs.js';
import { openImageFolder } from './image-folder.js';
import { findTinyImageNet, openTinyImageNet } from './tiny-imagenet.js';
import { isDir, isFile } from './util.js';

export { CIFAR100_LABELS, openCifar10, openCifar100, parseCifarRecords } from './cifar.js';
export type { CifarOptions, Cifar100Labels, Cifar100Options } from './cifar.js';
export { cifar10DvsShape, openCifar10Dvs, listDvsFiles } from './cifar10-dvs.js';
export type { Cifar10DvsOptions, Cifar10DvsDataset, DvsSplitRule, FrameCacheStats } from './cifar10-dvs.js';
export { parseAedat, integrateFrames, aedatDataOffset } from './aedat.js';
export { encodeFrameCache, decodeFrameCache } from './frame-cache.js';
export { openImageFolder } from './image-folder.js';
export type { ImageFolderOptions } from './image-folder.js';
export { openTinyImageNet, findTinyImageNet } from './tiny-imagenet.js';
export type { TinyImageNetOptions } from './tiny-imagenet.js';
export { ImageFilesDataset } from './image-files.js';
export { decodeImage, resizeHwc } from './image.js';
export type { ResizeMode, RgbImage } from './image.js';
export { extractTarGzCached, checkTarGz } from './archive.js';
export { verifyDataset, defaultCacheDir, splitCount } from './util.js';
export type { VerifyReport } from './util.js';

/**
 * The readers with a strict mode (option `strict`, default true: the official counts are
 * required; false accepts a subset in the same format).
 */
export const STRICT_READERS = ['cifar10', 'cifar100', 'tinyimagenet', 'cifar10-dvs'] as const;

/** The registry options a reader receives (a structural copy of the registry's `OpenOptions`). */
export interface ReaderOpenOptions {
  readonly split: 'train' | 'test';
  readonly dataDir?: string;
  readonly [extra: string]: unknown;
}

/** A reader as the registry plugs it in. */
export interface ReaderGlue {
  open(opts: ReaderOpenOptions): Promise<Dataset>;
  /** Where the data would be read from, or null when not found. */
  locate(dataDir?: string): string | null;
  /** The sample shape `[H, W, C]` under these options, where they change it (nothing is opened). */
  shape?(opts: Readonly<Record<string, unknown>>): [number, number, number];
}

function dataDirOf(name: string, o: { dataDir?: string }): string {
  const d = o.dataDir ?? process.env.STCSNN_DATA;
  if (d === undefined || d === '')
    throw new DataError(`${name}: no data directory (pass --data-dir or set STCSNN_DATA)`);
  return d;
}

function opt<T>(
  o: Readonly<Record<string, unknown>>,
  key: string,
  check: (v: unknown) => v is T,
  what: string,
): T | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!check(v)) throw new DataError(`option ${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isSize = (v: unknown): v is number | [number, number] =>
  isNum(v) || (Array.isArray(v) && v.length === 2 && v.every(isNum));
const isResize = (v: unknown): v is 'area' | 'bilinear' => v === 'area' || v === 'bilinear';

/**
 * `dir` when it (or the layout's folder inside it) holds the layout's marker, or is or holds one
 * of its archives; else null.
 */
function locateBy(dir: string | undefined, { folder, marker, archives }: CifarLayout) {
  const d = dir ?? process.env.STCSNN_DATA;
  if (d === undefined || d === '') return null;
  if (isFile(d) && archives.some((a) => d.endsWith(a))) return path.resolve(d);
  for (const s of ['', folder]) if (isFile(path.join(d, s, marker))) return path.resolve(d, s);
  for (const a of archives) if (isFile(path.join(d, a))) return path.resolve(d, a);
  return null;
}

/** The readers by registry name. */
export const READERS: Readonly<
  Record<'cifar10' | 'cifar100' | 'tinyimagenet' | 'cifar10-dvs' | 'imagefolder', ReaderGlue>
> = {
  cifar10: {
    open: (o) =>
      openCifar10({
        dataDir: dataDirOf('cifar10', o),
        split: o.split,
        cacheDir: opt(o, 'cacheDir', isStr, 'a path'),
        strict: opt(o, 'strict', isBool, 'a boolean'),
      }),
    locate: (d) => locateBy(d, CIFAR_LAYOUTS.cifar10),
  },
  cifar100: {
    open: (o) =>
      openCifar100({
        dataDir: dataDirOf('cifar100', o),
        split: o.split,
        strict: opt(o, 'strict', isBool, 'a boolean'),
        cacheDir: opt(o, 'cacheDir', isStr, 'a path'),
        labels: opt(
          o,
          'labels',
          (v): v is Cifar100Labels => (CIFAR100_LABELS as readonly unknown[]).includes(v),
          CIFAR100_LABELS.map((l) => `'${l}'`).join(' or '),
        ),
      }),
    locate: (d) => locateBy(d, CIFAR_LAYOUTS.cifar100),
  },
  tinyimagenet: {
    open: (o) =>
      openTinyImageNet({
        dataDir: dataDirOf('tinyimagenet', o),
        split: o.split,
        strict: opt(o, 'strict', isBool, 'a boolean'),
        memoryBudgetMB: opt(o, 'memoryBudgetMB', isNum, 'a number'),
      }),
    locate: (d) => {
      const dir = d ?? process.env.STCSNN_DATA;
      return dir ? findTinyImageNet(dir) : null;
    },
  },
  'cifar10-dvs': {
    open: (o) =>
      openCifar10Dvs({
        dataDir: dataDirOf('cifar10-dvs', o),
        split: o.split,
        strict: opt(o, 'strict', isBool, 'a boolean'),
        cacheDir: opt(o, 'cacheDir', isStr, 'a path'),
        frames: opt(o, 'frames', isNum, 'an integer'),
        size: opt(o, 'size', isSize, 'a size'),
        resizeMode: opt(o, 'resizeMode', isResize, "'area' or 'bilinear'"),
        testFraction: opt(o, 'testFraction', isNum, 'a number'),
        splitRule: opt(
          o,
          'splitRule',
          (v): v is 'natural' | 'spikingjelly' | 'tebn' =>
            v === 'natural' || v === 'spikingjelly' || v === 'tebn',
          "'natural', 'spikingjelly' or 'tebn'",
        ),
        memoryBudgetMB: opt(o, 'memoryBudgetMB', isNum, 'a number'),
      }),
    locate: (d) => {
      const dir = d ?? process.env.STCSNN_DATA;
      return dir && isDir(dir) ? path.resolve(dir) : null;
    },
    shape: (o) =>
      cifar10DvsShape({
        frames: opt(o, 'frames', isNum, 'an integer'),
        size: opt(o, 'size', isSize, 'a size'),
      }),
  },
  imagefolder: {
    open: (o) =>
      openImageFolder({
        dataDir: dataDirOf('imagefolder', o),
        split: o.split,
        imageSize: opt(o, 'imageSize', isSize, 'a size') ?? opt(o, 'size', isSize, 'a size'),
        channels: opt(o, 'channels', (v): v is 1 | 3 => v === 1 || v === 3, '1 or 3'),
        resizeMode: opt(o, 'resizeMode', isResize, "'area' or 'bilinear'"),
        testFraction: opt(o, 'testFraction', isNum, 'a number'),
        memoryBudgetMB: opt(o, 'memoryBudgetMB', isNum, 'a number'),
      }),
    locate: (d) => {
      const dir = d ?? process.env.STCSNN_DATA;
      return dir && isDir(dir) ? path.resolve(dir) : null;
    },
  },
};
