/**
 * Helpers for the interop tests: small networks trained for a few SGD steps (so that the batch
 * norms hold non-trivial running statistics), and NHWC/NCHW conversion.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readTidy } from '../util/read.js';
import { stcConfig, type StcConfigInput } from '../core/config.js';
import { buildNetwork, type ArchConfig, type Network } from '../nn/models.js';

/** A configuration for a small test network. */
export function smallConfig(over: Partial<ArchConfig> & { stcInput?: StcConfigInput } = {}): ArchConfig {
  const { stcInput, ...rest } = over;
  return {
    arch: 'vgg11',
    mode: 'stc',
    width: 0.125,
    inputShape: [16, 16, 3],
    classes: 10,
    stc: stcConfig(stcInput ?? {}),
    path: 'fused',
    ...rest,
  };
}

/** Deterministic pseudo-random inputs `[n, H, W, C]` in about N(0, 1). */
export function testInputs(shape: readonly [number, number, number], n: number, seed: number): tf.Tensor4D {
  return tf.randomNormal([n, ...shape], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/**
 * Builds a network and trains it for `steps` SGD steps (lr 0.05, cross-entropy) on random data
 * with random labels: enough to move weights and batch-norm statistics away from their
 * initial values.
 */
export function trainedNetwork(config: ArchConfig, steps = 2, seed = 1): Network {
  const net = buildNetwork(config, seed);
  const vars = net.trainableVariables();
  for (let s = 0; s < steps; s++) {
    tf.tidy(() => {
      const x = testInputs(config.inputShape, 8, seed * 100 + s);
      const labels = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 8 }, (_, i) => (i * 7 + s) % config.classes),
          'int32',
        ),
        config.classes,
      );
      const { grads } = tf.variableGrads(() => {
        const logits = net.forward(x, { training: true });
        return tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1))) as tf.Scalar;
      }, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.05)));
    });
  }
  return net;
}

/** NHWC -> NCHW, as a flat float32 array. */
export function toNchw(x: tf.Tensor4D): Float32Array {
  return readTidy(() => tf.transpose(x, [0, 3, 1, 2])) as Float32Array;
}

/** Logits of `net` in evaluation mode, `[N, classes]` flat. */
export function evalLogits(net: Network, x: tf.Tensor4D): Float32Array {
  return readTidy(() => net.forward(x, { training: false })) as Float32Array;
}

/** Row-wise argmax of a flat `[n, k]` array. */
export function argmaxRows(a: ArrayLike<number>, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / k; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (a[r * k + j] > a[r * k + best]) best = j;
    out.push(best);
  }
  return out;
}

/**
 * Sets every learned threshold (`*.log_theta`) of `net` to `log theta0` with `theta0` drawn
 * uniformly from [0.3, 2] (seeded), so that exports are checked away from the initial value.
 */
export function randomizeThresholds(net: Network, seed: number): void {
  for (const e of net.namedVariables()) {
    if (!e.name.endsWith('.log_theta')) continue;
    e.variable.assign(tf.tidy(() => tf.log(tf.randomUniform(e.variable.shape, 0.3, 2, 'float32', seed++))));
  }
}
