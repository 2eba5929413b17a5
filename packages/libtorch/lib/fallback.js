/**
 * Kernels without a native implementation run on TensorFlow.js's cpu backend: inputs are
 * copied to cpu tensors, the cpu kernel runs, outputs are copied back and the cpu copies are
 * freed. Each such kernel warns once and is counted (`fallbackCounts()`); in strict mode it is
 * an error instead.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @typedef {import('./backend.js').LibtorchBackend} Backend
 */

/** @returns {tf.KernelBackend} */
function cpuBackend() {
  const cpu = tf.engine().findBackend('cpu');
  if (!cpu)
    throw new Error(
      'the libtorch backend needs the cpu backend for its fallbacks: import @tensorflow/tfjs-backend-cpu',
    );
  return cpu;
}

/**
 * Runs the cpu kernel `name` on libtorch tensors.
 * @param {string} name
 * @param {{ inputs: any, attrs?: any, backend: any }} args
 * @returns {tf.TensorInfo | tf.TensorInfo[]}
 */
export function runOnCpu(name, args) {
  const be = /** @type {Backend} */ (args.backend);
  const cpuKernel = tf.getKernel(name, 'cpu');
  if (!cpuKernel) throw new Error(`kernel ${name} is registered neither for libtorch nor for cpu`);
  const cpu = /** @type {any} */ (cpuBackend());
  /** @type {tf.DataId[]} */
  const made = [];
  /** @param {tf.TensorInfo | null | undefined} t */
  const toCpu = (t) => {
    if (t == null) return t;
    const values = be.readSync(t.dataId);
    const dataId = cpu.write(values, t.shape, t.dtype);
    made.push(dataId);
    return { dataId, shape: t.shape, dtype: t.dtype };
  };
  const inputs = Array.isArray(args.inputs)
    ? args.inputs.map(toCpu)
    : Object.fromEntries(Object.entries(args.inputs).map(([k, v]) => [k, toCpu(/** @type {any} */ (v))]));
  try {
    const res = cpuKernel.kernelFunc({
      inputs: /** @type {any} */ (inputs),
      attrs: args.attrs ?? {},
      backend: cpu,
    });
    const outs = Array.isArray(res) ? res : [res];
    const back = outs.map((o) => {
      const dataId = be.write(cpu.readSync(o.dataId), o.shape, o.dtype);
      return { dataId, shape: o.shape, dtype: o.dtype };
    });
    for (const o of outs) cpu.disposeData(o.dataId);
    return Array.isArray(res) ? back : back[0];
  } finally {
    for (const d of made) cpu.disposeData(d);
  }
}

/**
 * A libtorch kernel that runs the cpu kernel `name` (with the warning, counter and strict mode).
 * @param {string} name
 * @returns {tf.KernelFunc}
 */
export function fallbackKernel(name) {
  return (args) => {
    /** @type {Backend} */ (/** @type {unknown} */ (args.backend)).noteFallback(name);
    return runOnCpu(name, args);
  };
}
