/**
 * Worker thread of {@link decodeImageAsync} (`image-decode.ts`): decodes one image per message.
 * Messages in: `{id, buf: Uint8Array, file}`; out: `{id, width, height, data}` (the pixels
 * transferred) or `{id, error, data: boolean}` (`data`: the error was a DataError, bad input).
 */
import { parentPort } from 'node:worker_threads';
import { DataError } from '../types.js';
import { decodeImage } from './image.js';

parentPort?.on('message', (m: { id: number; buf: Uint8Array; file: string }) => {
  try {
    const img = decodeImage(m.buf, m.file);
    // a copy the size of the image (the decoder's array may be larger), transferred
    const data = img.data.byteLength === img.data.buffer.byteLength ? img.data : img.data.slice();
    parentPort?.postMessage({ id: m.id, width: img.width, height: img.height, data }, [
      data.buffer as ArrayBuffer,
    ]);
  } catch (e) {
    parentPort?.postMessage({
      id: m.id,
      error: e instanceof Error ? e.message : String(e),
      data: e instanceof DataError,
    });
  }
});
