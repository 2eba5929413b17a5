/**
 * TinyImageNet (the `tiny-imagenet-200/` folder of the official zip, extracted): 200 classes of
 * 64x64 JPEGs, 500 train images per class and 50 labelled validation images per class, which
 * serve as the test split (the official `test/` images are unlabelled and are not read).
 *
 * Layout (`dataDir` is `tiny-imagenet-200/` or the folder holding it):
 * - `wnids.txt`: the class WordNet ids, one a line; their order is the label order;
 * - `words.txt` (optional): `<wnid>\t<names>` lines; a class's name is its first comma-separated
 *   name (the wnid when absent);
 * - `train/<wnid>/images/*.JPEG`;
 * - `val/images/*.JPEG` and `val/val_annotations.txt`: `<file>\t<wnid>\t<x0>\t<y0>\t<x1>\t<y1>` lines.
 * Checked at open: every class has a train folder with images, no train folder is unknown, every
 * annotation names a known class and an existing file, every validation image is annotated
 * (errors name the file, and for annotations the line and byte offset), and, unless
 * `strict: false`, the official counts (200 classes, 500 train and 50 validation images each).
 * Images must be 64x64
 * (grey JPEGs are expanded to RGB); another size is an error when read.
 *
 * Samples `[64, 64, 3]`, 0..255, decoded on demand (jpeg-js) and kept in a bounded cache of
 * `memoryBudgetMB` (default 2048 MiB: the decoded train split, 1.2 GiB, fits, so each image is
 * decoded once; a smaller budget bounds memory and decodes evicted images again).
 */
import * as path from 'node:path';
import { DataError, SUBSET_HINT } from '../types.js';
import { ImageFilesDataset } from './image-files.js';
import { direntIsFile, isDir, isFile, listDirSorted, readFileOrThrow, readNameList } from './util.js';

/** Options of {@link openTinyImageNet}. */
export interface TinyImageNetOptions {
  /** `tiny-imagenet-200/` or the folder holding it. */
  readonly dataDir: string;
  /** `train`, or `test` = the labelled `val/` images. */
  readonly split: 'train' | 'test';
  /** Decoded-image cache budget in MiB; default 2048. */
  readonly memoryBudgetMB?: number;
  /**
   * Require the official counts (default true): 200 classes, 500 train images per class, 50
   * validation images per class. `false` accepts a subset in the same layout.
   */
  readonly strict?: boolean;
}

const JPEG_EXT = /\.jpe?g$/i;

/** Finds the `tiny-imagenet-200/` folder. */
export function findTinyImageNet(dataDir: string): string | null {
  for (const cand of [dataDir, path.join(dataDir, 'tiny-imagenet-200')]) {
    if (isFile(path.join(cand, 'wnids.txt'))) return cand;
  }
  return null;
}

/** Class names from `words.txt` (first name of each wnid), falling back to the wnid. */
function classNames(root: string, wnids: readonly string[]): string[] {
  const words = path.join(root, 'words.txt');
  if (!isFile(words)) return [...wnids];
  const map = new Map<string, string>();
  const wanted = new Set(wnids);
  for (const line of readFileOrThrow(words).toString('utf8').split(/\r?\n/)) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const id = line.slice(0, tab).trim();
    if (wanted.has(id))
      map.set(
        id,
        line
          .slice(tab + 1)
          .split(',')[0]
          .trim() || id,
      );
  }
  return wnids.map((w) => map.get(w) ?? w);
}

function jpegsIn(dir: string): string[] {
  return listDirSorted(dir)
    .filter((f) => JPEG_EXT.test(f.name) && direntIsFile(dir, f))
    .map((f) => path.join(dir, f.name));
}

/** Reads `val/val_annotations.txt`: file name -> label. */
function readValAnnotations(file: string, index: ReadonlyMap<string, number>): Map<string, number> {
  const buf = readFileOrThrow(file);
  const text = buf.toString('latin1');
  const out = new Map<string, number>();
  let offset = 0;
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k];
    const line = raw.replace(/\r$/, '');
    const at = offset;
    offset += raw.length + 1;
    if (line.trim() === '') continue;
    const cols = line.split('\t');
    if (cols.length < 2 || cols[0] === '') {
      throw new DataError(`${file}: line ${k + 1} (byte ${at}): expected '<file>\\t<wnid>\\t...'`);
    }
    const label = index.get(cols[1]);
    if (label === undefined)
      throw new DataError(`${file}: line ${k + 1} (byte ${at}): unknown class '${cols[1]}'`);
    if (cols[0].includes('/') || cols[0].includes('\\') || cols[0] === '..') {
      throw new DataError(`${file}: line ${k + 1} (byte ${at}): bad file name '${cols[0]}'`);
    }
    if (out.has(cols[0]))
      throw new DataError(`${file}: line ${k + 1} (byte ${at}): '${cols[0]}' annotated twice`);
    out.set(cols[0], label);
  }
  return out;
}

