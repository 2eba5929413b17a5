/**
 * Image decoding (PNG with pngjs, JPEG with jpeg-js) and resizing for the image readers.
 *
 * Decoded images are HWC `Uint8Array`s with 3 channels (RGB): greyscale is expanded to three equal
 * channels, alpha is dropped (not composited), palette and 16-bit PNGs are converted to 8-bit RGB.
 * The format is told by the file's first bytes, not its name.
 */
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { IMAGE_LIMITS } from '../../core/limits.js';
import { DataError } from '../types.js';

/** A decoded image: `data` is `[height, width, 3]` RGB, row-major. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** `png`, `jpeg` or null, from the file's signature. */
export function sniffImage(buf: Uint8Array): 'png' | 'jpeg' | null {
  if (buf.length >= 8 && PNG_SIG.every((b, i) => buf[i] === b)) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  return null;
}

/** Largest image accepted, in pixels (guards against decompression bombs; `IMAGE_LIMITS.maxPixels`). */
export const MAX_IMAGE_PIXELS = IMAGE_LIMITS.maxPixels;

/** Samples per pixel of PNG colour types (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA). */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** What a PNG or JPEG header says, read before anything is decoded. */
export interface ImageHeader {
  readonly kind: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
  /**
   * Samples per pixel in the file: PNG 1 (grey, palette), 2 (grey and alpha), 3 (RGB), 4
   * (RGBA); JPEG its components (1 grey, 3 colour, 4 CMYK).
   */
  readonly components: number;
  /** Bits per sample (PNG 1 to 16, JPEG 8 or 12). */
  readonly depth: number;
  /** Where the header ends (JPEG: its frame header), for the checks against the file's length. */
  readonly at: number;
}

/**
 * Reads the size, components and depth of a PNG (its IHDR chunk) or JPEG (its frame header,
 * SOFn) without decoding anything.
 * @throws DataError naming `file` when the bytes are not a PNG or JPEG, or have no header
 */
