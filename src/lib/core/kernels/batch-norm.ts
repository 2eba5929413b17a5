/**
 * The batch-norm named kernels (training mode), so that a native backend can fuse them:
 * `StcBatchNormTrain` (`x, gamma, beta`, attr `eps` -> `y, mean, invstd`) and
 * `StcBatchNormTrainGrad` (`dy, x, gamma, mean, invstd` -> `dx, dgamma, dbeta`), and the running
 * statistics' update, `StcBatchNormRunning` (no gradient: one kernel call instead of a dozen ops
 * recorded on the gradient tape, each keeping copies of its inputs); their names,
 * inputs, outputs and attributes are in the kernel table (`src/lib/core/kernels/table.ts`).
 *
 * The channel axis is the last one (`[N, H, W, C]` or `[N, C]`); statistics are taken over
 * all other axes, `M` elements per channel:
 *
 * ```
 * mean = sum x / M;  var = sum (x - mean)^2 / M  (biased, as PyTorch normalises);  invstd = 1 / sqrt(var + eps)
 * xhat = (x - mean) invstd;  y = gamma xhat + beta
 * dbeta = sum dy;  dgamma = sum dy xhat;  dx = gamma invstd / M (M dy - dbeta - xhat dgamma)
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { opsKernel, runKernel } from './array-kernel.js';

function reduceAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/** Reference implementation of `StcBatchNormTrain` with TensorFlow.js ops. */
export function batchNormTrainOps(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor[] {
  const axes = reduceAxes(x.rank);
  const mean = tf.mean(x, axes);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), axes);
  const invstd = tf.rsqrt(tf.add(variance, eps));
  const y = tf.add(tf.mul(centered, tf.mul(invstd, gamma)), beta);
  return [y, mean, invstd];
}

/** Reference implementation of `StcBatchNormTrainGrad` with TensorFlow.js ops. */
export function batchNormTrainGradOps(
  dy: tf.Tensor,
  x: tf.Tensor,
  gamma: tf.Tensor,
  mean: tf.Tensor,
  invstd: tf.Tensor,
): tf.Tensor[] {
  const axes = reduceAxes(x.rank);
  const m = x.size / x.shape[x.rank - 1];
  const xhat = tf.mul(tf.sub(x, mean), invstd);
  const dbeta = tf.sum(dy, axes);
  const dgamma = tf.sum(tf.mul(dy, xhat), axes);
  const inner = tf.sub(tf.sub(tf.mul(dy, m), dbeta), tf.mul(xhat, dgamma));
  const dx = tf.mul(inner, tf.div(tf.mul(gamma, invstd), m));
  return [dx, dgamma, dbeta];
}

/** The running statistics of a batch norm: `[runningMean, runningVar, numBatchesTracked]`. */
export type RunningStats = [runningMean: tf.Tensor, runningVar: tf.Tensor, numBatchesTracked: tf.Tensor];

/**
 * The running statistics after one batch of mean `mean` and unbiased variance `unbiasedVar`
 * (PyTorch's update, momentum `k`): `(1 - k) running + k batch`, one more batch tracked.
 */
export function runningUpdateOps(
  [runningMean, runningVar, numBatchesTracked]: RunningStats,
  mean: tf.Tensor,
  unbiasedVar: tf.Tensor,
  k: number,
): RunningStats {
  return [
    tf.add(tf.mul(runningMean, 1 - k), tf.mul(mean, k)),
    tf.add(tf.mul(runningVar, 1 - k), tf.mul(unbiasedVar, k)),
    tf.add(numBatchesTracked, tf.scalar(1, 'int32')),
  ];
}

/**
 * Bessel's correction of a batch variance over `count` values: `count / (count - 1)`, and 1 for
 * a single value (whose biased variance, 0, is kept), as PyTorch's running variance takes it.
 */
export function unbiasedFactor(count: number): number {
  return count / Math.max(1, count - 1);
}

/**
 * Reference implementation of `StcBatchNormRunning` with TensorFlow.js ops: the biased batch
 * variance from `invstd` (`1 / invstd^2 - eps`), made unbiased (`count / (count - 1)`), then
 * {@link runningUpdateOps}.
 */
export function batchNormRunningOps(
  running: RunningStats,
  mean: tf.Tensor,
  invstd: tf.Tensor,
  { momentum, eps, count }: { momentum: number; eps: number; count: number },
): RunningStats {
  const biasedVar = tf.sub(tf.reciprocal(tf.square(invstd)), eps);
  const unbiasedVar = tf.mul(biasedVar, unbiasedFactor(count));
  return runningUpdateOps(running, mean, unbiasedVar, momentum);
}

/** The batch-norm kernels for `backendName`, written with ops (any backend). */
export function batchNormKernels(backendName: string): tf.KernelConfig[] {
  return [
    opsKernel('StcBatchNormTrain', backendName, (i, a) => batchNormTrainOps(i.x, i.gamma, i.beta, a.eps)),
    opsKernel('StcBatchNormTrainGrad', backendName, (i) =>
      batchNormTrainGradOps(i.dy, i.x, i.gamma, i.mean, i.invstd),
    ),
    opsKernel('StcBatchNormRunning', backendName, (i, a) =>
      batchNormRunningOps([i.runningMean, i.runningVar, i.numBatchesTracked], i.mean, i.invstd, a),
    ),
  ];
}

/** The gradient of `StcBatchNormTrain`: `StcBatchNormTrainGrad`. */
export const batchNormTrainGradient: tf.GradConfig = {
  kernelName: 'StcBatchNormTrain',
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true], // y, mean, invstd
  gradFunc: (dys, saved) => {
    const dy = Array.isArray(dys) ? dys[0] : dys;
    const [x, gamma, mean, invstd] = saved;
    // Computed eagerly: the engine runs each input's gradient thunk in its own tidy, which
    // would free the other two outputs of a shared lazy call.
    const [dx, dgamma, dbeta] = runKernel('StcBatchNormTrainGrad', { dy, x, gamma, mean, invstd });
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
};
