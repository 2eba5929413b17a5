/**
 * Every kernel stcsnn registers, one list per backend (as TensorFlow.js's backends keep one
 * list of their kernel configs), and the gradients of the named kernels. `registerAll(backend)`
 * registers them at backend start-up: `initBackend` in Node (`backend.ts`), `initBrowserBackend`
 * in a browser (`browser-backend.ts`), both through one loop (`start.ts`). Nothing else
 * registers a kernel.
 *
 * | backend                   | named kernels (`src/lib/core/kernels/table.ts`)                  | replaced TensorFlow.js kernels |
 * |---------------------------|------------------------------------------------------------------|--------------------------------|
 * | `cpu`                     | STC over plain arrays; batch norm, SGD, STCB backward with ops   |                                |
 * | `wasm`                    | the same, over the wasm heap                                     | both convolution gradients     |
 * | `libtorch`                | none here: the native package registers its own                  |                                |
 * | any other (WebGL, WebGPU) | all with ops                                                     |                                |
 *
 * The libtorch backend runs a kernel it lacks on `cpu`, so Node's start-up registers `cpu`'s
 * list first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNormKernels, batchNormTrainGradient } from '../core/kernels/batch-norm.js';
import { sgdStepKernels } from '../core/kernels/sgd-step.js';
import { stcConvKernels } from '../core/kernels/stc-conv.js';
import { stcKernels, stcQuantizeGradient, stcQuantizeScaledGradient } from '../core/kernels/stc-kernels.js';
import { forwardConvGradientKernels } from './conv-grad.js';

/** The backend whose kernels a native package brings (`stcsnn-libtorch`). */
const NATIVE = 'libtorch';

/** The gradients of the named kernels (backend-independent: they call named kernels). */
export const GRADIENTS: readonly tf.GradConfig[] = [
  stcQuantizeGradient,
  stcQuantizeScaledGradient,
  batchNormTrainGradient,
];

/** Every kernel stcsnn registers for `backendName` (see the table above). */
export function kernelConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName === NATIVE) return [];
  const named = [
    ...stcKernels(backendName),
    ...batchNormKernels(backendName),
    ...sgdStepKernels(backendName),
    ...stcConvKernels(backendName),
  ];
  return backendName === 'wasm' ? [...named, ...forwardConvGradientKernels(backendName)] : named;
}

const done = new Set<string>();

/**
 * Registers the gradients of the named kernels and every kernel of {@link kernelConfigs} for
 * `backendName`, replacing a kernel the backend had under the same name. Once per backend;
 * later calls do nothing.
 */
export function registerAll(backendName: string): void {
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
  if (done.has(backendName)) return;
  done.add(backendName);
  for (const k of kernelConfigs(backendName)) {
    if (tf.getKernel(k.kernelName, backendName)) tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel(k);
  }
}
