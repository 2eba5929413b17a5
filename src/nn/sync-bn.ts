/**
 * Synchronised batch norm (training mode) across the `W` ranks of data-parallel training, as
 * PyTorch's `SyncBatchNorm`: every rank normalises with the statistics of the whole global
 * batch, and the backward pass reduces the matching gradient sums.
 *
 * Forward on rank `r` (local `x: [..., C]`, `m_r` elements per channel):
 *
 * ```
 * mean_r = sum x / m_r;  M2_r = sum (x - mean_r)^2                       (per channel)
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
 * `S1 = sum_s w_s sum dy_s`, `S2 = sum_s w_s sum dy_s xhat_s` (one all-reduce of `[2C]`); rank
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

function reduceAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
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
  const axes = reduceAxes(x.rank);
  const m = x.size / C;
  const { rank, worldSize: W, weight } = sync;
  const K = 2 * C + 1;
  let side: { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number } | undefined;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const row = tf.tidy(() => {
      const mu = tf.mean(xi, axes);
      const m2 = tf.sum(tf.square(tf.sub(xi, mu)), axes);
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
    const y = tf.add(tf.mul(tf.sub(xi, mean), tf.mul(invstd, g)), b);
    save([xi, g, mean, invstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs, mean, invstd] = saved;
        const xhat = tf.mul(tf.sub(xs, mean), invstd);
        const sdy = tf.sum(dy, axes);
        const sdyx = tf.sum(tf.mul(dy, xhat), axes);
        const s = sync.sum(tf.mul(tf.concat([sdy, sdyx]), weight) as tf.Tensor1D);
        const [s1, s2] = tf.split(s, 2);
        const inner = tf.sub(dy, tf.div(tf.add(s1, tf.mul(xhat, s2)), weight * N));
        const dx = tf.mul(inner, tf.mul(gs, invstd));
        return [dx, sdyx, sdy];
      },
    };
  });
  const y = f(x, gamma, beta);
  if (!side) throw new Error('syncBatchNormTrain: the forward pass did not run');
  return { y, ...side };
}
