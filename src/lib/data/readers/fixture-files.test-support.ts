/**
 * Fixture builders for the reader tests: tiny files in each exact format, written into temporary
 * folders. Not used by the library itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** A fresh temporary folder. */
export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `stcsnn-${tag}-`));
}

/** Removes a temporary folder. */
export function rmDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The pixel byte of a synthetic CIFAR image, by record seed, channel, row and column. */
export function cifarPixel(seed: number, c: number, y: number, x: number): number {
  return (seed * 31 + c * 85 + y * 7 + x * 3) & 0xff;
}

/**
 * A CIFAR record: `labels` bytes then 3072 CHW pixel bytes from {@link cifarPixel}.
 */
export function cifarRecord(labels: readonly number[], seed: number): Buffer {
  const b = Buffer.alloc(labels.length + 3072);
  labels.forEach((l, i) => (b[i] = l));
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) b[labels.length + c * 1024 + y * 32 + x] = cifarPixel(seed, c, y, x);
  return b;
}

/**
 * Writes a mini `cifar-10-batches-bin/` under `root`: each of the 5 train batches holds
 * `perBatch` records, the test batch `testCount`; record k of batch b has label `(b*7+k) % 10` and
 * seed `b*100+k` (the test batch is b = 0).
 */
export function writeCifar10Folder(root: string, perBatch = 2, testCount = 3): string {
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  const batch = (b: number, n: number) =>
    Buffer.concat(Array.from({ length: n }, (_, k) => cifarRecord([(b * 7 + k) % 10], b * 100 + k)));
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(dir, `data_batch_${b}.bin`), batch(b, perBatch));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), batch(0, testCount));
  fs.writeFileSync(
    path.join(dir, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
  );
  return dir;
}

/** Writes a mini `cifar-100-binary/` under `root`: record k has coarse `k % 20`, fine `(k*3) % 100`. */
export function writeCifar100Folder(root: string, trainCount = 4, testCount = 2): string {
  const dir = path.join(root, 'cifar-100-binary');
  fs.mkdirSync(dir, { recursive: true });
  const file = (n: number, s: number) =>
    Buffer.concat(Array.from({ length: n }, (_, k) => cifarRecord([k % 20, (k * 3) % 100], s + k)));
  fs.writeFileSync(path.join(dir, 'train.bin'), file(trainCount, 0));
  fs.writeFileSync(path.join(dir, 'test.bin'), file(testCount, 50));
  fs.writeFileSync(
    path.join(dir, 'fine_label_names.txt'),
    Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 'coarse_label_names.txt'),
    Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n') + '\n',
  );
  return dir;
}

/** Packs `cwd/<entries>` into a gzipped tar at `file` with node-tar. */
export async function tarGz(file: string, cwd: string, entries: string[]): Promise<void> {
  await tar.c({ gzip: true, file, cwd, portable: true }, entries);
}

/** One hand-made tar entry (for archives node-tar would not create, e.g. with `..`). */
export interface RawTarEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'FIFO';
  readonly linkpath?: string;
  readonly data?: Buffer;
}

/** Builds a gzipped tar from raw headers, writing paths and link targets exactly as given. */
export function rawTarGz(entries: readonly RawTarEntry[]): Buffer {
  return zlib.gzipSync(rawTar(entries));
}

/** Builds an (uncompressed) tar from raw headers, writing paths and link targets exactly as given. */
export function rawTar(entries: readonly RawTarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = new tar.Header({
      path: e.path,
      type: e.type ?? 'File',
      linkpath: e.linkpath,
      size: e.type === undefined || e.type === 'File' ? data.length : 0,
      mode: e.type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    h.encode(block, 0);
    blocks.push(block);
    if (h.size !== undefined && h.size > 0) {
      blocks.push(data);
      const pad = (512 - (data.length % 512)) % 512;
      blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** One synthetic DVS event. */
export interface TestEvent {
  readonly x: number;
  readonly y: number;
  readonly p: number;
  readonly t: number;
}

/** The jAER header CIFAR10-DVS files carry. */
export const AEDAT_HEADER =
  '#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n' +
  '# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n' +
  '# Timestamps tick is 1 us\r\n';

/** AEDAT 2.0 bytes: `header`, then big-endian (address, timestamp) pairs for CIFAR10-DVS. */
export function aedatBytes(events: readonly TestEvent[], header = AEDAT_HEADER): Buffer {
  const body = Buffer.alloc(events.length * 8);
  events.forEach((e, i) => {
    body.writeUInt32BE((((127 - e.x) << 8) | ((127 - e.y) << 1) | (1 - e.p)) >>> 0, i * 8);
    body.writeUInt32BE(e.t >>> 0, i * 8 + 4);
  });
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}

/** Deterministic synthetic events: event i at x = (seed*13 + i*5) % 128, y = (i*3) % 128, p = i % 2. */
export function syntheticEvents(n: number, seed: number): TestEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    x: (seed * 13 + i * 5) % 128,
    y: (i * 3) % 128,
    p: i % 2,
    t: i * 10,
  }));
}

/**
 * Writes a mini CIFAR10-DVS folder: `classes` class folders, each with `perClass` files
 * `cifar10_<class>_<k>.aedat` of `events` events (seed = class*100 + k).
 */
