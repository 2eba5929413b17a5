#!/usr/bin/env node
/**
 * One benchmark measurement of stcsnn in its own process (so that peak RSS is this
 * configuration's): `node bench/run-stcsnn.js --backend libtorch|wasm --arch resnet18|vgg16|vgg11
 * --mode stc|ann --phase train|infer --batch 32 --steps 10 --warmup 3 [--threads N] [--device cpu|cuda]`.
 *
 * train: forward in training mode, softmax cross entropy, gradients of every trainable variable
 * and one SGD step (momentum 0.9, weight decay 5e-4), as `stcsnn train` runs them; infer:
 * forward in eval mode and argmax. Inputs are random 32x32x3 images (seeded), 10 classes.
 * Prints one JSON line: {engine, arch, mode, phase, batch, ms_per_step, images_per_second,
 * peak_rss_mb, steps, threads, fallbacks}.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { choiceArg, importBuilt, intArg, scriptArgs } from '../scripts/script-cli.mjs';

const USAGE = `Usage: node bench/run-stcsnn.js [options]   (one measurement; bench/bench.js runs the set)

Options:
  --backend libtorch|wasm          (default libtorch)
  --arch resnet18|vgg16|vgg11      (default resnet18)
  --mode stc|ann                   (default stc)
  --phase train|infer              (default train)
  --batch N --steps N --warmup N   (defaults 32, 10, 3)
  --size N                         input height and width (default 32)
  --threads N                      libtorch threads (default: its own)
  --stat median|min                the step time reported (default median)
  --debug, -h/--help

Prints one JSON line: {engine, arch, mode, phase, batch, ms_per_step, images_per_second,
peak_rss_mb, steps, threads, fallbacks}.`;
const { values: a } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    backend: { type: 'string', default: 'libtorch' },
    arch: { type: 'string', default: 'resnet18' },
    mode: { type: 'string', default: 'stc' },
    phase: { type: 'string', default: 'train' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    size: { type: 'string', default: '32' },
    stat: { type: 'string', default: 'median' },
  },
});
choiceArg('backend', a.backend, ['libtorch', 'wasm']);
choiceArg('arch', a.arch, ['resnet18', 'vgg16', 'vgg11']);
choiceArg('mode', a.mode, ['stc', 'ann']);
choiceArg('phase', a.phase, ['train', 'infer']);
choiceArg('stat', a.stat, ['median', 'min']);
for (const [k, min] of [
  ['batch', 1],
  ['steps', 1],
  ['warmup', 0],
  ['size', 4],
])
  intArg(k, a[k], min);
if (a.threads !== undefined) intArg('threads', a.threads, 1);
const { initBackend } = await importBuilt('dist/lib/engine/backend.js');
const { buildNetwork } = await importBuilt('dist/lib/nn/models.js');
const { stcConfig } = await importBuilt('dist/lib/core/config.js');
const { Sgd } = await importBuilt('dist/app/train/sgd.js');
const { valueAndGrads } = await importBuilt('dist/lib/engine/grads.js');
const { crossEntropy } = await importBuilt('dist/app/train/evaluate.js');
const batch = Number(a.batch);
const steps = Number(a.steps);
const warmup = Number(a.warmup);
const size = Number(a.size);
const threads = a.threads ? Number(a.threads) : undefined;

const device = /** @type {'cpu' | 'cuda'} */ (a.device);
await initBackend(/** @type {any} */ (a.backend), { threads, device });
if (a.backend === 'libtorch') {
  const lt = await import('stcsnn-libtorch');
  await lt.registerLibtorchBackend({ threads, device });
}
const net = buildNetwork({
  arch: /** @type {any} */ (a.arch),
  mode: /** @type {any} */ (a.mode),
  width: 1,
  inputShape: [size, size, 3],
  classes: 10,
  stc: stcConfig({}),
  path: 'fused',
});
const vars = net.trainableVariables();
const sgd = new Sgd(vars, { momentum: 0.9, weightDecay: 5e-4, nesterov: false });

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const xs = Float32Array.from({ length: batch * size * size * 3 }, rnd);
const ys = Int32Array.from({ length: batch }, (_, i) => i % 10);

function trainStep() {
  const x = tf.tensor4d(xs, [batch, size, size, 3]);
  const y = tf.tensor1d(ys, 'int32');
  const { value, grads } = valueAndGrads(() => crossEntropy(net.forward(x, { training: true }), y), vars);
  sgd.step(grads, 0.01);
  const loss = value.dataSync()[0];
  tf.dispose([x, y, value, grads]);
  return loss;
}

function inferStep() {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, [batch, size, size, 3]);
    return tf.argMax(net.forward(x, { training: false }), 1).dataSync()[0];
  });
}

const step = a.phase === 'train' ? trainStep : inferStep;
for (let i = 0; i < warmup; i++) step();
const times = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step();
  times.push(performance.now() - t0);
}
times.sort((p, q) => p - q);
const median = a.stat === 'min' ? times[0] : times[Math.floor(times.length / 2)];
let fallbacks = {};
let usedThreads = threads ?? null;
if (a.backend === 'libtorch') {
  const lt = await import('stcsnn-libtorch');
  fallbacks = lt.fallbackCounts();
  usedThreads = lt.libtorchInfo().threads;
}
process.stdout.write(
  JSON.stringify({
    engine: `stcsnn-${a.backend}`,
    arch: a.arch,
    mode: a.mode,
    phase: a.phase,
    batch,
    ms_per_step: Number(median.toFixed(2)),
    images_per_second: Number(((batch * 1000) / median).toFixed(1)),
    peak_rss_mb: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    steps,
    threads: usedThreads,
    fallbacks,
  }) + '\n',
);
