/**
 * Images as network input for prediction: PNG or JPEG bytes -> `[H, W, C]` float32, resized and
 * normalised as in training.
 *
 * Steps: decode (pngjs / jpeg-js, to RGB), resize to the model's `H x W` (bilinear, half-pixel
 * centres), convert to the model's channels (3: RGB; 1: BT.601 luminance
 * `0.299 R + 0.587 G + 0.114 B`), round to integers 0..255 (as the image readers store
 * samples), then normalise `x' = (x / scale - mean[c]) / std[c]` with the data loader's code.
 *
 * The image's own channel count (1 for greyscale PNG/JPEG, 3 for colour; alpha ignored) must
 * equal the model's: a colour image for a greyscale model, or the reverse, is refused rather
 * than silently converted.
 */
import { DataError, type Normalization } from '../data/types.js';
import { decodeImage, sniffImage } from '../data/readers/image.js';
import { toShape } from '../data/readers/image-files.js';
import { normalizeInPlace } from '../data/normalize.js';

/** The channel count an image file declares: 1 (greyscale) or 3 (colour); alpha is not counted. */
export function declaredChannels(buf: Uint8Array, file: string): 1 | 3 {
  const kind = sniffImage(buf);
  if (kind === 'png') {
    // IHDR is the first chunk: signature (8), length (4), "IHDR" (4), width, height (8), depth (1), colour type.
    if (buf.length < 26) throw new DataError(`${file}: truncated PNG header`);
    const colourType = buf[25];
    return colourType === 0 || colourType === 4 ? 1 : 3;
  }
  if (kind === 'jpeg') {
    // Walk the markers to the frame header (SOFn): length (2), precision (1), height (2), width (2), Nf.
    let p = 2;
    while (p + 9 < buf.length) {
      if (buf[p] !== 0xff) throw new DataError(`${file}: corrupt JPEG marker at byte ${p}`);
      const m = buf[p + 1];
      if (m === 0xff) {
        p++;
        continue;
      }
      const len = (buf[p + 2] << 8) | buf[p + 3];
      const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
      if (isSof) return buf[p + 9] === 1 ? 1 : 3;
      if (len < 2) throw new DataError(`${file}: corrupt JPEG segment at byte ${p}`);
      p += 2 + len;
    }
    throw new DataError(`${file}: JPEG without a frame header`);
  }
  throw new DataError(`${file}: not a PNG or JPEG file`);
}

/**
 * Decodes and prepares one image for a model with input `[H, W, C]`.
 * @returns `[H, W, C]` float32, normalised when `normalization` is given (else 0..255)
 * @throws DataError naming `file` for an unreadable image or one whose channel count is not C
 */
export function imageToInput(
  buf: Uint8Array,
  file: string,
  inputShape: readonly [number, number, number],
  normalization: Normalization | undefined,
): Float32Array {
  const [h, w, c] = inputShape;
  if (c !== 1 && c !== 3) {
    throw new DataError(
      `${file}: the model takes ${c}-channel input (not an image model); images give 1 or 3 channels`,
    );
  }
  const have = declaredChannels(buf, file);
  if (have !== c) {
    const name = (k: number) => (k === 1 ? 'greyscale' : 'colour');
    throw new DataError(
      `${file}: ${have}-channel (${name(have)}) image but the model expects ${c} channel${c === 1 ? '' : 's'} (${name(c)}); convert it first`,
    );
  }
  const img = decodeImage(buf, file);
  const bytes = toShape(img, [h, w, c], 'bilinear');
  const x = Float32Array.from(bytes);
  if (normalization) normalizeInPlace(x, c, normalization);
  return x;
}
