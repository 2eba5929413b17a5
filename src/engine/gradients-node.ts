/**
 * Registers TensorFlow.js's gradients in Node. (Browser bundles import
 * `@tensorflow/tfjs-core/dist/register_all_gradients` directly.)
 */
import { register } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

let done: Promise<void> | undefined;

/** Loads `register_all_gradients` once; resolves when `Conv2D` has a gradient. */
export function registerGradientsNode(): Promise<void> {
  done ??= (async () => {
    if (tf.getGradient('Conv2D')) return;
    register(new URL('./tfjs-esm-hooks.js', import.meta.url));
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
    if (!tf.getGradient('Conv2D')) throw new Error('TensorFlow.js gradients could not be registered');
  })();
  return done;
}
