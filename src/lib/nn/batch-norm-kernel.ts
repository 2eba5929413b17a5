/**
 * Training-mode batch norm through the named kernel `StcBatchNormTrain` (its equations, the
 * kernels and the gradient are in `src/lib/core/kernels/batch-norm.ts`; the engine registers
 * them at backend start-up), so that a native backend can fuse it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from '../core/kernels/array-kernel.js';
import type { RunningStats } from '../core/kernels/batch-norm.js';

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

/**
 * The running statistics after one training batch, through the `StcBatchNormRunning` kernel
 * (no gradient; its equations are in the kernel table).
 *
 * @param running `[runningMean [C], runningVar [C], numBatchesTracked [] int32]`
 * @param mean the batch mean `[C]` ({@link batchNormTrain}'s)
 * @param invstd the batch's `1 / sqrt(var + eps)` `[C]` ({@link batchNormTrain}'s)
 */
export function batchNormRunning(
  running: RunningStats,
  mean: tf.Tensor,
  invstd: tf.Tensor,
  attrs: { momentum: number; eps: number; count: number },
): RunningStats {
  const [runningMean, runningVar, numBatchesTracked] = running;
  return runKernel(
    'StcBatchNormRunning',
    { runningMean, runningVar, numBatchesTracked, mean, invstd },
    attrs,
  ) as RunningStats;
}
