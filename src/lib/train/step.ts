/**
 * One SGD step of cross-entropy training, the one the trainer (`src/app/train/train.ts`) takes for every batch
 * and the one a browser page takes with batches of its own (through `src/browser.ts`):
 *
 * ```
 * loss = CE(net(x, training), y);  g = dloss/dparams (valueAndGrads);  [g = reduce(g)];  sgd.step(g, lr)
 * ```
 *
 * With `opts.distill` the loss is the distillation loss of `./distill.ts` against a teacher's
 * logits for the same batch (computed first, off the gradient tape; not computed at all when
 * `alpha` is 0, where the loss is the plain cross-entropy).
 *
 * `reduce` is where the trainer checks the gradients and all-reduces them across ranks
 * ({@link trainStepReduced}); {@link trainStep} takes the step as it is. Node-free: the browser
 * bundle imports this module.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runKernel } from '../core/kernels/array-kernel.js';
import { valueAndGrads } from '../engine/grads.js';
import type { ForwardOptions } from '../nn/module.js';
import { readTidy } from '../util/read.js';
import { distillationLoss, teacherLogits, type Distillation } from './distill.js';
import type { Sgd } from './sgd.js';

/**
 * `sum(g^2)` of each tensor of `ts`, in order, in one device read (`StcSquaredNorm`, one kernel
 * call per tensor): finite unless the tensor holds a NaN or an Infinity or its sum of squares
 * overflows float32 (the trainer's gradient check).
 */
export function squaredNorms(ts: readonly tf.Tensor[]): tf.TypedArray {
  return readTidy(() => tf.stack(ts.map((x) => runKernel('StcSquaredNorm', { x }))));
}

/** Softmax cross-entropy of `logits: [N, K]` against integer labels, averaged over the batch. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels, logits.shape[1]);
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  });
}

/** A NaN or Infinity in the loss or the gradients. */
export class NumericalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NumericalError';
  }
}

/** What one step measured. */
export interface TrainStepResult {
  /** The batch's mean loss before the update (cross-entropy, or the distillation loss). */
  readonly loss: number;
  /** Correct predictions in the batch (before the update). */
  readonly correct: number;
}

/**
 * What a step trains: a {@link Network}, or a module of your own with the same forward pass
 * (`x: [N, H, W, C]` to logits `[N, classes]`).
 */
export interface Classifier {
  /** Logits `[N, classes]` of a batch `x: [N, H, W, C]`; `opts.training` selects batch statistics. */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D;
}

/** Options of {@link trainStep}. */
export interface StepOptions {
  /** Forward options besides `training` (synchronised batch norm). */
  readonly forward?: Omit<ForwardOptions, 'training'>;
  /** Where the step is, said after the loss in a {@link NumericalError} (`at step 3 (epoch 1, batch 4)`). */
  readonly where?: string;
  /** Distil from a teacher: the loss becomes `(1 - alpha) CE + alpha tau^2 KL` (`./distill.ts`). */
  readonly distill?: Distillation;
}

/** Options of {@link trainStepReduced}. */
export interface ReducedStepOptions extends StepOptions {
  /**
   * Runs between the backward pass and the update: checks the gradients and/or all-reduces
   * them, and returns those to apply. It takes over `grads`; when it throws, they are disposed.
   */
  readonly reduce: (grads: tf.NamedTensorMap) => Promise<tf.NamedTensorMap>;
}

/** The backward pass's results, held until the update. */
interface Backward {
  readonly loss: number;
  readonly value: tf.Tensor;
  readonly logits: tf.Tensor;
  readonly grads: tf.NamedTensorMap;
}

function backward(net: Classifier, sgd: Sgd, x: tf.Tensor4D, y: tf.Tensor1D, opts: StepOptions): Backward {
  let logits: tf.Tensor | undefined;
  // alpha 0 is the cross-entropy itself (`distillationLoss`): the teacher's forward is skipped.
  const distill = opts.distill && opts.distill.alpha !== 0 ? opts.distill : undefined;
  const soft = distill ? teacherLogits(distill.teacher, x) : undefined;
  let taped: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    taped = valueAndGrads(() => {
      const out = net.forward(x, { ...opts.forward, training: true });
      logits = tf.keep(out);
      const ce = crossEntropy(out, y);
      return soft && distill ? distillationLoss(ce, out, soft, distill) : ce;
    }, sgd.variables);
  } finally {
    soft?.dispose();
  }
  const { value, grads } = taped;
  const kept = logits as tf.Tensor;
  const loss = value.dataSync()[0];
  if (!Number.isFinite(loss)) {
    tf.dispose([value, kept]);
    tf.dispose(grads);
    throw new NumericalError(`loss is ${loss}${opts.where ? ` ${opts.where}` : ''}`);
  }
  return { loss, value, logits: kept, grads };
}

/** The update with `grads`, the batch's correct count; frees what the step made. */
function update(
  sgd: Sgd,
  b: Backward,
  grads: tf.NamedTensorMap,
  y: tf.Tensor1D,
  lr: number,
): TrainStepResult {
  try {
    sgd.step(grads, lr);
    const correct = tf.tidy(
      () => tf.sum(tf.cast(tf.equal(tf.argMax(b.logits, 1), y), 'int32')).dataSync()[0],
    );
    return { loss: b.loss, correct };
  } finally {
    tf.dispose([b.value, b.logits]);
    tf.dispose(grads);
  }
}

/**
 * Trains `net` on one batch (the caller keeps `x` and `y`).
 * @param x inputs `[N, H, W, C]` (normalised)
 * @param y labels `[N]`, int32
 * @throws NumericalError when the loss is not finite (nothing is updated then)
 */
export function trainStep(
  net: Classifier,
  sgd: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  opts: StepOptions = {},
): TrainStepResult {
  const b = backward(net, sgd, x, y, opts);
  return update(sgd, b, b.grads, y, lr);
}

/**
 * {@link trainStep} with `opts.reduce` between the backward pass and the update (the trainer's
 * gradient checks and all-reduce).
 * @throws NumericalError when the loss is not finite; what `reduce` throws (nothing is updated then)
 */
export async function trainStepReduced(
  net: Classifier,
  sgd: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  opts: ReducedStepOptions,
): Promise<TrainStepResult> {
  const b = backward(net, sgd, x, y, opts);
  let grads: tf.NamedTensorMap;
  try {
    grads = await opts.reduce(b.grads);
  } catch (e) {
    tf.dispose([b.value, b.logits]);
    tf.dispose(b.grads);
    throw e;
  }
  return update(sgd, b, grads, y, lr);
}
