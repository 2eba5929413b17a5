/**
 * PyTorch's default initialisation, seeded: conv and linear weights and biases are
 * `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` (Kaiming-uniform with a = sqrt(5)); batch norm starts
 * at weight 1, bias 0, running mean 0, running variance 1.
 *
 * Values are drawn in JavaScript from a seeded generator, so they are the same on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A seeded stream of seeds: one per parameter, in construction order. */
export class SeedStream {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Next 32-bit seed (splitmix32). */
  next(): number {
    let z = (this.state = (this.state + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
}

/** `U(-bound, bound)` of the given shape from a mulberry32 stream seeded by `seed`. */
export function uniform(shape: number[], bound: number, seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (2 * u - 1) * bound;
  }
  return tf.tensor(out, shape);
}
