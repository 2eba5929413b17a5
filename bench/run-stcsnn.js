#!/usr/bin/env node
/**
 * One benchmark measurement of stcsnn in its own process (so that peak RSS is this
 * configuration's): `node bench/run-stcsnn.js --backend libtorch|wasm --arch resnet18|vgg16|vgg11
 * --mode stc|ann --phase train|infer [--gradient relu|clipped] [--learn-theta off|layer|channel]
 * --batch 32 --steps 10 --warmup 3 [--width 1] [--threads N] [--device cpu|cuda]
 * [--precision fp32|bf16] [--profile]`.
 *
 * The network, its optimiser and its training step are the trainer's own: the configuration is
 * resolved as `stcsnn train --dataset cifar10 --arch A --mode M --width W --batch-size B
 * [--gradient G] [--learn-theta L]` resolves it (`resolveTrainConfig`: the trainer's STC
 * defaults, `trainerStc`, where no gradient or threshold mode is given), the network and SGD
 * (momentum, weight decay, no decay on learned thresholds) come from `trainerModel`, and a
 * training step is `trainerStep` (src/app/train/trainer-step.ts): forward in training mode, softmax
 * cross entropy, gradients, the gradient check, the (one-process) all-reduce, the SGD update
 * and the batch's correct count, exactly what `stcsnn train` runs for every batch (learning
 * rate 0.01, constant). infer: forward in eval mode and argmax. Inputs are random 32x32x3
 * images (seeded), 10 classes.
 *
 * Prints one JSON line: {engine, arch, mode, gradient, learn_theta, phase, batch, width,
 * precision, macs_per_image, ms_per_step, images_per_second, peak_rss_mb, loss, steps, threads,
 * fallbacks} (`macs_per_image`: the forward pass's weight multiply-accumulates per image,
 * `weightMacs` over the network's layers, as `stcsnn energy` counts them; `gradient` and `learn_theta` null in ann mode; `loss` the last training step's, null for
 * infer). `--profile` adds `profile`: each kernel's milliseconds and calls per step (the time
 * inside its kernel function: the native call, argument and result marshalling), `other_ms`,
 * the rest of the step (TensorFlow.js's tape, gradient bookkeeping, JavaScript), and
 * `mean_ms_per_step`, the mean step they add up to (`ms_per_step` is the median);
 * `--profile-shapes` adds `profile_by_shape` (the same per kernel and its inputs' shapes); the timed steps
 * then run with that instrumentation, so `ms_per_step` is a little higher than without it.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
// static imports of the built modules, so that `npm run bundle` bundles them (bundle/run-stcsnn.mjs)
import { resolveTrainConfig } from '../dist/app/config/resolve.js';
import { trainerModel, trainerStep } from '../dist/app/train/trainer-step.js';
import { initBackend } from '../dist/lib/engine/backend.js';
import { weightMacs } from '../dist/lib/nn/plan.js';
import { choiceArg, intArg, numberArg, scriptArgs } from '../scripts/script-cli.mjs';

const USAGE = `Usage: node bench/run-stcsnn.js [options]   (one measurement; bench/bench.js runs the set)

The network and training step are the trainer's (trainerModel, trainerStep in
src/app/train/trainer-step.ts), configured as 'stcsnn train --dataset cifar10' with these flags.

Options:
  --backend libtorch|wasm          (default libtorch)
  --arch resnet18|vgg16|vgg11      (default resnet18)
  --mode stc|ann                   (default stc)
  --gradient relu|clipped          STC gradient mask (default: the trainer's)
  --learn-theta off|layer|channel  learned thresholds (default: the trainer's for the mask)
  --phase train|infer              (default train)
  --batch N --steps N --warmup N   (defaults 32, 10, 3)
  --width X                        channel multiplier (default 1)
  --size N                         input height and width (default 32)
  --threads N                      libtorch threads (default: its own)
  --device cpu|cuda                libtorch device (default cpu)
  --precision fp32|bf16            libtorch convolutions in float32 or bfloat16 (default fp32)
  --profile                        time each kernel (adds profile and other_ms)
  --profile-shapes                 also by input shapes (adds profile_by_shape)
  --stat median|min                the step time reported (default median)
  --debug, -h/--help

Prints one JSON line: {engine, arch, mode, gradient, learn_theta, phase, batch, width,
precision, macs_per_image, ms_per_step, images_per_second, peak_rss_mb, loss, steps, threads,
fallbacks}.`;
const { values: a } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    backend: { type: 'string', default: 'libtorch' },
    arch: { type: 'string', default: 'resnet18' },
    mode: { type: 'string', default: 'stc' },
    gradient: { type: 'string' },
    'learn-theta': { type: 'string' },
    phase: { type: 'string', default: 'train' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    width: { type: 'string', default: '1' },
    threads: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    size: { type: 'string', default: '32' },
    stat: { type: 'string', default: 'median' },
    precision: { type: 'string', default: 'fp32' },
    profile: { type: 'boolean', default: false },
    'profile-shapes': { type: 'boolean', default: false },
  },
});
choiceArg('backend', a.backend, ['libtorch', 'wasm']);
choiceArg('arch', a.arch, ['resnet18', 'vgg16', 'vgg11']);
choiceArg('mode', a.mode, ['stc', 'ann']);
choiceArg('phase', a.phase, ['train', 'infer']);
choiceArg('stat', a.stat, ['median', 'min']);
choiceArg('device', a.device, ['cpu', 'cuda']);
choiceArg('precision', a.precision, ['fp32', 'bf16']);
if (a.gradient !== undefined) choiceArg('gradient', a.gradient, ['relu', 'clipped']);
if (a['learn-theta'] !== undefined) choiceArg('learn-theta', a['learn-theta'], ['off', 'layer', 'channel']);
for (const [k, min] of [
  ['batch', 1],
  ['steps', 1],
  ['warmup', 0],
  ['size', 4],
])
  intArg(k, a[k], min);
numberArg('width', a.width, 0);
if (a.threads !== undefined) intArg('threads', a.threads, 1);
const batch = Number(a.batch);
const steps = Number(a.steps);
const warmup = Number(a.warmup);
const size = Number(a.size);
const threads = a.threads ? Number(a.threads) : undefined;

/** What `stcsnn train --dataset cifar10 --arch ... [--gradient ...] [--learn-theta ...]` trains. */
const { config } = resolveTrainConfig({
  given: {
    dataset: 'cifar10',
    arch: /** @type {any} */ (a.arch),
    mode: /** @type {any} */ (a.mode),
    width: Number(a.width),
    batchSize: batch,
    ...(a.gradient !== undefined ? { 'stc.gradient': /** @type {any} */ (a.gradient) } : {}),
    ...(a['learn-theta'] !== undefined ? { 'stc.learnTheta': /** @type {any} */ (a['learn-theta']) } : {}),
  },
});

