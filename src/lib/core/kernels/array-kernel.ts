/**
 * The kernel configs of the named kernels: written once over plain `Float32Array`s for the
 * TensorFlow.js backends whose tensors live in JavaScript-visible memory (`cpu`, and `wasm`
 * through its heap), or with TensorFlow.js ops for any backend.
 *
 * This is one half of the engine seam: a named kernel of the table (`KERNELS` in `table.ts`,
 * e.g. `StcQuantize`) has a gradient registered once, and one implementation per backend, all
 * registered at backend start-up by the engine's `registerAll` (`src/lib/engine/kernel-registry.ts`). A
 * native backend registers its own implementation under the same name; nothing above the seam
 * changes. Inputs are taken in the table's order and attributes are read through `readAttrs`,
 * so an implementation sees them typed (`KernelAttrs<N>`), defaults filled in.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  KERNELS,
  isKernelName,
  readAttrs,
  type KernelAttrs,
  type KernelCallAttrs,
  type KernelInputName,
  type KernelName,
  type KernelOutputNames,
} from './table.js';

/** The tensors of a call of kernel `N`, by input name. */
export type KernelInputs<N extends KernelName> = { readonly [I in KernelInputName<N>]: tf.Tensor };

type Tensors<T extends readonly string[]> = { -readonly [I in keyof T]: tf.Tensor };

/** What kernel `N` returns: one tensor, or a tuple with one tensor per output. */
export type KernelOutputs<N extends KernelName> =
  KernelOutputNames<N> extends readonly [string] ? tf.Tensor : Tensors<KernelOutputNames<N>>;

type AttrsArg<N extends KernelName> =
  Record<string, never> extends KernelCallAttrs<N>
    ? [attrs?: KernelCallAttrs<N>]
    : [attrs: KernelCallAttrs<N>];

/**
 * Runs the named kernel `name` on the current backend (`tf.engine().runKernel`), typed by the
 * table: its inputs by name, its attributes (those with a default may be left out), its
 * outputs as a tensor or a tuple.
 */
export function runKernel<N extends KernelName>(
  name: N,
  inputs: KernelInputs<N>,
  ...[attrs]: AttrsArg<N>
): KernelOutputs<N> {
  return tf.engine().runKernel(name, { ...inputs }, { ...attrs }) as KernelOutputs<N>;
}

/** A kernel of the table over flat float32 arrays. */
export interface ArrayKernelSpec<N extends KernelName> {
  /** The kernel name (the TensorFlow.js `kernelName`); its inputs are the table's, in order. */
  readonly name: N;
  /** Output shapes from input shapes and attributes, one per output of the table. */
  outputShapes(shapes: readonly (readonly number[])[], attrs: KernelAttrs<N>): number[][];
  /** Fills `outs` (zero-initialised, one per output shape) from `ins`. */
  compute(
    ins: readonly Float32Array[],
    outs: Float32Array[],
    shapes: readonly (readonly number[])[],
    attrs: KernelAttrs<N>,
  ): void;
}

/** The backends whose memory an {@link arrayKernel} knows how to reach. */
export const ARRAY_BACKENDS = ['cpu', 'wasm'] as const;
/** One of {@link ARRAY_BACKENDS}. */
export type ArrayBackend = (typeof ARRAY_BACKENDS)[number];

/** Whether `backendName` is one of {@link ARRAY_BACKENDS}. */
export function isArrayBackend(backendName: string): backendName is ArrayBackend {
  return (ARRAY_BACKENDS as readonly string[]).includes(backendName);
}

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

/** The inputs of a call of `name` in the table's order. */
function tableInputs(name: KernelName, inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return KERNELS[name].inputs.map((n) => {
    const info = inputs[n];
    if (info === undefined) throw new TypeError(`kernel ${name}: input ${n} is missing`);
    return info;
  });
}

/** The inputs of a call of `name` in the table's order, each checked to be float32. */
function float32Inputs(name: KernelName, inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  const infos = tableInputs(name, inputs);
  infos.forEach((info, i) => requireFloat32(name, KERNELS[name].inputs[i], info));
  return infos;
}

