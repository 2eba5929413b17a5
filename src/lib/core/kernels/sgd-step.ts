/**
 * The SGD update as the named kernel `StcSgdStep` (inputs `p, b, grad`, attrs `lr, momentum,
 * weightDecay, nesterov`, outputs `[p', b']`; see `table.ts`), with PyTorch's semantics:
 *
 * ```
 * g = grad + weight_decay * p;  b' = momentum * b + g;  d = nesterov ? g + momentum * b' : b';  p' = p - lr * d
 * ```
 *
 * A native backend does it in one pass over memory; every other backend runs these ops (the
 * optimiser is `Sgd` in `src/lib/train/sgd.ts`). With it, the gradient check's `StcSquaredNorm`
 * (`sum(grad^2)`, one call per parameter instead of two ops).
 */
import * as tf from '@tensorflow/tfjs-core';
import { opsKernel } from './array-kernel.js';
import type { KernelAttrs } from './table.js';

/** The hyper-parameters of one update but the learning rate. */
export type SgdStepOptions = Omit<KernelAttrs<'StcSgdStep'>, 'lr'>;

/** Reference of `StcSgdStep` with TensorFlow.js ops: `[p', b']`. */
export function sgdStepOps(
  p: tf.Tensor,
  b: tf.Tensor,
  grad: tf.Tensor,
  lr: number,
  opts: SgdStepOptions,
): [tf.Tensor, tf.Tensor] {
  const g = opts.weightDecay !== 0 ? tf.add(grad, tf.mul(p, opts.weightDecay)) : grad;
  const nb = tf.add(tf.mul(b, opts.momentum), g);
  const d = opts.nesterov ? tf.add(g, tf.mul(nb, opts.momentum)) : nb;
  return [tf.sub(p, tf.mul(d, lr)), nb];
}

/** Reference of `StcSquaredNorm` with TensorFlow.js ops: `sum(x^2)`, a scalar. */
export function squaredNormOps(x: tf.Tensor): tf.Tensor {
  return tf.sum(tf.square(x));
}

/** The `StcSgdStep` and `StcSquaredNorm` kernels for `backendName`, written with ops (any backend). */
export function sgdStepKernels(backendName: string): tf.KernelConfig[] {
  return [
    opsKernel('StcSgdStep', backendName, (i, { lr, ...opts }) => sgdStepOps(i.p, i.b, i.grad, lr, opts)),
    opsKernel('StcSquaredNorm', backendName, (i) => squaredNormOps(i.x)),
  ];
}
