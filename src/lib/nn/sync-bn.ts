/**
 * Synchronised batch norm (training mode) across the `W` ranks of data-parallel training, as
 * PyTorch's `SyncBatchNorm`: every rank normalises with the statistics of the whole global
 * batch, and the backward pass reduces the matching gradient sums.
 *
 * Forward on rank `r` (local `x: [..., C]`, `m_r` elements per channel):
 *
 * ```
 * mean_r = sum x / m_r;  M2_r = sum (x - mean_r)^2          (per channel, the StcBatchNormTrain kernel)
 * gather [m_s, mean_s, M2_s] of every rank s (one all-reduce of a [W, 2C+1] matrix, zeros but row r)
 * N = sum m_s;  mean = sum m_s mean_s / N;  var = sum (M2_s + m_s (mean_s - mean)^2) / N   (Chan et al.)
 * invstd = 1 / sqrt(var + eps);  xhat = (x - mean) invstd;  y = gamma xhat + beta
 * ```
 *
 * (PyTorch gathers `[mean, invstd, count]` and combines them the same way; gathering the
 * centred sums keeps float32's precision where `sum x^2 - N mean^2` would cancel.)
 *
 * Backward: every rank's loss is the mean over its shard, and the gradient all-reduce forms
 * `sum_s w_s g_s` (`w_s` the shard's weight in the global batch). The global loss's gradient
 * with respect to rank r's `x` is `gamma invstd (w_r dy - (S1 + xhat S2) / N)` with
 * `S1 = sum_s w_s sum dy_s`, `S2 = sum_s w_s sum dy_s xhat_s` (local sums from the
 * StcBatchNormTrainGrad kernel, then one all-reduce of `[2C]`); rank
 * r's tape must hold it divided by `w_r` (the all-reduce multiplies every gradient it carries
 * by `w_r`), so
 *
 * ```
 * dx = gamma invstd (dy - (S1 + xhat S2) / (w_r N));  dgamma = sum dy xhat;  dbeta = sum dy   (local)
 * ```
 *
 * With equal shards (`w_r = 1/W`) this is PyTorch's `SyncBatchNorm` backward. The all-reduces
 * are synchronous ({@link BatchNormSync.sum}), as TensorFlow.js runs forward and backward
 * passes synchronously; every rank issues them in the same order (layer order forward, the
 * reverse backward) since every rank runs the same network.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from '../core/kernels/array-kernel.js';

/** What synchronised batch norm needs of the process group during one training step. */
export interface BatchNormSync {
  readonly rank: number;
  readonly worldSize: number;
  /** This rank's weight `w_r` in the gradient average of this step (`1/W` for equal shards). */
  readonly weight: number;
  /**
   * The element-wise sum of `t` over the ranks, synchronously. `t` is a fresh float32 tensor
   * owned by the call (it may be reduced in place and returned).
   */
  sum(t: tf.Tensor1D): tf.Tensor1D;
}

/** Output of {@link syncBatchNormTrain}. */
export interface SyncBatchNormResult {
  /** Normalised output, shape of `x`. */
  y: tf.Tensor;
  /** Global batch mean per channel, `[C]`. */
  mean: tf.Tensor1D;
  /** Global biased batch variance per channel, `[C]`. */
  variance: tf.Tensor1D;
  /** Elements per channel in the global batch (`N`). */
  count: number;
}

/**
 * Training-mode batch norm of `x: [..., C]` with the global batch's statistics (see the module
 * doc); differentiable in `x`, `gamma`, `beta`.
 */
export function syncBatchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
  sync: BatchNormSync,
): SyncBatchNormResult {
  const C = x.shape[x.rank - 1];
  const m = x.size / C;
  const { rank, worldSize: W, weight } = sync;
  const K = 2 * C + 1;
  let side: { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } | undefined;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const row = tf.tidy(() => {
      // the local statistics through the batch-norm kernel (the native backend accumulates
      // them more precisely than a float32 sum): eps 0, so var_r = 1 / invstd_r^2 exactly
      const [, mu, inv] = runKernel('StcBatchNormTrain', { x: xi, gamma: g, beta: b }, { eps: 0 });
      // a constant channel: invstd is inf here, 0 in ATen (its convention for var + eps = 0)
      const m2 = tf.where(tf.greater(inv, 0), tf.div(m, tf.square(inv)), tf.zerosLike(inv));
      const packed = tf.concat([tf.tensor1d([m]), mu, m2]);
      return tf.pad(packed, [[rank * K, (W - 1 - rank) * K]]) as tf.Tensor1D;
    });
    const all = sync.sum(row);
    const counts = tf.slice(tf.reshape(all, [W, K]), [0, 0], [W, 1]);
    const N = Array.from(counts.dataSync()).reduce((a, v) => a + Number(v), 0);
    counts.dispose();
    const [mean, variance, invstd] = tf.tidy(() => {
      const a = tf.reshape(all, [W, K]);
      const ms = tf.slice(a, [0, 0], [W, 1]);
      const means = tf.slice(a, [0, 1], [W, C]);
      const m2s = tf.slice(a, [0, 1 + C], [W, C]);
      const mean = tf.div(tf.sum(tf.mul(ms, means), 0), N) as tf.Tensor1D;
      const dev = tf.sub(means, mean);
      const variance = tf.div(tf.sum(tf.add(m2s, tf.mul(ms, tf.square(dev))), 0), N) as tf.Tensor1D;
      return [mean, variance, tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D];
    });
    all.dispose();
    side = { mean: tf.keep(mean), variance: tf.keep(variance), count: N };
    // y = x alpha + (beta - mean alpha), alpha = invstd gamma: ATen's order of rounding
    const alpha = tf.mul(invstd, g);
    const y = tf.add(tf.mul(xi, alpha), tf.sub(b, tf.mul(mean, alpha)));
    save([xi, g, mean, invstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, mean, invstd] = saved;
        // the local sums through the gradient kernel: dbeta = sum dy, dgamma = sum dy xhat
        const [local, sdyx, sdy] = runKernel('StcBatchNormTrainGrad', { dy, x: xs, gamma: gs, mean, invstd });
        local.dispose();
        const s = sync.sum(tf.mul(tf.concat([sdy, sdyx]), weight) as tf.Tensor1D);
        const [s1, s2] = tf.split(s, 2);
        // dx = ((dy - S1/(w N)) - (x - mean) S2 invstd/(w N)) invstd gamma: ATen's order of rounding
        const gradMean = tf.div(s1, weight * N);
        const k = tf.div(tf.mul(s2, invstd), weight * N);
        const dx = tf.mul(tf.sub(tf.sub(dy, gradMean), tf.mul(tf.sub(xs, mean), k)), tf.mul(invstd, gs));
        return [dx, sdyx, sdy];
      },
    };
  });
  const y = f(x, gamma, beta);
  if (!side) throw new Error('syncBatchNormTrain: the forward pass did not run');
  return { y, ...side };
}
