/**
 * Gradient averaging across ranks before the optimiser step, in buckets (as PyTorch's DDP):
 * the gradients, in reverse network order (the order the backward pass finishes them), are
 * packed into flat float32 buckets of about `bucketBytes`; each bucket is scaled by this rank's
 * weight `w_r` (see the sampler) and all-reduced with a sum, so every rank ends with
 *
 *     g = sum_r w_r g_r      (= the mean over the ranks when every w_r = 1/W)
 *
 * All buckets are issued before any is awaited: while Gloo's threads reduce one bucket, the JS
 * thread packs the next. (Overlap with the backward pass itself needs the gradient tape to
 * hand out gradients as it finishes them; `valueAndGrads` returns them all at the end.)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ProcessGroup } from './process-group.js';

/** PyTorch DDP's default bucket size. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** Splits `sizes` (element counts, in the order given) into consecutive groups of about `bucketBytes`. */
export function bucketize(sizes: readonly number[], bucketBytes: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  sizes.forEach((n, i) => {
    if (cur.length > 0 && bytes + n * 4 > bucketBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += n * 4;
  });
  if (cur.length) out.push(cur);
  return out;
}

/** Time spent in the last {@link allReduceGradients} call (ms). */
export interface SyncStats {
  ms: number;
  buckets: number;
  bytes: number;
}

/**
 * Replaces `grads` (variable name -> gradient) with `sum_r w_r g_r` over the ranks. `variables`
 * fixes the order (the same on every rank); a missing gradient counts as zeros. The old
 * gradient tensors are disposed. World size 1 with weight 1 returns `grads` untouched.
 */
export async function allReduceGradients(
  pg: ProcessGroup,
  variables: readonly tf.Variable[],
  grads: tf.NamedTensorMap,
  weight: number,
  opts: { bucketBytes?: number; stats?: SyncStats } = {},
): Promise<tf.NamedTensorMap> {
  if (pg.worldSize === 1 && weight === 1) return grads;
  const t0 = performance.now();
  const vars = [...variables].reverse();
  const buckets = bucketize(
    vars.map((v) => v.size),
    opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
  );
  const flats: tf.Tensor[] = [];
  const pending: Promise<void>[] = [];
  for (const b of buckets) {
    const flat = tf.tidy(() => {
      const parts = b.map((i) => {
        const g = grads[vars[i].name];
        return g ? tf.reshape(g, [-1]) : tf.zeros([vars[i].size]);
      });
      const cat = parts.length === 1 ? tf.add(parts[0], 0) : tf.concat(parts);
      return weight === 1 ? cat : tf.mul(cat, weight);
    });
    flats.push(flat);
    pending.push(pg.allReduce([flat], 'sum'));
  }
  try {
    await Promise.all(pending);
  } catch (e) {
    tf.dispose(flats);
    throw e;
  }
  const out: tf.NamedTensorMap = {};
  buckets.forEach((b, k) => {
    const pieces = tf.split(
      flats[k],
      b.map((i) => vars[i].size),
    );
    b.forEach((i, j) => {
      out[vars[i].name] = tf.reshape(pieces[j], vars[i].shape);
    });
    tf.dispose(pieces);
  });
  tf.dispose(flats);
  tf.dispose(Object.values(grads));
  if (opts.stats) {
    opts.stats.ms = performance.now() - t0;
    opts.stats.buckets = buckets.length;
    opts.stats.bytes = vars.reduce((a, v) => a + v.size * 4, 0);
  }
  return out;
}

/**
 * Sums `values` over the ranks (one small all-reduce): the epoch's loss sum, hits and sample
 * count, for metrics every rank agrees on. World size 1 returns a copy.
 */
export async function allReduceNumbers(pg: ProcessGroup, values: readonly number[]): Promise<number[]> {
  if (pg.worldSize === 1) return [...values];
  const t = tf.tensor1d([...values], 'float32');
  try {
    await pg.allReduce([t], 'sum');
    return [...(await t.data())];
  } finally {
    t.dispose();
  }
}

/**
 * Replaces each float32 buffer (batch-norm running statistics) by its mean over the ranks, so
 * that every rank evaluates and checkpoints the same model. Each rank's batch norm normalises
 * with its own shard's statistics during training (per-rank batch norm); only the running
 * averages are reconciled, once per epoch. Non-float buffers are left alone.
 */
export async function averageBuffers(pg: ProcessGroup, buffers: readonly tf.Variable[]): Promise<void> {
  const fl = buffers.filter((b) => b.dtype === 'float32');
  if (pg.worldSize === 1 || fl.length === 0) return;
  const flat = tf.tidy(() => tf.concat(fl.map((b) => tf.reshape(b, [-1]))));
  try {
    await pg.allReduce([flat], 'avg');
    tf.tidy(() => {
      const parts = tf.split(
        flat,
        fl.map((b) => b.size),
      );
      fl.forEach((b, i) => b.assign(tf.reshape(parts[i], b.shape)));
    });
  } finally {
    flat.dispose();
  }
}
