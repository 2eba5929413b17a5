/**
 * Images as network input for prediction: PNG or JPEG bytes -> `[H, W, C]` float32, resized and
 * normalised as in training.
 *
 * Steps: decode (pngjs / jpeg-js, to RGB), resize to the model's `H x W` (bilinear, half-pixel
 * centres), convert to the model's channels (3: RGB; 1: BT.601 luminance
 * `0.299 R + 0.587 G + 0.114 B`), round to integers 0..255 (as the image readers store
 * samples), then normalise `x' = (x / scale - mean[c]) / std[c]` with the data loader's code.
 *
 * The image's own channel count (1 for greyscale PNG/JPEG, 3 for colour; alpha ignored) need
 * not equal the model's: a colour image for a greyscale model becomes its BT.601 luminance
 * ({@link LUMA}, as the image-folder reader's `channels: 1`), a greyscale image for a colour
 * model three equal channels; `onConvert` is told (the CLI says so once).
 */
import { DataError, type Normalization } from '../data/types.js';
import { decodeImage, sniffImage } from '../data/readers/image.js';
import { LUMA, toShape } from '../data/readers/image-files.js';
import { normalizeInPlace } from '../data/normalize.js';

/** A conversion of an image's channels to a model's. */
export type ChannelConversion = 'colour-to-grey' | 'grey-to-colour';

/** One line describing a conversion, for the user. */
export function conversionText(c: ChannelConversion): string {
  return c === 'colour-to-grey'
    ? `colour images are converted to greyscale for this 1-channel model (BT.601 luminance ${LUMA[0]} R + ${LUMA[1]} G + ${LUMA[2]} B, as the image-folder reader)`
    : 'greyscale images are given to this 3-channel model as three equal channels';
}

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
 * @param onConvert called when the image's channels are converted to the model's (1 <-> 3)
 * @throws DataError naming `file` for an unreadable image, or a model whose input is not 1 or 3 channels
 */
export function imageToInput(
  buf: Uint8Array,
  file: string,
  inputShape: readonly [number, number, number],
  normalization: Normalization | undefined,
  onConvert?: (conversion: ChannelConversion) => void,
): Float32Array {
  const [h, w, c] = inputShape;
  if (c !== 1 && c !== 3) {
    throw new DataError(
      `${file}: the model takes ${c}-channel input (not an image model); images give 1 or 3 channels`,
    );
  }
  const have = declaredChannels(buf, file);
  // decodeImage gives RGB (greyscale expanded to three equal channels); toShape takes the
  // luminance for one channel
  const img = decodeImage(buf, file);
  if (have !== c) onConvert?.(have === 3 ? 'colour-to-grey' : 'grey-to-colour');
  const bytes = toShape(img, [h, w, c], 'bilinear');
  const x = Float32Array.from(bytes);
  if (normalization) normalizeInPlace(x, c, normalization);
  return x;
}
