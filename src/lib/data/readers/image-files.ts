/**
 * A data set of encoded image files (PNG/JPEG) decoded on demand: the shared core of the image
 * folder and TinyImageNet readers.
 *
 * Every read decodes the file (pngjs / jpeg-js), converts it to `channels` channels (grey expanded
 * to RGB, alpha dropped; or BT.601 luminance for 1 channel), resizes it to the data set's shape
 * when its size differs (or refuses it, per `sizeMismatch`), rounds to integers 0..255 and keeps
 * the result, as bytes, in a least-recently-used cache bounded by `memoryBudgetMB`. With a budget
 * at least `count * H * W * C` bytes every image is decoded once; with less, memory stays bounded
 * and evicted images are decoded again.
 */
import { DataError, type Dataset } from '../types.js';
import { IMAGE_LIMITS } from '../../core/limits.js';
import { resizeHwc, type ResizeMode, type RgbImage } from './image.js';
import { decodeImageAsync } from './image-decode.js';
import { ByteLru, checkIndex, readFileAsync } from './util.js';

/** Settings of an {@link ImageFilesDataset}. */
export interface ImageFilesSpec {
  readonly name: string;
  readonly split: 'train' | 'test';
  /** The image file of every sample. */
  readonly files: readonly string[];
  /** The label of every sample. */
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  /** `[H, W, C]` with C 1 or 3. */
  readonly shape: readonly [number, number, number];
  readonly source: string;
  /** What to do with an image of another size: resize it (default) or throw a DataError. */
  readonly sizeMismatch?: 'resize' | 'error';
  /** How to resize; default `bilinear`. */
  readonly resizeMode?: ResizeMode;
  /** Decoded-image cache budget in MiB. */
  readonly memoryBudgetMB: number;
}

/** ITU-R BT.601 luminance weights of R, G, B: the luminance of `channels: 1` images. */
export const LUMA = [0.299, 0.587, 0.114] as const;

/** Converts a decoded image to the shape `[h, w, c]` as rounded bytes. */
export function toShape(
  img: RgbImage,
  shape: readonly [number, number, number],
  mode: ResizeMode,
): Uint8Array {
  const [h, w, c] = shape;
  const rgb =
    img.height === h && img.width === w
      ? img.data
      : resizeHwc(img.data, img.height, img.width, 3, h, w, mode);
  if (c === 3 && rgb instanceof Uint8Array) return Uint8Array.from(rgb);
  const out = new Uint8Array(h * w * c);
  const clampRound = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));
  if (c === 3) for (let k = 0; k < out.length; k++) out[k] = clampRound(rgb[k]);
  else
    for (let p = 0; p < h * w; p++)
      out[p] = clampRound(LUMA[0] * rgb[p * 3] + LUMA[1] * rgb[p * 3 + 1] + LUMA[2] * rgb[p * 3 + 2]);
  return out;
}

/** See the module doc; `read` is async. */
export class ImageFilesDataset implements Dataset {
  readonly name: string;
  readonly split: 'train' | 'test';
  readonly count: number;
  readonly shape: readonly [number, number, number];
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  readonly source: string;
  /** The image file of every sample. */
  readonly files: readonly string[];
  /** Images decoded so far (cache misses), for reports and tests. */
  decoded = 0;
  private readonly cache: ByteLru<Uint8Array>;
  private readonly spec: ImageFilesSpec;

  constructor(spec: ImageFilesSpec) {
    if (spec.files.length !== spec.labels.length)
      throw new Error(`${spec.name}: files and labels differ in length`);
    if (spec.shape[2] !== 1 && spec.shape[2] !== 3)
      throw new DataError(`${spec.name}: channels must be 1 or 3`);
    this.spec = spec;
    this.name = spec.name;
    this.split = spec.split;
    this.count = spec.files.length;
    this.shape = spec.shape;
    this.classNames = spec.classNames;
    this.labels = spec.labels;
    this.source = spec.source;
    this.files = spec.files;
    this.cache = new ByteLru<Uint8Array>(Math.max(0, spec.memoryBudgetMB) * 1024 * 1024);
  }

  get classes(): number {
    return this.classNames.length;
  }

  /** The sample's bytes `[H, W, C]`, decoding the file on a cache miss. */
  async bytes(i: number): Promise<Uint8Array> {
    checkIndex(i, this.count, this.name);
    const hit = this.cache.get(i);
    if (hit !== undefined) return hit;
    const file = this.files[i];
    // a regular file of at most 256 MiB; its header checked against the caps before decoding,
    // and a large image decoded on a worker thread (signals are handled meanwhile)
    const img = await decodeImageAsync(await readFileAsync(file, IMAGE_LIMITS.maxFileBytes, 'image'), file);
    const [h, w] = this.shape;
    if ((img.height !== h || img.width !== w) && this.spec.sizeMismatch === 'error') {
      throw new DataError(`${file}: image is ${img.width}x${img.height}, expected ${w}x${h}`);
    }
    const data = toShape(img, this.shape, this.spec.resizeMode ?? 'bilinear');
    this.decoded++;
    this.cache.set(i, data);
    return data;
  }

  async read(i: number, out: Float32Array, offset: number): Promise<void> {
    const data = await this.bytes(i);
    for (let k = 0; k < data.length; k++) out[offset + k] = data[k];
  }
}