export function writeDvsFolder(
  root: string,
  classes: readonly string[],
  perClass: number,
  events = 40,
): void {
  classes.forEach((c, ci) => {
    const dir = path.join(root, c);
    fs.mkdirSync(dir, { recursive: true });
    for (let k = 0; k < perClass; k++) {
      fs.writeFileSync(
        path.join(dir, `cifar10_${c}_${k}.aedat`),
        aedatBytes(syntheticEvents(events, ci * 100 + k)),
      );
    }
  });
}

/**
 * A true one-component (greyscale) baseline JPEG, `8*by` x `8*bx` pixels, where 8x8 block
 * (r, c) is the constant `value(r, c)`. Hand-encoded (DC-only blocks) because jpeg-js always
 * writes three components.
 */
export function greyJpeg(by: number, bx: number, value: (r: number, c: number) => number): Buffer {
  const seg = (marker: number, body: number[]) => [
    0xff,
    marker,
    (body.length + 2) >> 8,
    (body.length + 2) & 0xff,
    ...body,
  ];
  const h = by * 8;
  const w = bx * 8;
  const bytes: number[] = [0xff, 0xd8];
  bytes.push(...seg(0xdb, [0x00, ...new Array<number>(64).fill(1)]));
  bytes.push(...seg(0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0]));
  const dcCounts = new Array<number>(16).fill(0);
  dcCounts[3] = 12; // 12 symbols (categories 0..11) of length 4: code = category
  bytes.push(...seg(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i)]));
  const acCounts = new Array<number>(16).fill(0);
  acCounts[0] = 1; // EOB (0x00) coded as a single 0 bit
  bytes.push(...seg(0xc4, [0x10, ...acCounts, 0x00]));
  bytes.push(...seg(0xda, [1, 1, 0x00, 0, 63, 0]));
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let k = n - 1; k >= 0; k--) bits.push((v >> k) & 1);
  };
  let prev = 0;
  for (let r = 0; r < by; r++)
    for (let c = 0; c < bx; c++) {
      const dc = 8 * (Math.max(0, Math.min(255, Math.round(value(r, c)))) - 128);
      const diff = dc - prev;
      prev = dc;
      const cat = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(cat, 4);
      if (cat > 0) put(diff >= 0 ? diff : diff + (1 << cat) - 1, cat);
      put(0, 1);
    }
  while (bits.length % 8 !== 0) bits.push(1);
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let k = 0; k < 8; k++) b = (b << 1) | bits[i + k];
    bytes.push(b);
    if (b === 0xff) bytes.push(0x00);
  }
  bytes.push(0xff, 0xd9);
  return Buffer.from(bytes);
}

/** An RGB JPEG (jpeg-js, quality 95) of `w` x `h` where pixel (y, x) is `rgb(y, x)`. */
export function rgbJpeg(
  w: number,
  h: number,
  rgb: (y: number, x: number) => [number, number, number],
): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(y, x);
      data.set([r, g, b, 255], (y * w + x) * 4);
    }
  return jpeg.encode({ width: w, height: h, data }, 95).data;
}

/** A PNG (pngjs) of `w` x `h`: colour type 0 (grey), 2 (RGB) or 6 (RGBA), pixel (y, x) = `rgba(y, x)`. */
export function pngBytes(
  w: number,
  h: number,
  colorType: 0 | 2 | 6,
  rgba: (y: number, x: number) => [number, number, number, number],
): Buffer {
  const png = new PNG({ width: w, height: h, colorType, inputColorType: 6, bitDepth: 8 });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(rgba(y, x), (y * w + x) * 4);
  return PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth: 8 });
}

/**
 * Writes a mini `tiny-imagenet-200/` under `root`: classes `n001` (train: 3 RGB JPEGs, colour
 * (40k, 100, 200)) and `n002` (train: 2 JPEGs, the second a one-component greyscale JPEG of 77),
 * `val/` with 3 annotated images (`val_0` n002, `val_1` n001, `val_2` n002), words.txt with an
 * extra id.
 */
export function writeTinyImageNet(root: string): string {
  const dir = path.join(root, 'tiny-imagenet-200');
  const put = (rel: string, data: Buffer | string) => {
    const f = path.join(dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, data);
  };
  put('wnids.txt', 'n001\nn002\n');
  put('words.txt', 'n000\tunused\nn001\tgoldfish, Carassius auratus\nn002\tfire salamander, Salamandra\n');
  for (let k = 0; k < 3; k++) {
    put(
      `train/n001/images/n001_${k}.JPEG`,
      rgbJpeg(64, 64, () => [40 * k, 100, 200]),
    );
  }
  put('train/n001/n001_boxes.txt', 'n001_0.JPEG\t0\t0\t63\t63\n');
  put(
    'train/n002/images/n002_0.JPEG',
    rgbJpeg(64, 64, (y, x) => [x * 4, y * 4, 128]),
  );
  put(
    'train/n002/images/n002_1.JPEG',
    greyJpeg(8, 8, () => 77),
  );
  put(
    'val/images/val_0.JPEG',
    rgbJpeg(64, 64, () => [10, 20, 30]),
  );
  put(
    'val/images/val_1.JPEG',
    greyJpeg(8, 8, (r, c) => 16 * r + c),
  );
  put(
    'val/images/val_2.JPEG',
    rgbJpeg(64, 64, () => [250, 250, 250]),
  );
  put(
    'val/val_annotations.txt',
    'val_0.JPEG\tn002\t0\t0\t10\t10\r\nval_1.JPEG\tn001\t1\t2\t3\t4\r\nval_2.JPEG\tn002\t0\t0\t63\t63\r\n',
  );
  return dir;
}
