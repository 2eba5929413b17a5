/**
 * Users' own images: one folder per class.
 *
 * Layouts:
 * - `root/train/<class>/*` and `root/test/<class>/*`: the given split. Classes are `train/`'s
 *   folders; a `test/` class folder that is not in `train/` is an error.
 * - otherwise `root/<class>/*`: a deterministic split per class (the class's images sorted by name
 *   with numbers compared as numbers, the last `round(n * testFraction)`, at least 1 when n >= 2,
 *   are the test set; `testFraction` defaults to 0.1).
 * Classes are sorted by name (numbers as numbers); the label is the index. Folders starting with
 * `.` are skipped. Samples are ordered round-robin over the classes (the first image of every
 * class, then the second, ...; within a class by name), so that the first N samples (a
 * `--limit-train N` subset) are balanced over the classes.
 *
 * Images: `.png`, `.jpg`, `.jpeg` (any case), told apart by content; other files are ignored,
 * except other image formats (`.gif`, `.bmp`, `.webp`, `.tif`, `.tiff`), which are an error rather
 * than a silently smaller data set, and so is a class folder without images. All images become
 * one shape `[H, W, C]`: `imageSize` when given, else the size of the first image (first class,
 * first file, of the train split); others are resized (bilinear by default). C is 3 (RGB; grey
 * expanded, alpha dropped) or 1 (`channels: 1`, BT.601 luminance). Values 0..255 (integers).
 * Images are decoded on demand with a bounded cache (see `image-files.ts`).
 */
import * as path from 'node:path';
import { DataError } from '../types.js';
import { INPUT_LIMITS, IMAGE_LIMITS, inputShapeProblem } from '../../core/limits.js';
import { checkImageHeader, type ResizeMode } from './image.js';
import { ImageFilesDataset } from './image-files.js';
import { direntIsFile, isDir, listClassFiles, listDirSorted, readFileOrThrow, selectSplit } from './util.js';

/** Options of {@link openImageFolder}. */
export interface ImageFolderOptions {
  /** The root folder (see the module doc). */
  readonly dataDir: string;
  readonly split: 'train' | 'test';
  /** `[h, w]` or `n` for `[n, n]`; default the first image's size. */
  readonly imageSize?: number | readonly [number, number];
  /** 3 (RGB, default) or 1 (luminance). */
  readonly channels?: 1 | 3;
  /** Fraction of each class in the test split when there are no `train/`/`test/` folders; default 0.1. */
  readonly testFraction?: number;
  /** How to resize images of another size; default `bilinear`. */
  readonly resizeMode?: ResizeMode;
  /** Decoded-image cache budget in MiB; default 1024. */
  readonly memoryBudgetMB?: number;
  /** Data-set name for reports; default `image-folder`. */
  readonly name?: string;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const UNSUPPORTED_EXT = /\.(gif|bmp|webp|tiff?|heic)$/i;

/** The PNG and JPEG images of a class folder, sorted; another image format is refused. */
function classImages(cdir: string): string[] {
  const list: string[] = [];
  for (const f of listDirSorted(cdir)) {
    if (!direntIsFile(cdir, f)) continue;
    if (UNSUPPORTED_EXT.test(f.name)) {
      throw new DataError(`${path.join(cdir, f.name)}: unsupported image format (use PNG or JPEG)`);
    }
    if (IMAGE_EXT.test(f.name)) list.push(path.join(cdir, f.name));
  }
  return list;
}

/** The images of every class folder under `dir`, classes sorted. */
export function listClassFolders(dir: string): { classNames: string[]; files: string[][] } {
  const classes = listClassFiles(dir, classImages, 'class folder without images (.png, .jpg, .jpeg)');
  if (classes.classNames.length === 0) throw new DataError(`${dir}: no class folders`);
  return classes;
}

function normSize(size: ImageFolderOptions['imageSize']): [number, number] | null {
  if (size === undefined) return null;
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  const max = INPUT_LIMITS.maxSide;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1 || h > max || w > max) {
    throw new DataError(`image folder: bad image size ${String(size)} (sides 1 to ${max}, INPUT_LIMITS)`);
  }
  return [h, w];
}

/** Opens one split of an image folder (see the module doc). */
export async function openImageFolder(opts: ImageFolderOptions): Promise<ImageFilesDataset> {
  const root = opts.dataDir;
  if (!isDir(root)) throw new DataError(`${root}: no such folder (image folder)`);
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3)
    throw new DataError(`image folder: channels must be 1 or 3, got ${channels}`);
  const testFraction = opts.testFraction ?? 0.1;
  const hasTrain = isDir(path.join(root, 'train'));
  const hasTest = isDir(path.join(root, 'test'));
  if (hasTrain !== hasTest) {
    throw new DataError(
      `${root}: has ${hasTrain ? 'train/' : 'test/'} but no ${hasTrain ? 'test/' : 'train/'}`,
    );
  }
  let classNames: string[];
  let trainFiles: string[][];
  let splitFiles: string[][];
  if (hasTrain) {
    const train = listClassFolders(path.join(root, 'train'));
    classNames = train.classNames;
    trainFiles = train.files;
    if (opts.split === 'train') splitFiles = train.files;
    else {
      const test = listClassFolders(path.join(root, 'test'));
      splitFiles = classNames.map(() => []);
      test.classNames.forEach((c, k) => {
        const idx = classNames.indexOf(c);
        if (idx < 0)
          throw new DataError(`${path.join(root, 'test', c)}: class not in ${path.join(root, 'train')}`);
        splitFiles[idx] = test.files[k];
      });
    }
  } else {
    const all = listClassFolders(root);
    classNames = all.classNames;
    trainFiles = all.files.map((l) => selectSplit(l, 'train', testFraction));
    splitFiles = all.files.map((l) => selectSplit(l, opts.split, testFraction));
  }
  // Round-robin over the classes (the i-th image of every class, then the (i+1)-th), so that the
  // first N samples (`--limit-train N`) hold every class in its share rather than the first classes.
  const files: string[] = [];
  const labels: number[] = [];
  const longest = Math.max(0, ...splitFiles.map((l) => l.length));
  for (let i = 0; i < longest; i++) {
    splitFiles.forEach((l, c) => {
      if (i >= l.length) return;
      files.push(l[i]);
      labels.push(c);
    });
  }
  if (files.length === 0) throw new DataError(`${root}: the ${opts.split} split is empty`);
  let size = normSize(opts.imageSize);
  if (size === null) {
    const first = trainFiles.find((l) => l.length > 0)?.[0] ?? files[0];
    // the first image's header alone (nothing is decoded here): its size is the model's input,
    // which must be one a model can be loaded with (INPUT_LIMITS, as MODEL_LIMITS when loading)
    const head = checkImageHeader(readFileOrThrow(first, IMAGE_LIMITS.maxFileBytes, 'image'), first);
    size = [head.height, head.width];
    const over = inputShapeProblem([head.height, head.width, channels]);
    if (over)
      throw new DataError(
        `${first}: the first image, ${head.width} wide and ${head.height} high, sets the model's input, but ${over} (INPUT_LIMITS, the limit a model is loaded with); resize the images (--resize N, datasetOptions.size)`,
      );
  }
  return new ImageFilesDataset({
    name: opts.name ?? 'image-folder',
    split: opts.split,
    files,
    labels: Int32Array.from(labels),
    classNames,
    shape: [size[0], size[1], channels],
    source: path.resolve(root),
    resizeMode: opts.resizeMode ?? 'bilinear',
    sizeMismatch: 'resize',
    memoryBudgetMB: opts.memoryBudgetMB ?? 1024,
  });
}
