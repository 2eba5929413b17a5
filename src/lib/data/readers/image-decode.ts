/**
 * Decoding images without holding up the event loop: an image whose decoder needs more than
 * {@link INLINE_DECODE_BYTES} (from its header, `decodeBytes`) is decoded on a worker thread
 * (one, started on first use and kept while there is work, never keeping the process alive), so
 * that a signal (SIGTERM, Ctrl-C) is handled at once while a large image decodes. Smaller images
 * are decoded in place (a worker's round trip would cost more than the decode). Either way the
 * header is checked first: an image over the caps (`IMAGE_LIMITS`) is refused before decoding.
 */
import { Worker } from 'node:worker_threads';
import { DataError } from '../types.js';
import { checkImageHeader, decodeBytes, decodeImage, type RgbImage } from './image.js';

/** Images whose decoder needs at most this many bytes (4 MiB, about 1024x1024 RGBA) are decoded in place. */
export const INLINE_DECODE_BYTES = 4 * 2 ** 20;

interface Reply {
  id: number;
  width?: number;
  height?: number;
  data?: Uint8Array | boolean;
  error?: string;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (img: RgbImage) => void; reject: (e: Error) => void }>();

function failAll(e: Error): void {
  for (const p of pending.values()) p.reject(e);
  pending.clear();
  worker = undefined;
}

function decoder(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./image-worker.js', import.meta.url));
  w.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if (m.error !== undefined) p.reject(m.data === true ? new DataError(m.error) : new Error(m.error));
    else p.resolve({ width: m.width!, height: m.height!, data: m.data as Uint8Array });
  });
  w.on('error', (e) => failAll(new Error(`image decoder thread failed: ${e.message}`)));
  w.on('exit', (code) => {
    if (worker === w) failAll(new Error(`image decoder thread exited with code ${code}`));
  });
  w.unref();
  worker = w;
  return w;
}

/**
 * Decodes a PNG or JPEG file's bytes into RGB, as `decodeImage` does, on a worker thread when
 * the image is large (see the module doc).
 * @throws DataError naming `file` (before decoding, for an image over the caps)
 */
export async function decodeImageAsync(buf: Uint8Array, file: string): Promise<RgbImage> {
  const header = checkImageHeader(buf, file);
  if (decodeBytes(header) <= INLINE_DECODE_BYTES) return decodeImage(buf, file);
  const w = decoder();
  const id = nextId++;
  return new Promise<RgbImage>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, buf, file });
  });
}