/** Opens a TinyImageNet split (see the module doc). */
export async function openTinyImageNet(opts: TinyImageNetOptions): Promise<ImageFilesDataset> {
  const root = findTinyImageNet(opts.dataDir);
  if (root === null) {
    throw new DataError(
      `${opts.dataDir}: no TinyImageNet data (expected tiny-imagenet-200/wnids.txt; unzip tiny-imagenet-200.zip here)`,
    );
  }
  const wnids = readNameList(path.join(root, 'wnids.txt'));
  if (wnids.length === 0) throw new DataError(`${path.join(root, 'wnids.txt')}: no class ids`);
  const index = new Map<string, number>();
  wnids.forEach((w, i) => {
    if (index.has(w)) throw new DataError(`${path.join(root, 'wnids.txt')}: class '${w}' listed twice`);
    index.set(w, i);
  });
  const strict = opts.strict !== false;
  const subsetHint = SUBSET_HINT;
  if (strict && wnids.length !== 200) {
    throw new DataError(
      `${path.join(root, 'wnids.txt')}: ${wnids.length} classes, expected the official 200 ${subsetHint}`,
    );
  }
  const files: string[] = [];
  const labels: number[] = [];
  if (opts.split === 'train') {
    const trainDir = path.join(root, 'train');
    if (!isDir(trainDir)) throw new DataError(`${trainDir}: no such folder`);
    for (const d of listDirSorted(trainDir)) {
      if (!d.name.startsWith('.') && isDir(path.join(trainDir, d.name)) && !index.has(d.name)) {
        throw new DataError(`${path.join(trainDir, d.name)}: class not in wnids.txt`);
      }
    }
    wnids.forEach((w, label) => {
      const dir = path.join(trainDir, w, 'images');
      if (!isDir(dir)) throw new DataError(`${dir}: missing class folder`);
      const list = jpegsIn(dir);
      if (list.length === 0) throw new DataError(`${dir}: class folder without images`);
      if (strict && list.length !== 500) {
        throw new DataError(`${dir}: ${list.length} images, expected the official 500 ${subsetHint}`);
      }
      for (const f of list) {
        files.push(f);
        labels.push(label);
      }
    });
  } else {
    const valDir = path.join(root, 'val');
    const imgDir = path.join(valDir, 'images');
    if (!isDir(imgDir)) throw new DataError(`${imgDir}: no such folder`);
    const annFile = path.join(valDir, 'val_annotations.txt');
    const ann = readValAnnotations(annFile, index);
    const images = jpegsIn(imgDir);
    const present = new Set(images.map((f) => path.basename(f)));
    for (const name of ann.keys()) {
      if (!present.has(name))
        throw new DataError(`${path.join(imgDir, name)}: annotated in ${annFile} but missing`);
    }
    for (const f of images) {
      const label = ann.get(path.basename(f));
      if (label === undefined) throw new DataError(`${f}: not annotated in ${annFile}`);
      files.push(f);
      labels.push(label);
    }
    if (files.length === 0) throw new DataError(`${imgDir}: no images`);
    if (strict) {
      const per = new Array<number>(wnids.length).fill(0);
      for (const l of labels) per[l]++;
      const bad = per.findIndex((n) => n !== 50);
      if (bad >= 0) {
        throw new DataError(
          `${annFile}: ${per[bad]} images of class ${wnids[bad]}, expected the official 50 ${subsetHint}`,
        );
      }
    }
  }
  return new ImageFilesDataset({
    name: 'tinyimagenet',
    split: opts.split,
    files,
    labels: Int32Array.from(labels),
    classNames: classNames(root, wnids),
    shape: [64, 64, 3],
    source: path.resolve(root),
    sizeMismatch: 'error',
    memoryBudgetMB: opts.memoryBudgetMB ?? 2048,
  });
}
