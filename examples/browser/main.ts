/**
 * The browser entry in a page (built with Vite): STEB spike trains of a few values, then the
 * playground's trained VGG11 (a safetensors model file) classifying 100 embedded test images
 * on the wasm backend (`auto` would take WebGPU or WebGL where the page imports them).
 *
 *   npm run build && npx vite --config examples/browser/vite.config.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import {
  buildNetwork,
  decodeModel,
  encode,
  initBrowserBackend,
  loadStateDict,
  normalizeInPlace,
  parseIdxRaw,
  stcConfig,
} from 'stcsnn/browser';
import modelUrl from '../../web/model/fashion-mnist-vgg11-w025.safetensors?url';
import imagesUrl from '../../assets/fashion-mnist-mini/t10k-images-idx3-ubyte.gz?url';
import labelsUrl from '../../assets/fashion-mnist-mini/t10k-labels-idx1-ubyte.gz?url';

const el = (id: string) => document.getElementById(id) as HTMLElement;

/** The bytes of a file, gunzipped when they are gzip. */
async function fetchBytes(url: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes; // the server inflated it already
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const backend = await initBrowserBackend('wasm', {
  wasmPaths: {
    'tfjs-backend-wasm.wasm': wasmUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
  },
});
el('status').textContent = `backend: ${backend}`;

const cfg = stcConfig({ T: 8, theta0: 0.8, tau: 2 });
const values = [0.3, 0.95, 1.5, 3];
const trains = (await encode(tf.tensor1d(values), cfg).array()) as number[][]; // [T, 4]
el('trains').textContent = values
  .map((v, i) => `x = ${v.toFixed(2)}  ${trains.map((row) => (row[i] ? '|' : '.')).join('')}`)
  .join('\n');

const file = decodeModel(await fetchBytes(modelUrl), 'model');
const net = buildNetwork(file.config);
loadStateDict(net, file.tensors, 'model');
const images = parseIdxRaw(await fetchBytes(imagesUrl), 'test images', 'images');
const labels = parseIdxRaw(await fetchBytes(labelsUrl), 'test labels', 'labels');
const n = 100;
const x = Float32Array.from(images.data.subarray(0, n * 28 * 28));
if (file.normalization) normalizeInPlace(x, 1, file.normalization);
const predicted = tf.tidy(() =>
  tf.argMax(net.forward(tf.tensor4d(x, [n, 28, 28, 1]), { training: false }), 1).dataSync(),
);
const correct = predicted.filter((p, i) => p === labels.data[i]).length;
el('result').textContent =
  `accuracy ${correct} % on ${n} test images (${file.classNames?.[predicted[0]]} first)`;
document.body.dataset.done = 'true';
