/**
 * Training-mode batch norm through the named kernel `StcBatchNormTrain` (its equations, the
 * kernels and the gradient are in `src/lib/core/kernels/batch-norm.ts`; the engine registers
 * them at backend start-up), so that a native backend can fuse it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from '../core/kernels/array-kernel.js';

/** Output of {@link batchNormTrain}. */
export interface BatchNormTrainResult {
  /** Normalised output, shape of `x`. */
  y: tf.Tensor;
  /** Per-channel batch mean, `[C]`. */
  mean: tf.Tensor1D;
  /** Per-channel `1 / sqrt(var + eps)` with the biased batch variance, `[C]`. */
  invstd: tf.Tensor1D;
}

/**
 * Training-mode batch norm over all axes but the last, through the `StcBatchNormTrain` kernel.
 *
 * @param x `[..., C]`
 * @param gamma `[C]`
 * @param beta `[C]`
 */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): BatchNormTrainResult {
  const [y, mean, invstd] = runKernel('StcBatchNormTrain', { x, gamma, beta }, { eps });
  return { y, mean: mean as tf.Tensor1D, invstd: invstd as tf.Tensor1D };
}
