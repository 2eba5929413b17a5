/**
 * Worker thread of {@link DataLoader}: assembles batches from shared uint8 pixels.
 * `workerData`: `{pixels: Uint8Array (shared), shape, augment, normalization, seed}`;
 * messages in: `{id, indices: Uint32Array, epoch}`; out: `{id, x: Float32Array}` (transferred)
 * or `{id, error}`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assembleBatch, type AugmentOptions } from './loader.js';
import type { Normalization } from './types.js';

interface Init {
  pixels: Uint8Array;
  shape: [number, number, number];
  augment: AugmentOptions | null;
  normalization: Normalization | null;
  seed: number;
}

const init = workerData as Init;
const len = init.shape[0] * init.shape[1] * init.shape[2];

parentPort?.on('message', (m: { id: number; indices: Uint32Array; epoch: number }) => {
  try {
    const raw = new Float32Array(m.indices.length * len);
    for (let k = 0; k < m.indices.length; k++) {
      const i = m.indices[k];
      const src = init.pixels.subarray(i * len, (i + 1) * len);
      for (let j = 0; j < len; j++) raw[k * len + j] = src[j];
    }
    const x = assembleBatch(m.indices, init.shape, raw, init.augment, init.normalization, init.seed, m.epoch);
    parentPort?.postMessage({ id: m.id, x }, [x.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: m.id, error: (e as Error).message ?? String(e) });
  }
});
