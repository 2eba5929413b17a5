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

/** Bits per pixel of PNG colour types (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA) at depth 1. */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Why a PNG's header cannot be right, checked before pngjs allocates `width x height x 4` bytes:
 * a size over {@link MAX_IMAGE_PIXELS}, or compressed image data too short to hold the declared
 * pixels (deflate expands at most 1032:1). Null when it may be fine (pngjs checks the rest).
 */
function pngHeaderProblem(buf: Uint8Array): string | null {
  if (buf.length < 33) return null; // pngjs reports the truncation
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const w = v.getUint32(16);
  const h = v.getUint32(20);
  if (w * h > MAX_IMAGE_PIXELS) return `bad image size ${w}x${h} (header)`;
  const bits = Math.max(1, (PNG_CHANNELS[buf[25]] ?? 1) * buf[24]);
  const raw = h * (1 + Math.ceil((w * bits) / 8));
  let idat = 0;
  for (let at = 8; at + 8 <= buf.length;) {
    const len = v.getUint32(at);
    if (buf[at + 4] === 0x49 && buf[at + 5] === 0x44 && buf[at + 6] === 0x41 && buf[at + 7] === 0x54)
      idat += len;
    at += 12 + len;
  }
  if (idat * 1032 < raw) return `image data (${idat} bytes) too short for ${w}x${h} pixels (header)`;
  return null;
}

/**
 * Why a JPEG's frame header cannot be right, checked before jpeg-js allocates its planes: a
 * size over {@link MAX_IMAGE_PIXELS}, or a file too short for the declared size (every 8x8 block
 * takes at least one bit). Null when it may be fine (jpeg-js checks the rest).
 */
function jpegHeaderProblem(buf: Uint8Array): string | null {
  for (let at = 2; at + 9 <= buf.length;) {
    if (buf[at] !== 0xff) return null; // jpeg-js reports the damage
    const marker = buf[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan data or end before a frame
    const len = (buf[at + 2] << 8) | buf[at + 3];
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const h = (buf[at + 5] << 8) | buf[at + 6];
      const w = (buf[at + 7] << 8) | buf[at + 8];
      if (w * h > MAX_IMAGE_PIXELS) return `bad image size ${w}x${h} (header)`;
      const blocks = Math.ceil(w / 8) * Math.ceil(h / 8);
      if (buf.length * 8 < blocks) return `${buf.length} bytes are too short for ${w}x${h} pixels (header)`;
      return null;
    }
    at += 2 + len;
  }
  return null;
}

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
  const problem = kind === 'png' ? pngHeaderProblem(buf) : jpegHeaderProblem(buf);
  if (problem) throw new DataError(`${file}: ${problem}`);
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
