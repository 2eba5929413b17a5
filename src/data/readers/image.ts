/**
 * Image decoding (PNG with pngjs, JPEG with jpeg-js) and resizing for the image readers.
 *
 * Decoded images are HWC `Uint8Array`s with 3 channels (RGB): greyscale is expanded to three equal
 * channels, alpha is dropped (not composited), palette and 16-bit PNGs are converted to 8-bit RGB.
 * The format is told by the file's first bytes, not its name.
 */
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
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

/** Largest image accepted, in pixels (guards against decompression bombs). */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

/**
 * Decodes a PNG or JPEG file's bytes into RGB.
 * @param file the file name, for error messages
 * @throws DataError naming `file` when the bytes are not a decodable PNG or JPEG
 */
export function decodeImage(buf: Uint8Array, file: string): RgbImage {
  const kind = sniffImage(buf);
  if (kind === null) throw new DataError(`${file}: not a PNG or JPEG file (byte 0: unknown signature)`);
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
        maxMemoryUsageInMB: 1024,
      });
      width = img.width;
      height = img.height;
      rgba = img.data;
      stride = 3;
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new DataError(`${file}: unreadable ${kind.toUpperCase()} (${msg.split('\n')[0]})`);
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
