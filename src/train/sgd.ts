/**
 * SGD with momentum, Nesterov and weight decay, with PyTorch's semantics:
 *
 * ```
 * g = grad + weight_decay * p
 * b = momentum * b + g                    (b starts at 0)
 * d = nesterov ? g + momentum * b : b
 * p = p - lr * d
 * ```
 *
 * Weight decay applies to every trainable parameter (as `torch.optim.SGD(model.parameters())`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Optimiser hyper-parameters (the learning rate comes per step from the schedule). */
export interface SgdOptions {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

/** The SGD optimiser over a fixed list of variables. */
export class Sgd {
  /** Momentum buffers, one per variable, same order. */
  readonly buffers: tf.Variable[];

  constructor(
    readonly variables: readonly tf.Variable[],
    readonly opts: SgdOptions,
  ) {
    this.buffers = variables.map((v) => tf.variable(tf.zerosLike(v), false));
  }

  /** One update with learning rate `lr`; `grads` maps variable names to gradients. */
  step(grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, weightDecay, nesterov } = this.opts;
    // One tidy per variable: the temporaries of one update are freed before the next, so the
    // step's peak memory is one parameter's worth of temporaries, not the whole model's.
    this.variables.forEach((p, i) => {
      const grad = grads[p.name];
      if (!grad) return;
      tf.tidy(() => {
        const g = weightDecay !== 0 ? tf.add(grad, tf.mul(p, weightDecay)) : grad;
        let d = g;
        if (momentum !== 0) {
          const b = tf.add(tf.mul(this.buffers[i], momentum), g);
          this.buffers[i].assign(b);
          d = nesterov ? tf.add(g, tf.mul(b, momentum)) : b;
        }
        p.assign(tf.sub(p, tf.mul(d, lr)));
      });
    });
  }

  dispose(): void {
    tf.dispose(this.buffers);
  }
}
