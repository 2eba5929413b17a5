/**
 * The contract between data sets, the loader and the trainer.
 *
 * Samples are NHWC: one sample is `[H, W, C]` float32 in the data set's raw scale (0..255 for
 * images, event counts for DVS frames); the loader normalises and augments.
 */

/** A labelled data split held or streamed by a reader. */
export interface Dataset {
  /** Data-set name, e.g. `fashion-mnist`. */
  readonly name: string;
  /** Which split. */
  readonly split: 'train' | 'test';
  /** Number of samples. */
  readonly count: number;
  /** Shape of one sample, `[H, W, C]`. */
  readonly shape: readonly [number, number, number];
  /** Number of classes. */
  readonly classes: number;
  /** Class names, `classes` long. */
  readonly classNames: readonly string[];
  /** Label of every sample, `count` long, values in `0..classes-1`. */
  readonly labels: Int32Array;
  /** Where the data came from (a path or `embedded`), for reports. */
  readonly source: string;
  /**
   * Writes sample `i` (`H*W*C` floats, raw scale) into `out` at `offset`.
   * May be asynchronous for data sets decoded on demand.
   */
  read(i: number, out: Float32Array, offset: number): void | Promise<void>;
}

/** A batch ready for the model. */
export interface Batch {
  /** `[size, H, W, C]` normalised (and augmented when training). */
  readonly x: Float32Array;
  /** `[size]` labels. */
  readonly y: Int32Array;
  /** Samples in this batch (the last batch may be short). */
  readonly size: number;
  /** Sample shape `[H, W, C]`. */
  readonly shape: readonly [number, number, number];
  /**
   * This batch's share of its global batch in data-parallel training (`n_r / R`, see
   * `src/lib/data/sampler.ts`); 1 in a single process. Absent means 1.
   */
  readonly weight?: number;
}

/** Per-channel normalisation, `x' = (x / scale - mean[c]) / std[c]`. */
export interface Normalization {
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/**
 * The end of a reader's error when a strict reader finds fewer files or images than the official
 * counts: how to accept a subset, as the `stcsnn` flag (`train`, `data info`, `data verify`) and
 * as the readers' option.
 */
export const SUBSET_HINT = '(--subset accepts a subset; the option strict: false in the API)';

/** A bad data file or directory; the message names the file (and byte offset where it applies). */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
