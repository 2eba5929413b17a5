/** The STC core: configuration, thresholds, STEB/CAB and the fused quantiser. Browser-safe. */
export * from './config.js';
export * from './stc.js';
export {
  STC_ENCODE,
  STC_QUANTIZE,
  STC_QUANTIZE_GRAD,
  STC_SPIKE_COUNT,
  type StcKernelAttrs,
} from './kernels/stc-kernels.js';
export { registerArrayKernel, registerOpsKernel, type ArrayKernelSpec } from './kernels/array-kernel.js';
export * from './stcb.js';
