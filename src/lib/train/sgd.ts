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
 * Weight decay applies to every trainable parameter (as `torch.optim.SGD(model.parameters())`)
 * but learned thresholds (`log_theta`, the `noDecay` set: decay would pull `theta0` towards 1).
 *
 * With momentum, one update is the named kernel `StcSgdStep` (inputs `p, b, grad`, attrs `lr,
 * momentum, weightDecay, nesterov`, outputs `[p', b']`; see the kernel table,
 * `src/lib/core/kernels/table.ts`), so that a native backend can do it in
 * one pass over memory (the libtorch backend writes `p'` and `b'` into `p`'s and `b`'s own
 * buffers when nothing else holds them); other backends run its ops (`sgdStepOps`,
 * `src/lib/core/kernels/sgd-step.ts`), as does `step` where no kernel is registered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from '../core/kernels/array-kernel.js';
import { sgdStepOps } from '../core/kernels/sgd-step.js';
import type { Module } from '../nn/module.js';

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

  /**
   * @param noDecay variables that weight decay does not apply to (learned thresholds'
   *   `log_theta`; `Module.namedVariables()` marks them `decay: false`)
   */
  constructor(
    readonly variables: readonly tf.Variable[],
    readonly opts: SgdOptions,
    readonly noDecay: ReadonlySet<tf.Variable> = new Set(),
  ) {
    // tf.variable shares its initial value's data: the zeros are disposed so that the buffer
    // is the only holder (a native backend may then update it in place).
    this.buffers = variables.map((v) => {
      const zeros = tf.zerosLike(v);
      const b = tf.variable(zeros, false);
      zeros.dispose();
      return b;
    });
  }

  /** One update with learning rate `lr`; `grads` maps variable names to gradients. */
  step(grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, nesterov } = this.opts;
    const kernel = tf.getKernel('StcSgdStep', tf.getBackend()) !== undefined;
    // One tidy per variable: the temporaries of one update are freed before the next, so the
    // step's peak memory is one parameter's worth of temporaries, not the whole model's.
    this.variables.forEach((p, i) => {
      const grad = grads[p.name];
      if (!grad) return;
      const weightDecay = this.noDecay.has(p) ? 0 : this.opts.weightDecay;
      tf.tidy(() => {
        if (momentum === 0) {
          const g = weightDecay !== 0 ? tf.add(grad, tf.mul(p, weightDecay)) : grad;
          p.assign(tf.sub(p, tf.mul(g, lr)));
          return;
        }
        const b = this.buffers[i];
        const [np, nb] = kernel
          ? runKernel('StcSgdStep', { p, b, grad }, { lr, momentum, weightDecay, nesterov })
          : sgdStepOps(p, b, grad, lr, { ...this.opts, weightDecay });
        b.assign(nb);
        p.assign(np);
      });
    });
  }

  /** Frees the momentum buffers (not the variables). */
  dispose(): void {
    tf.dispose(this.buffers);
  }
}

/**
 * The SGD optimiser of a network: its trainable variables, weight decay on each but those marked
 * `decay: false` (learned thresholds' `log_theta`).
 */
export function sgdFor(net: Module, opts: SgdOptions): Sgd {
  const params = net.namedVariables().filter((e) => e.trainable);
  return new Sgd(
    params.map((e) => e.variable),
    opts,
    new Set(params.filter((e) => !e.decay).map((e) => e.variable)),
  );
}