export function readImageHeader(buf: Uint8Array, file: string): ImageHeader {
  const kind = sniffImage(buf);
  if (kind === null) throw new DataError(`${file}: not a PNG or JPEG file (byte 0: unknown signature)`);
  if (kind === 'png') {
    // signature (8), length (4), "IHDR" (4), width, height (8), depth (1), colour type (1)
    if (buf.length < 26) throw new DataError(`${file}: corrupt or truncated PNG (the header is cut short)`);
    if (String.fromCharCode(buf[12], buf[13], buf[14], buf[15]) !== 'IHDR')
      throw new DataError(`${file}: corrupt or truncated PNG (the first chunk is not IHDR)`);
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return {
      kind,
      width: v.getUint32(16),
      height: v.getUint32(20),
      components: PNG_CHANNELS[buf[25]] ?? 1,
      depth: buf[24],
      at: 33,
    };
  }
  // walk the markers to the frame header: length (2), precision (1), height (2), width (2), Nf
  for (let at = 2; at + 9 < buf.length;) {
    if (buf[at] !== 0xff) throw new DataError(`${file}: corrupt or truncated JPEG (no marker at byte ${at})`);
    const marker = buf[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // scan data or end before a frame
    const len = (buf[at + 2] << 8) | buf[at + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return {
        kind,
        width: (buf[at + 7] << 8) | buf[at + 8],
        height: (buf[at + 5] << 8) | buf[at + 6],
        components: buf[at + 9],
        depth: buf[at + 4],
        at: at + 10,
      };
    }
    if (len < 2)
      throw new DataError(`${file}: corrupt or truncated JPEG (a segment of length ${len} at byte ${at})`);
    at += 2 + len;
  }
  throw new DataError(`${file}: corrupt or truncated JPEG (no frame header)`);
}

/**
 * What the decoder holds while it decodes an image with header `h`, in bytes: width x height x
 * samples per pixel x bytes per sample (PNG: pngjs decodes to RGBA, 1 byte a sample or 2 for
 * 16-bit; JPEG: jpeg-js keeps an int32 per sample in a typed array per 8x8 block, counted as 6
 * bytes with the array's own cost). See `IMAGE_LIMITS` (`core/limits.ts`).
 */
export function decodeBytes(h: ImageHeader): number {
  return h.kind === 'png'
    ? h.width * h.height * 4 * (h.depth > 8 ? 2 : 1)
    : h.width * h.height * Math.max(1, h.components) * 6;
}

const MIB = 2 ** 20;

/**
 * Why an image with header `h` cannot be decoded, checked before the decoder allocates
 * anything: a size over {@link MAX_IMAGE_PIXELS}, a decode over `IMAGE_LIMITS.maxDecodeBytes`
 * ({@link decodeBytes}), or compressed data too short to hold the declared pixels (PNG: deflate
 * expands at most 1032:1; JPEG: every 8x8 block takes at least one bit). Null when it may be
 * fine (the decoder checks the rest).
 */
export function imageHeaderProblem(buf: Uint8Array, h: ImageHeader): string | null {
  const { width: w, height: ht } = h;
  if (w * ht > MAX_IMAGE_PIXELS) return `bad image size ${w}x${ht} (header)`;
  const cost = decodeBytes(h);
  if (cost > IMAGE_LIMITS.maxDecodeBytes) {
    const what = `${h.kind === 'png' ? `${h.depth}-bit PNG` : `${h.components}-component JPEG`}`;
    return `a ${w}x${ht} ${what} needs ${Math.ceil(cost / MIB)} MiB to decode, over the ${IMAGE_LIMITS.maxDecodeBytes / MIB} MiB limit (IMAGE_LIMITS.maxDecodeBytes) (header)`;
  }
  if (h.kind === 'png') {
    if (buf.length < 33) return null; // pngjs reports the truncation
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const bits = Math.max(1, h.components * h.depth);
    const raw = ht * (1 + Math.ceil((w * bits) / 8));
    let idat = 0;
    for (let at = 8; at + 8 <= buf.length;) {
      const len = v.getUint32(at);
      if (buf[at + 4] === 0x49 && buf[at + 5] === 0x44 && buf[at + 6] === 0x41 && buf[at + 7] === 0x54)
        idat += len;
      at += 12 + len;
    }
    if (idat * 1032 < raw) return `image data (${idat} bytes) too short for ${w}x${ht} pixels (header)`;
    return null;
  }
  const blocks = Math.ceil(w / 8) * Math.ceil(ht / 8);
  if (buf.length * 8 < blocks) return `${buf.length} bytes are too short for ${w}x${ht} pixels (header)`;
  return null;
}

/**
 * Reads and checks an image's header ({@link readImageHeader}, {@link imageHeaderProblem}):
 * what decoding it will cost is known, and refused when too much, before it starts.
 * @throws DataError naming `file`
 */
export function checkImageHeader(buf: Uint8Array, file: string): ImageHeader {
  const h = readImageHeader(buf, file);
  const problem = imageHeaderProblem(buf, h);
  if (problem) throw new DataError(`${file}: ${problem}`);
  return h;
}

/**
 * Decodes a PNG or JPEG file's bytes into RGB.
 * @param file the file name, for error messages
 * @throws DataError naming `file` when the bytes are not a decodable PNG or JPEG
 */
export function decodeImage(buf: Uint8Array, file: string): RgbImage {
  const { kind } = checkImageHeader(buf, file);
  let width: number;
  let height: number;
  let rgba: Uint8Array;
  let stride: number;
  try {
    if (kind === 'png') {
      const png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      width = png.width;
      height = png.height;
      rgba = png.data;
      stride = 4;
    } else {
      const img = jpeg.decode(buf, {
        useTArray: true,
        formatAsRGBA: false,
        tolerantDecoding: false,
        maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
        maxMemoryUsageInMB: (2 * IMAGE_LIMITS.maxDecodeBytes) / MIB,
      });
      width = img.width;
      height = img.height;
      rgba = img.data;
      stride = 3;
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new DataError(`${file}: corrupt or truncated ${kind.toUpperCase()} (${msg.split('\n')[0]})`);
  }
  if (!(width > 0 && height > 0) || width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(`${file}: bad image size ${width}x${height}`);
  }
  if (rgba.length < width * height * stride) {
    throw new DataError(`${file}: decoded ${rgba.length} bytes, expected ${width * height * stride}`);
  }
  if (stride === 3) return { width, height, data: rgba.subarray(0, width * height * 3) };
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < width * height; p++, q += 4) {
    data[p * 3] = rgba[q];
    data[p * 3 + 1] = rgba[q + 1];
    data[p * 3 + 2] = rgba[q + 2];
  }
  return { width, height, data };
}

/**
 * How images and frames are resized.
 * - `bilinear`: half-pixel centres, no antialiasing (PyTorch `interpolate(mode='bilinear',
 *   align_corners=False)`, TF `resize(method='bilinear')` without `antialias`).
 * - `area`: every output pixel is the mean of the input area it covers, partial pixels weighted
 *   by their overlap (PyTorch `mode='area'` for integer factors, and OpenCV `INTER_AREA` when
 *   shrinking); keeps the mean, so it suits event counts.
 */
export type ResizeMode = 'bilinear' | 'area';

/** Per output index, the source indices and weights along one axis. */
function axisWeights(src: number, dst: number, mode: ResizeMode): { idx: Int32Array; w: Float32Array }[] {
  const out: { idx: Int32Array; w: Float32Array }[] = [];
  const scale = src / dst;
  for (let o = 0; o < dst; o++) {
    if (mode === 'bilinear') {
      let s = (o + 0.5) * scale - 0.5;
      if (s < 0) s = 0;
      let i0 = Math.floor(s);
      if (i0 > src - 1) i0 = src - 1;
      const i1 = Math.min(i0 + 1, src - 1);
      const l = s - i0;
      out.push({ idx: Int32Array.of(i0, i1), w: Float32Array.of(1 - l, l) });
    } else {
      const a = o * scale;
      const b = (o + 1) * scale;
      const idx: number[] = [];
      const w: number[] = [];
      for (let i = Math.floor(a); i < Math.min(Math.ceil(b), src); i++) {
        const overlap = Math.min(b, i + 1) - Math.max(a, i);
        if (overlap > 1e-9) {
          idx.push(i);
          w.push(overlap / scale);
        }
      }
      out.push({ idx: Int32Array.from(idx), w: Float32Array.from(w) });
    }
  }
  return out;
}

/**
 * Resizes an HWC image (any channel count) to `[oh, ow, c]`, separably (rows, then columns).
 * Returns a copy as float32 even when the size does not change.
 */
export function resizeHwc(
  src: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  mode: ResizeMode,
): Float32Array {
  if (oh === h && ow === w) return Float32Array.from(src as ArrayLike<number>);
  const wy = axisWeights(h, oh, mode);
  const wx = axisWeights(w, ow, mode);
  // Vertical pass: [oh, w, c].
  const mid = new Float32Array(oh * w * c);
  const rowLen = w * c;
  for (let oy = 0; oy < oh; oy++) {
    const { idx, w: wt } = wy[oy];
    const dst = oy * rowLen;
    for (let k = 0; k < idx.length; k++) {
      const s = idx[k] * rowLen;
      const f = wt[k];
      for (let j = 0; j < rowLen; j++) mid[dst + j] += f * src[s + j];
    }
  }
  // Horizontal pass: [oh, ow, c].
  const out = new Float32Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const { idx, w: wt } = wx[ox];
      const dst = (oy * ow + ox) * c;
      for (let k = 0; k < idx.length; k++) {
        const s = (oy * w + idx[k]) * c;
        const f = wt[k];
        for (let ch = 0; ch < c; ch++) out[dst + ch] += f * mid[s + ch];
      }
    }
  }
  return out;
}