/** The output shapes of a call, one per output of the table. */
function outputShapes<N extends KernelName>(
  spec: ArrayKernelSpec<N>,
  shapes: readonly (readonly number[])[],
  attrs: KernelAttrs<N>,
): number[][] {
  const outShapes = spec.outputShapes(shapes, attrs);
  const want = KERNELS[spec.name].outputs.length;
  if (outShapes.length !== want) {
    throw new Error(`kernel ${spec.name}: ${outShapes.length} output shapes for ${want} outputs`);
  }
  return outShapes;
}

function cpuKernel<N extends KernelName>(spec: ArrayKernelSpec<N>): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as CpuLike;
    const a = readAttrs(spec.name, attrs);
    const infos = float32Inputs(spec.name, inputs);
    const ins = infos.map((info) => be.data.get(info.dataId).values as Float32Array);
    const shapes = infos.map((info) => info.shape);
    const outShapes = outputShapes(spec, shapes, a);
    const outs = outShapes.map((s) => new Float32Array(size(s)));
    spec.compute(ins, outs, shapes, a);
    const result = outShapes.map((s, i) => be.makeTensorInfo(s, 'float32', outs[i]));
    return result.length === 1 ? result[0] : result;
  };
}

function wasmKernel<N extends KernelName>(spec: ArrayKernelSpec<N>): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as WasmLike;
    const a = readAttrs(spec.name, attrs);
    const infos = float32Inputs(spec.name, inputs);
    const shapes = infos.map((info) => info.shape);
    const outShapes = outputShapes(spec, shapes, a);
    // Allocate first: growing the heap detaches earlier views.
    const outInfos = outShapes.map((s) => be.makeOutput(s, 'float32'));
    const ins = infos.map((info) => be.typedArrayFromHeap(info));
    const outs = outInfos.map((info) => {
      const view = be.typedArrayFromHeap(info);
      view.fill(0);
      return view;
    });
    spec.compute(ins, outs, shapes, a);
    return outInfos.length === 1 ? outInfos[0] : outInfos;
  };
}

/**
 * The kernel config of `spec` for `backendName`, one of {@link ARRAY_BACKENDS} (registered by
 * the engine's `registerAll`).
 */
export function arrayKernel<N extends KernelName>(
  spec: ArrayKernelSpec<N>,
  backendName: ArrayBackend,
): tf.KernelConfig {
  return {
    kernelName: spec.name,
    backendName,
    kernelFunc: backendName === 'cpu' ? cpuKernel(spec) : wasmKernel(spec),
  };
}

/**
 * The kernel config of a kernel written with TensorFlow.js ops, for any backend (registered by
 * the engine's `registerAll`). The ops run on the same backend inside the kernel;
 * intermediates are freed and only the outputs survive.
 *
 * For a kernel of the table, `fn` gets its inputs by the table's names and its attributes
 * typed (through `readAttrs`). Any other name (a TensorFlow.js kernel replaced on a backend,
 * see `src/lib/engine/conv-grad.ts`) gets TensorFlow.js's untyped inputs and attributes.
 */
export function opsKernel<N extends KernelName>(
  name: N,
  backendName: string,
  fn: (inputs: KernelInputs<N>, attrs: KernelAttrs<N>) => tf.Tensor | tf.Tensor[],
): tf.KernelConfig;
export function opsKernel(
  name: string,
  backendName: string,
  fn: (inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[],
): tf.KernelConfig;
export function opsKernel(
  name: string,
  backendName: string,
  fn: (inputs: never, attrs: never) => tf.Tensor | tf.Tensor[],
): tf.KernelConfig {
  // Either signature: the inputs and attributes below are those of `name` (checked for a
  // kernel of the table).
  const run = fn as (inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => tf.Tensor | tf.Tensor[];
  return {
    kernelName: name,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const a = (isKernelName(name) ? readAttrs(name, attrs) : (attrs ?? {})) as tf.NamedAttrMap;
      if (isKernelName(name)) tableInputs(name, inputs);
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
      const out = tf.tidy(() => run(named, a));
      tf.dispose(made);
      return out;
    },
  };
}
