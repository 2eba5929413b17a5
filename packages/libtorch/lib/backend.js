/**
 * `LibtorchBackend`: a TensorFlow.js `KernelBackend` whose tensors are ATen tensors held by the
 * addon. JavaScript keeps, per TensorFlow.js `dataId`, the addon's integer id, the shape, the
 * dtype and a reference count; `disposeData` frees the ATen tensor at once, so `tf.dispose`
 * and `tf.tidy` release native memory deterministically (no garbage-collection finalizers).
 *
 * Supported dtypes: float32, int32, bool (`string` and `complex64` kernels run on the cpu
 * backend through the fallback, see `fallback.js`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** TensorFlow.js dtype -> addon dtype code. */
export const DTYPE_CODE = /** @type {const} */ ({ float32: 0, int32: 1, bool: 2 });
/** Addon dtype code -> TensorFlow.js dtype. */
export const CODE_DTYPE = /** @type {const} */ (['float32', 'int32', 'bool']);

/**
 * @typedef {object} Entry
 * @property {number} id      the addon's tensor id
 * @property {number[]} shape the shape the tensor was made with
 * @property {tf.DataType} dtype
 * @property {number} refCount
 */

/** @param {tf.DataType} dtype @returns {number} */
export function dtypeCode(dtype) {
  const c = /** @type {Record<string, number>} */ (DTYPE_CODE)[dtype];
  if (c === undefined) throw new Error(`unsupported: dtype ${dtype} on the libtorch backend`);
  return c;
}

