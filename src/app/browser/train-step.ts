/**
 * One SGD step of cross-entropy training, as the trainer's inner loop (`src/app/train/train.ts`)
 * does it, for callers that bring their own batches (a browser page has no `DataLoader`):
 *
 * ```
 * loss = CE(net(x, training), y);  g = dloss/dparams (valueAndGrads);  sgd.step(g, lr)
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { valueAndGrads } from '../../lib/engine/grads.js';
import type { ForwardOptions } from '../../lib/nn/module.js';
import { crossEntropy } from '../train/evaluate.js';
import type { Sgd } from '../train/sgd.js';

/** What one step measured. */
export interface TrainStepResult {
  /** Mean cross-entropy of the batch before the update. */
  readonly loss: number;
  /** Correct predictions in the batch (before the update). */
  readonly correct: number;
}

/**
 * What {@link trainStep} trains: a {@link Network}, or a module of your own with the same
 * forward pass (`x: [N, H, W, C]` to logits `[N, classes]`).
 */
export interface Classifier {
  /** Logits `[N, classes]` of a batch `x: [N, H, W, C]`; `opts.training` selects batch statistics. */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D;
}

/**
 * Trains `net` on one batch.
 * @param x inputs `[N, H, W, C]` (normalised)
 * @param y labels `[N]`, int32
 * @throws Error when the loss is not finite (nothing is updated then)
 */
export function trainStep(
  net: Classifier,
  sgd: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
): TrainStepResult {
  let logits: tf.Tensor | undefined;
  const { value, grads } = valueAndGrads(() => {
    const out = net.forward(x, { training: true });
    logits = tf.keep(out);
    return crossEntropy(out, y);
  }, sgd.variables);
  try {
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss)) throw new Error(`loss is ${loss}`);
    sgd.step(grads, lr);
    const correct = tf.tidy(
      () => tf.sum(tf.cast(tf.equal(tf.argMax(logits as tf.Tensor, 1), y), 'int32')).dataSync()[0],
    );
    return { loss, correct };
  } finally {
    tf.dispose([value, logits as tf.Tensor]);
    tf.dispose(grads);
  }
}
