/**
 * Section 4: one epoch of VGG11 (width 0.25) on the embedded subset in the page, with the
 * library's own training step (`trainStep`: forward, cross-entropy, gradients, SGD).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  buildNetwork,
  normalizeInPlace,
  SGD_DEFAULTS,
  sgdFor,
  trainStep,
  type Normalization,
} from '../../src/browser.js';
import { Chart } from './charts.js';
import { testSet, trainSet } from './data.js';
import { showMonitor } from './monitor.js';
import { currentModel, PAGE_ARCH } from './model.js';

/**
 * Hyper-parameters of the in-page run (SGD with the library's momentum and weight decay,
 * `SGD_DEFAULTS`, at a constant rate, batch 32).
 */
export const PAGE_TRAINING = { batch: 32, lr: 0.05, seed: 1 } as const;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e as T;
}

/** A seeded permutation of 0..n-1 (xorshift32 + Fisher-Yates). */
function shuffled(n: number, seed: number): Uint32Array {
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Wires the training section. */
export function setupTrain(): void {
  const start = el<HTMLButtonElement>('train-start');
  const stop = el<HTMLButtonElement>('train-stop');
  const progress = el<HTMLProgressElement>('train-progress');
  const status = el('train-status');
  const chart = new Chart(
    el('train-chart'),
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { name: 'table' },
      height: 180,
      mark: { type: 'line', point: false },
      encoding: {
        x: { field: 'images', type: 'quantitative', title: 'images seen' },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'metric', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      },
    },
    'training loss and accuracy per batch',
  );
  let stopping = false;
  stop.addEventListener('click', () => (stopping = true));
  start.addEventListener('click', () => {
    void (async () => {
      start.disabled = true;
      stop.disabled = false;
      stopping = false;
      const box = el('train');
      box.dataset.state = 'running';
      try {
        await run();
        box.dataset.state = 'done';
      } catch (e) {
        status.textContent = `Training failed: ${(e as Error).message}`;
        box.dataset.state = 'failed';
      } finally {
        start.disabled = false;
        stop.disabled = true;
      }
    })();
  });

  async function run(): Promise<void> {
    const n = Number(el<HTMLSelectElement>('train-n').value);
    status.textContent = 'Loading the embedded training set…';
    const set = await trainSet();
    const count = Math.min(n, set.count);
    const norm: Normalization = currentModel()?.file.normalization ?? { scale: 255, mean: [0], std: [1] };
    const net = buildNetwork(PAGE_ARCH, PAGE_TRAINING.seed);
    const sgd = sgdFor(net, SGD_DEFAULTS);
    const order = shuffled(set.count, PAGE_TRAINING.seed).slice(0, count);
    const per = set.rows * set.cols;
    const points: { images: number; value: number; metric: string }[] = [];
    const losses: number[] = [];
    const t0 = performance.now();
    let seen = 0;
    let correct = 0;
    try {
      for (let b = 0; b < count && !stopping; b += PAGE_TRAINING.batch) {
        const idx = order.subarray(b, Math.min(count, b + PAGE_TRAINING.batch));
        const xs = new Float32Array(idx.length * per);
        const ys = new Int32Array(idx.length);
        idx.forEach((k, j) => {
          xs.set(set.pixels.subarray(k * per, (k + 1) * per), j * per);
          ys[j] = set.labels[k];
        });
        normalizeInPlace(xs, 1, norm);
        const x = tf.tensor4d(xs, [idx.length, set.rows, set.cols, 1]);
        const y = tf.tensor1d(ys, 'int32');
        const r = trainStep(net, sgd, x, y, PAGE_TRAINING.lr);
        tf.dispose([x, y]);
        seen += idx.length;
        correct += r.correct;
        losses.push(r.loss);
        points.push(
          { images: seen, value: r.loss, metric: 'loss' },
          { images: seen, value: r.correct / idx.length, metric: 'batch accuracy' },
        );
        const secs = (performance.now() - t0) / 1000;
        progress.value = seen / count;
        progress.textContent = `${Math.round((100 * seen) / count)} %`;
        status.textContent = `${seen} / ${count} images, loss ${r.loss.toFixed(3)}, accuracy so far ${((100 * correct) / seen).toFixed(1)} %, ${(seen / secs).toFixed(1)} images/s on ${tf.getBackend()}`;
        el('train').dataset.losses = JSON.stringify(losses);
        await chart.set(points);
        await tf.nextFrame();
      }
      const secs = (performance.now() - t0) / 1000;
      el('train').dataset.imagesPerSecond = String(seen / secs);
      if (seen > 0) showMonitor(net, await testSet(), norm, el('train-monitor'));
      status.textContent = `${stopping ? 'Stopped' : 'Done'}: ${seen} images in ${secs.toFixed(1)} s (${(seen / secs).toFixed(1)} images/s on ${tf.getBackend()}), training accuracy ${((100 * correct) / Math.max(1, seen)).toFixed(1)} %, last loss ${losses[losses.length - 1]?.toFixed(3)}.`;
    } finally {
      sgd.dispose();
      net.dispose();
    }
  }
}
