/**
 * The size limits of inputs, in one place: what a model's input may be (checked when a run is
 * made, from its data set's shape, and when a model is loaded, from its description, so that
 * every run that can be made can be loaded), and what an image may cost to decode (checked from
 * the PNG or JPEG header before any pixel is decoded). Browser-safe (numbers only).
 */

/**
 * A model's input `[H, W, C]`: sides at most 4096, at most 1024 channels, at most 2^26 values.
 * `MODEL_LIMITS` (`interop/model-codec.ts`) holds these and the limits of the rest of a model.
 */
export const INPUT_LIMITS = {
  maxSide: 4096,
  maxChannels: 1024,
  maxInputValues: 2 ** 26,
} as const;

/**
 * Why an input of shape `[h, w, c]` exceeds {@link INPUT_LIMITS} (`input 4100x32 exceeds
 * 4096x4096`), or null.
 */
export function inputShapeProblem(shape: readonly [number, number, number]): string | null {
  const L = INPUT_LIMITS;
  const [h, w, c] = shape;
  if (h > L.maxSide || w > L.maxSide) return `input ${h}x${w} exceeds ${L.maxSide}x${L.maxSide}`;
  if (c > L.maxChannels) return `${c} input channels exceed ${L.maxChannels}`;
  if (h * w * c > L.maxInputValues) return `input [${shape.join(',')}] exceeds ${L.maxInputValues} values`;
  return null;
}

/**
 * Images (PNG, JPEG) read as data or as input to `predict`:
 * - `maxFileBytes`: the file itself, 256 MiB (read only when it is a regular file that small);
 * - `maxPixels`: width x height, 64 Mi;
 * - `maxDecodeBytes`: what the decoder holds while it decodes, from the header: width x height
 *   x the decoder's samples per pixel x its bytes per sample (PNG: 4 samples, RGBA, of 1 byte,
 *   2 for 16-bit PNGs; JPEG: one sample per component of 6 bytes, jpeg-js keeping an int32
 *   coefficient per sample in a typed array per 8x8 block), at most 256 MiB. The whole decode
 *   takes about twice that at its peak (the compressed data inflated, the RGB result).
 * So an 8192x8192 8-bit PNG (256 MiB) or a 12-megapixel colour JPEG (206 MiB) is decoded, a
 * 16-bit 8192x8192 PNG (512 MiB) or an 8000x8000 colour JPEG (1.1 GiB) is refused before
 * decoding. Images over 4 MiB of decoder memory are decoded on a worker thread, so that the
 * process keeps answering signals (SIGTERM, Ctrl-C) while one decodes.
 */
export const IMAGE_LIMITS = {
  maxFileBytes: 256 * 2 ** 20,
  maxPixels: 64 * 2 ** 20,
  maxDecodeBytes: 256 * 2 ** 20,
} as const;