const device = /** @type {'cpu' | 'cuda'} */ (a.device);
const precision = /** @type {'fp32' | 'bf16'} */ (a.precision);
await initBackend(/** @type {any} */ (a.backend), { threads, device, precision });
const { net, sgd } = trainerModel(config, { shape: [size, size, 3], classes: 10 });
const step = trainerStep(net, sgd);
const LR = 0.01;

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const xs = Float32Array.from({ length: batch * size * size * 3 }, rnd);
const ys = Int32Array.from({ length: batch }, (_, i) => i % 10);

let n = 0;
async function trainStep() {
  const x = tf.tensor4d(xs, [batch, size, size, 3]);
  const y = tf.tensor1d(ys, 'int32');
  try {
    const r = await step(x, y, LR, { weight: 1, step: n, where: `bench step ${n + 1}` });
    n++;
    return r.loss;
  } finally {
    tf.dispose([x, y]);
  }
}

async function inferStep() {
  tf.tidy(() => {
    const x = tf.tensor4d(xs, [batch, size, size, 3]);
    return tf.argMax(net.forward(x, { training: false }), 1).dataSync()[0];
  });
  return null;
}

const run = a.phase === 'train' ? trainStep : inferStep;
let loss = null;
for (let i = 0; i < warmup; i++) loss = await run();
/** kernel name -> [milliseconds, calls] over the timed steps (--profile) */
const profile = new Map();
/** kernel name and its inputs' shapes (JSON) -> [milliseconds, calls] (--profile-shapes) */
const byShape = new Map();
const shapes = a['profile-shapes'];
if (a.profile || shapes) {
  for (const k of tf.getKernelsForBackend(tf.getBackend())) {
    const inner = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, k.backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const t0 = performance.now();
        try {
          return inner(args);
        } finally {
          const ms = performance.now() - t0;
          const e = profile.get(k.kernelName) ?? [0, 0];
          e[0] += ms;
          e[1]++;
          profile.set(k.kernelName, e);
          if (shapes) {
            const key = JSON.stringify([k.kernelName, Object.values(args.inputs).map((t) => t.shape)]);
            const s = byShape.get(key) ?? [0, 0];
            s[0] += ms;
            s[1]++;
            byShape.set(key, s);
          }
        }
      },
    });
  }
}
const times = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  loss = await run();
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
const stc = config.mode === 'stc';
process.stdout.write(
  JSON.stringify({
    engine: `stcsnn-${a.backend}`,
    arch: a.arch,
    mode: a.mode,
    gradient: stc ? config.stc.gradient : null,
    learn_theta: stc ? config.stc.learnTheta : null,
    phase: a.phase,
    batch,
    width: config.width,
    precision: a.backend === 'libtorch' ? precision : 'fp32',
    macs_per_image: net.layers.reduce((p, l) => p + weightMacs(l), 0),
    ms_per_step: Number(median.toFixed(2)),
    images_per_second: Number(((batch * 1000) / median).toFixed(1)),
    peak_rss_mb: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    loss,
    steps,
    threads: usedThreads,
    fallbacks,
    ...(a.profile || shapes ? profileFields() : {}),
  }) + '\n',
);

/** The --profile fields: kernels by time per step, and the rest of the step. */
function profileFields() {
  const total = times.reduce((p, q) => p + q, 0) / steps;
  const perStep = (ms, calls) => ({ ms: Number((ms / steps).toFixed(2)), calls: calls / steps });
  const largestFirst = (rs) => rs.sort((p, q) => q.ms - p.ms);
  const rows = largestFirst([...profile.entries()].map(([kernel, [ms, calls]]) => ({ kernel, ...perStep(ms, calls) })));
  const inKernels = rows.reduce((p, r) => p + r.ms, 0);
  const shapeRows = [...byShape.entries()].map(([key, [ms, calls]]) => {
    const [kernel, inputs] = JSON.parse(key);
    return { kernel, inputs, ...perStep(ms, calls) };
  });
  return {
    profile: rows,
    ...(shapes ? { profile_by_shape: largestFirst(shapeRows) } : {}),
    mean_ms_per_step: Number(total.toFixed(2)),
    kernel_ms: Number(inKernels.toFixed(2)),
    other_ms: Number((total - inKernels).toFixed(2)),
  };
}
