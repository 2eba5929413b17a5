/**
 * Reading a tensor computed in a scope. `tf.tidy` walks the value its function returns element
 * by element when that value is a typed array (it looks for tensors inside containers), which
 * made reading activations for spike statistics take a minute; so the tensor is returned from
 * the scope and read outside it.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The values of the tensor `f` computes, with every intermediate freed. */
export function readTidy(f: () => tf.Tensor): tf.TypedArray {
  const t = tf.tidy(f);
  try {
    return t.dataSync();
  } finally {
    t.dispose();
  }
}
