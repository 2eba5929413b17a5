/**
 * `window.stcsnnBench(...)`: inference and training throughput of the shipped architecture on
 * the active backend, for `bench/browser.mjs` (speed is measured there, never in tests).
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildNetwork, SGD_DEFAULTS, sgdFor, trainStep } from '../../src/browser.js';
import { PAGE_ARCH, PAGE_INPUT } from './model.js';

/** Images per second of inference and training, batch 32, after one warm-up batch. */
export interface BenchResult {
  readonly backend: string;
  readonly inferImagesPerSecond: number;
  readonly trainImagesPerSecond: number;
}

async function timed(batches: number, f: () => Promise<void>): Promise<number> {
  await f();
  const t0 = performance.now();
  for (let i = 0; i < batches; i++) await f();
  return (performance.now() - t0) / 1000;
}

/** Installs `window.stcsnnBench`. */
export function installBench(): void {
  (window as unknown as { stcsnnBench: (batches?: number) => Promise<BenchResult> }).stcsnnBench = async (
    batches = 4,
  ) => {
    const batch = 32;
    const net = buildNetwork(PAGE_ARCH, 1);
    const sgd = sgdFor(net, SGD_DEFAULTS);
    const x = tf.randomNormal([batch, ...PAGE_INPUT]) as tf.Tensor4D;
    const y = tf.tensor1d(
      Array.from({ length: batch }, (_, i) => i % PAGE_ARCH.classes),
      'int32',
    );
    try {
      const infer = await timed(batches, async () => {
        const out = net.forward(x, { training: false });
        await out.data();
        out.dispose();
      });
      const train = await timed(batches, async () => {
        trainStep(net, sgd, x, y, 0.01);
        await tf.nextFrame();
      });
      return {
        backend: tf.getBackend(),
        inferImagesPerSecond: (batches * batch) / infer,
        trainImagesPerSecond: (batches * batch) / train,
      };
    } finally {
      tf.dispose([x, y]);
      sgd.dispose();
      net.dispose();
    }
  };
}
