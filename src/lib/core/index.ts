/**
 * The STC core: configuration, thresholds, STEB/CAB and the fused quantiser. Browser-safe.
 *
 * @module stcsnn/core
 */
export * from './config.js';
export * from './stc.js';
export { type StcKernelAttrs } from './kernels/stc-kernels.js';
export {
  KERNELS,
  KERNEL_NAMES,
  isKernelName,
  readAttrs,
  type AttrSpec,
  type AttrType,
  type KernelAttrs,
  type KernelCallAttrs,
  type KernelInputName,
  type KernelName,
  type KernelOutputNames,
  type KernelSpec,
} from './kernels/table.js';
export {
  ARRAY_BACKENDS,
  arrayKernel,
  isArrayBackend,
  opsKernel,
  type ArrayBackend,
  runKernel,
  type ArrayKernelSpec,
  type KernelInputs,
  type KernelOutputs,
} from './kernels/array-kernel.js';
export * from './stcb.js';
