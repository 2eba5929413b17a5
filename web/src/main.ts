/**
 * The playground page: picks the fastest backend (WebGPU, WebGL, wasm; `?backend=` forces
 * one), loads the shipped model, and wires the four sections.
 */
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { initBrowserBackend, parseBrowserBackend } from '../../src/browser.js';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import shippedModelUrl from '../model/fashion-mnist-vgg11-w025.safetensors?url';
import shippedInfo from '../model/model.json';
import { setupExplorer } from './explorer.js';
import { currentModel, modelFromBytes, setModel } from './model.js';
import { setupPredict } from './predict.js';
import { setupTrain } from './train.js';
import { trainSet } from './data.js';
import { installBench } from './bench.js';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

function describe(): void {
  const m = currentModel();
  if (!m) return;
  const c = m.file.config;
  const acc = m.file.metadata['stcsnn.test_accuracy'] ?? m.file.metadata['test_accuracy'];
  const shipped = m.name === shippedInfo.file;
  el('model-info').textContent =
    `Loaded ${m.name}: ${c.arch} (${c.mode}, width ${c.width}), T = ${c.stc.T}, θ0 = ${c.stc.theta0}, τ = ${c.stc.tau}, ` +
    `${c.classes} classes` +
    (shipped
      ? `; test accuracy ${(shippedInfo.testAccuracy * 100).toFixed(1)} % on ${shippedInfo.testSet}; made by: ${shippedInfo.command}`
      : acc
        ? `; recorded accuracy ${acc}`
        : '');
}

async function main(): Promise<void> {
  const requested = parseBrowserBackend(new URLSearchParams(location.search).get('backend') ?? 'auto');
  const backend = await initBrowserBackend(requested, {
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
    },
  });
  el('backend').textContent = `the ${backend} backend`;
  document.body.dataset.backend = backend;
  setupExplorer();
  // Everything the page needs is fetched now, so that it keeps working offline.
  const [modelBytes] = await Promise.all([
    fetch(shippedModelUrl).then(async (r) => new Uint8Array(await r.arrayBuffer())),
    trainSet(),
  ]);
  setModel(modelFromBytes(modelBytes, shippedInfo.file));
  describe();
  const predict = await setupPredict();
  setupTrain();

  const load = async (bytes: Uint8Array, name: string): Promise<void> => {
    try {
      setModel(modelFromBytes(bytes, name));
      el('model-error').textContent = '';
      describe();
      await predict.classify();
    } catch (e) {
      el('model-error').textContent =
        `Not loaded: ${(e as Error).message.split('\n')[0]} (the previous model stays loaded).`;
    }
  };
  const loadFile = async (f: File): Promise<void> => load(new Uint8Array(await f.arrayBuffer()), f.name);
  const input = el<HTMLInputElement>('model-file');
  input.addEventListener('change', () => {
    const f = input.files?.[0];
    if (f) void loadFile(f);
  });
  const drop = el('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void loadFile(f);
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      input.click();
    }
  });
  el('model-shipped').addEventListener('click', () => void load(modelBytes, shippedInfo.file));
  installBench();
  document.body.dataset.ready = 'true';
  el('status').textContent = 'Ready.';
}

main().catch((e: unknown) => {
  el('status').textContent = `The page failed to start: ${(e as Error).message}`;
  console.error(e);
});
