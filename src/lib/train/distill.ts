/**
 * Knowledge distillation (Hinton, Vinyals and Dean, 2015): the student learns from a trained
 * teacher's softened outputs as well as from the labels. With student logits `s`, teacher logits
 * `t` (both `[N, K]`), labels `y`, weight `alpha` and temperature `tau`:
 *
 * ```
 * loss = (1 - alpha) CE(s, y) + alpha tau^2 KL(softmax(t / tau) || softmax(s / tau))
 * KL(p || q) = mean over the batch of sum_k p_k (log p_k - log q_k)
 * ```
 *
 * The `tau^2` keeps the soft term's gradient on the scale of the hard one's as `tau` grows:
 * `d(tau^2 KL)/ds = tau (softmax(s / tau) - softmax(t / tau)) / N`. `alpha = 0` is plain
 * cross-entropy. The teacher runs in evaluation mode (running batch-norm statistics) outside the
 * gradient tape: it is not trained. Node-free.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions } from '../nn/module.js';

/** The weight and temperature of the soft term. */
export interface DistillWeights {
  /** Weight of the teacher's term, in `[0, 1]` (`1 - alpha` on cross-entropy with the labels). */
  readonly alpha: number;
  /** Softmax temperature `tau > 0` of both networks' outputs in the soft term. */
  readonly temperature: number;
}

/** A network whose logits a student is trained toward (`x: [N, H, W, C]` to `[N, K]`). */
export interface Teacher {
  /** Logits `[N, K]` of a batch `x: [N, H, W, C]` (called with `training: false`). */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D;
}

/** What a training step distils from: a teacher and the weights of its term. */
export interface Distillation extends DistillWeights {
  readonly teacher: Teacher;
}

/** The defaults of `stcsnn train --distill-from`: Hinton's `tau = 4`, both terms weighted equally. */
export const DISTILL_DEFAULTS: DistillWeights = Object.freeze({ alpha: 0.5, temperature: 4 });

/** Throws a one-line RangeError naming the weight that is out of range. */
export function checkDistillWeights({ alpha, temperature }: DistillWeights): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`distillation alpha must be in [0, 1], got ${alpha}`);
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new RangeError(`distillation temperature must be a positive number, got ${temperature}`);
  }
}

/**
 * `tau^2 KL(softmax(t / tau) || softmax(s / tau))`, averaged over the batch.
 * @param student logits `[N, K]`
 * @param teacher logits `[N, K]` (constant: no gradient flows into them)
 */
export function softTargetLoss(student: tf.Tensor2D, teacher: tf.Tensor2D, temperature: number): tf.Scalar {
  if (student.shape[1] !== teacher.shape[1] || student.shape[0] !== teacher.shape[0]) {
    throw new RangeError(
      `teacher logits ${JSON.stringify(teacher.shape)} do not match the student's ${JSON.stringify(student.shape)}`,
    );
  }
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(tf.div(student, temperature));
    const logP = tf.logSoftmax(tf.div(teacher, temperature));
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1);
    return tf.mul(tf.mean(kl), temperature * temperature) as tf.Scalar;
  });
}

/**
 * The distillation loss above, `(1 - alpha) CE(s, y) + alpha tau^2 KL`, given the batch's
 * cross-entropy `ce` (so that `alpha = 0` is `ce` itself, bit for bit).
 */
export function distillationLoss(
  ce: tf.Scalar,
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  { alpha, temperature }: DistillWeights,
): tf.Scalar {
  if (alpha === 0) return ce;
  return tf.tidy(() =>
    tf.add(tf.mul(ce, 1 - alpha), tf.mul(softTargetLoss(student, teacher, temperature), alpha)),
  );
}

/** The teacher's logits for `x`, in evaluation mode, off the gradient tape. */
export function teacherLogits(teacher: Teacher, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => teacher.forward(x, { training: false }));
}
