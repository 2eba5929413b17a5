/**
 * Registers TensorFlow.js's gradients in Node. tfjs-core ships them only as ES modules with
 * extensionless relative imports, which Node cannot load; `npm run build` bundles them into
 * `dist/lib/engine/tfjs-gradients.js` (scripts/bundle-gradients.mjs). Browser bundles import
 * `@tensorflow/tfjs-core/dist/register_all_gradients` directly.
 */
import * as tf from '@tensorflow/tfjs-core';

let done: Promise<void> | undefined;

/** Loads the bundled gradient registrations once; resolves when `Conv2D` has a gradient. */
export function registerGradientsNode(): Promise<void> {
  done ??= (async () => {
    if (tf.getGradient('Conv2D')) return;
    try {
      await import('./tfjs-gradients.js' as string);
    } catch (e) {
      throw new Error(
        `TensorFlow.js gradients are missing (dist/lib/engine/tfjs-gradients.js; run npm run build): ${(e as Error).message}`,
      );
    }
    if (!tf.getGradient('Conv2D')) throw new Error('TensorFlow.js gradients could not be registered');
  })();
  return done;
}
