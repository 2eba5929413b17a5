/**
 * Kernels written once over plain `Float32Array`s and registered for the TensorFlow.js backends
 * whose tensors live in JavaScript-visible memory (`cpu`, and `wasm` through its heap).
 *
 * This is one half of the engine seam: a named kernel (e.g. `StcQuantize`) has a gradient
 * registered once, and one implementation per backend. A native backend registers its own
 * implementation under the same name; nothing above the seam changes.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Attributes of a kernel call, as TensorFlow.js passes them. */
export type KernelAttrs = Record<string, unknown>;

/** A kernel over flat float32 arrays. */
export interface ArrayKernelSpec {
  /** The kernel name (the TensorFlow.js `kernelName`). */
  readonly name: string;
  /** Input names, in the order `compute` receives them. */
  readonly inputs: readonly string[];
  /** Output shapes from input shapes and attributes. */
  outputShapes(shapes: readonly (readonly number[])[], attrs: KernelAttrs): number[][];
  /** Fills `outs` (zero-initialised, one per output shape) from `ins`. */
  compute(
    ins: readonly Float32Array[],
    outs: Float32Array[],
    shapes: readonly (readonly number[])[],
    attrs: KernelAttrs,
  ): void;
}

/** The backends whose memory `registerArrayKernel` knows how to reach. */
export const ARRAY_BACKENDS = ['cpu', 'wasm'] as const;

interface CpuLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}
interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function requireFloat32(name: string, input: string, info: tf.TensorInfo): void {
  if (info.dtype !== 'float32') {
    throw new TypeError(`kernel ${name}: input ${input} must be float32, got ${info.dtype}`);
  }
}

function cpuKernel(spec: ArrayKernelSpec): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as CpuLike;
    const infos = spec.inputs.map((n) => inputs[n] as tf.TensorInfo);
    infos.forEach((info, i) => requireFloat32(spec.name, spec.inputs[i], info));
    const ins = infos.map((info) => be.data.get(info.dataId).values as Float32Array);
    const shapes = infos.map((info) => info.shape);
    const outShapes = spec.outputShapes(shapes, (attrs ?? {}) as KernelAttrs);
    const outs = outShapes.map((s) => new Float32Array(size(s)));
    spec.compute(ins, outs, shapes, (attrs ?? {}) as KernelAttrs);
    const result = outShapes.map((s, i) => be.makeTensorInfo(s, 'float32', outs[i]));
    return result.length === 1 ? result[0] : result;
  };
}

function wasmKernel(spec: ArrayKernelSpec): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as WasmLike;
    const infos = spec.inputs.map((n) => inputs[n] as tf.TensorInfo);
    infos.forEach((info, i) => requireFloat32(spec.name, spec.inputs[i], info));
    const shapes = infos.map((info) => info.shape);
    const outShapes = spec.outputShapes(shapes, (attrs ?? {}) as KernelAttrs);
    // Allocate first: growing the heap detaches earlier views.
    const outInfos = outShapes.map((s) => be.makeOutput(s, 'float32'));
    const ins = infos.map((info) => be.typedArrayFromHeap(info));
    const outs = outInfos.map((info) => {
      const view = be.typedArrayFromHeap(info);
      view.fill(0);
      return view;
    });
    spec.compute(ins, outs, shapes, (attrs ?? {}) as KernelAttrs);
    return outInfos.length === 1 ? outInfos[0] : outInfos;
  };
}

/** Registers `spec` for every backend in {@link ARRAY_BACKENDS} (once; later calls are no-ops). */
export function registerArrayKernel(spec: ArrayKernelSpec): void {
  for (const backendName of ARRAY_BACKENDS) {
    if (tf.getKernel(spec.name, backendName)) continue;
    tf.registerKernel({
      kernelName: spec.name,
      backendName,
      kernelFunc: backendName === 'cpu' ? cpuKernel(spec) : wasmKernel(spec),
    });
  }
}

/**
 * Registers a kernel written with TensorFlow.js ops for the given backends. The ops run on the
 * same backend inside the kernel; intermediates are freed and only the outputs survive.
 */
export function registerOpsKernel(
  name: string,
  backends: readonly string[],
  fn: (inputs: tf.NamedTensorMap, attrs: KernelAttrs) => tf.Tensor | tf.Tensor[],
): void {
  for (const backendName of backends) {
    if (tf.getKernel(name, backendName)) continue;
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: ({ inputs, attrs }) => {
        const named: tf.NamedTensorMap = {};
        const made: tf.Tensor[] = [];
        for (const [k, v] of Object.entries(inputs)) {
          if (v instanceof tf.Tensor) named[k] = v;
          else {
            const t = tf.engine().makeTensorFromTensorInfo(v as tf.TensorInfo);
            made.push(t);
            named[k] = t;
          }
        }
        const out = tf.tidy(() => fn(named, (attrs ?? {}) as KernelAttrs));
        tf.dispose(made);
        return Array.isArray(out) ? out : out;
      },
    });
  }
}