/** @param {readonly number[]} a @param {readonly number[]} b */
function sameShape(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class LibtorchBackend extends tf.KernelBackend {
  /**
   * @param {import('./native.js').NativeAddon & Record<string, (...args: any[]) => any>} addon
   * @param {{ strict: boolean, device: string }} options
   */
  constructor(addon, options) {
    super();
    this.addon = addon;
    this.strict = options.strict;
    this.device = options.device;
    /** Shared result buffer: per output [id, dtype, ndim, dims...]. */
    this.meta = new Int32Array(4096);
    addon.setMeta(this.meta);
    /** @type {tf.DataStorage<Entry>} */
    this.data = new tf.DataStorage(this, tf.engine());
    /** addon ids to free when the running kernel returns */
    /** @type {number[]} */
    this.temps = [];
    /** @type {Map<string, number>} kernel name -> calls that ran on the cpu backend */
    this.fallbacks = new Map();
  }

  /** @param {tf.backend_util.BackendValues | null} values @param {number[]} shape @param {tf.DataType} dtype @returns {tf.DataId} */
  write(values, shape, dtype) {
    const dataId = {};
    this.data.set(dataId, this.entry(values, shape, dtype, 1));
    return dataId;
  }

  /** @param {tf.backend_util.BackendValues | null} values @param {number[]} shape @param {tf.DataType} dtype @param {number} refCount @returns {Entry} */
  entry(values, shape, dtype, refCount) {
    const code = dtypeCode(dtype);
    if (values != null && !ArrayBuffer.isView(values)) {
      throw new Error(`unsupported: ${dtype} values of type ${Object.prototype.toString.call(values)}`);
    }
    let v = /** @type {ArrayBufferView | null} */ (values);
    if (v && dtype === 'bool' && !(v instanceof Uint8Array))
      v = Uint8Array.from(/** @type {any} */ (v), (x) => (x ? 1 : 0));
    if (v && dtype === 'int32' && !(v instanceof Int32Array)) v = Int32Array.from(/** @type {any} */ (v));
    if (v && dtype === 'float32' && !(v instanceof Float32Array))
      v = Float32Array.from(/** @type {any} */ (v));
    const id = this.addon.write(v, shape, code);
    return { id, shape: shape.slice(), dtype, refCount };
  }

  /** @param {tf.DataId} dataId @param {tf.backend_util.BackendValues} values @param {number[]} shape @param {tf.DataType} dtype @param {number} refCount */
  move(dataId, values, shape, dtype, refCount) {
    this.data.set(dataId, this.entry(values, shape, dtype, refCount));
  }

  /** @param {tf.DataId} dataId */
  refCount(dataId) {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  /** @param {tf.DataId} dataId */
  incRef(dataId) {
    this.data.get(dataId).refCount++;
  }

  numDataIds() {
    return this.data.numDataIds();
  }

  /** @param {tf.DataId} dataId @returns {Promise<tf.backend_util.BackendValues>} */
  async read(dataId) {
    return this.readSync(dataId);
  }

  /** @param {tf.DataId} dataId @returns {tf.backend_util.BackendValues} */
  readSync(dataId) {
    return this.addon.read(this.data.get(dataId).id);
  }

  /** @param {tf.DataId} dataId @param {boolean} [force] */
  disposeData(dataId, force = false) {
    if (!this.data.has(dataId)) return true;
    const e = this.data.get(dataId);
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    this.addon.free(e.id);
    this.data.delete(dataId);
    return true;
  }

  /** @param {() => void} f */
  async time(f) {
    const start = tf.util.now();
    f();
    return { kernelMs: tf.util.now() - start };
  }

  memory() {
    return { unreliable: false, numNativeTensors: this.addon.live() };
  }

  floatPrecision() {
    return /** @type {32} */ (32);
  }

  dispose() {
    // Tensors are freed by their owners; a disposed backend drops what is left.
  }

  // ---- helpers for kernels --------------------------------------------------------------------

  /**
   * The addon id of a kernel input, viewed in the input's shape (a `dataId` may be shared by
   * tensors of different shapes; then a temporary view is made and freed after the kernel).
   * @param {tf.TensorInfo} info
   * @returns {number}
   */
  id(info) {
    const e = this.data.get(info.dataId);
    if (sameShape(e.shape, info.shape)) return e.id;
    this.addon.reshape(e.id, info.shape);
    const id = this.meta[0];
    this.temps.push(id);
    return id;
  }

  /**
   * Whether a kernel input has the shape its data was made with (so that `id(info)` is the
   * data itself, not a temporary view).
   * @param {tf.TensorInfo} info
   */
  ownShape(info) {
    return sameShape(this.data.get(info.dataId).shape, info.shape);
  }

  /** Frees the temporaries of the kernel that just ran. */
  flushTemps() {
    for (const id of this.temps) this.addon.free(id);
    this.temps.length = 0;
  }

  /**
   * The outputs the addon just reported in `meta`, as TensorInfos owned by this backend.
   * @param {number} n
   * @returns {tf.TensorInfo[]}
   */
  outputs(n) {
    const m = this.meta;
    /** @type {tf.TensorInfo[]} */
    const out = [];
    let k = 0;
    for (let i = 0; i < n; i++) {
      const id = m[k];
      const dtype = CODE_DTYPE[m[k + 1]];
      const ndim = m[k + 2];
      const shape = Array.from(m.subarray(k + 3, k + 3 + ndim));
      k += 3 + ndim;
      const dataId = {};
      this.data.set(dataId, { id, shape, dtype, refCount: 1 });
      out.push({ dataId, shape, dtype });
    }
    return out;
  }

  /** @param {number} n @returns {tf.TensorInfo} the first (only) output */
  output(n) {
    return this.outputs(n)[0];
  }

  /**
   * Records a kernel that runs on the cpu backend: a one-time warning per kernel name and a
   * counter; in strict mode an error.
   * @param {string} name
   * @param {string} [why]
   */
  noteFallback(name, why) {
    if (this.strict) {
      throw new Error(
        `libtorch backend (strict): kernel ${name} has no native implementation${why ? ` (${why})` : ''}; it would run on the cpu backend`,
      );
    }
    const n = this.fallbacks.get(name) ?? 0;
    this.fallbacks.set(name, n + 1);
    if (n === 0) {
      console.warn(
        `stcsnn-libtorch: kernel ${name} runs on the cpu backend${why ? ` (${why})` : ''} (warned once; see fallbackCounts())`,
      );
    }
  }
}
