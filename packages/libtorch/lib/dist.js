/**
 * Collectives of c10d (libtorch's distributed engine) over this backend's tensors: a TCPStore
 * rendezvous and a Gloo (CPU) or NCCL (CUDA builds) process group. Every call that talks to
 * other ranks returns a Promise that settles when the collective is done, so JavaScript can
 * prepare the next bucket while Gloo's threads move this one.
 *
 * stcsnn's `src/lib/distributed/` builds its process groups, samplers and gradient averaging on this.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon } from './native.js';

/**
 * Whether c10d was compiled into the addon (it needs gloo's headers at build time).
 * @returns {{ available: true, backends: string[] } | { available: false, reason: string }}
 */
export function distAvailability() {
  let addon;
  try {
    addon = loadAddon();
  } catch (e) {
    return { available: false, reason: /** @type {Error} */ (e).message };
  }
  if (typeof addon.distInfo !== 'function') {
    return { available: false, reason: 'the addon predates c10d support; run `npm run build -w stcsnn-libtorch`' };
  }
  const i = addon.distInfo();
  return i.available ? { available: true, backends: i.backends } : { available: false, reason: i.reason };
}

/**
 * The addon's tensor id behind a float32 tensor of the `libtorch` backend.
 * @param {tf.Tensor} t
 * @returns {number}
 */
function nativeId(t) {
  if (t.dtype !== 'float32') throw new Error(`all-reduce takes float32 tensors; got ${t.dtype}`);
  const be = /** @type {any} */ (tf.engine().findBackend('libtorch'));
  const entry = be?.data?.get(t.dataId);
  if (!entry) throw new Error('all-reduce takes tensors of the libtorch backend (tf.setBackend("libtorch"))');
  return entry.id;
}

/** A c10d process group. */
export class NativeProcessGroup {
  /**
   * @param {number} handle the addon's handle
   * @param {number} rank
   * @param {number} worldSize
   * @param {string} backend
   */
  constructor(handle, rank, worldSize, backend) {
    this.handle = handle;
    this.rank = rank;
    this.worldSize = worldSize;
    this.backend = backend;
  }

  /**
   * Sums (`sum`) or averages (`avg`) each tensor over the ranks, **in place**: the caller must
   * hold the only reference to each tensor (e.g. a fresh concatenation) and keep it alive until
   * the promise settles. Tensors are float32, contiguous, on the libtorch backend.
   * @param {tf.Tensor[]} tensors
   * @param {'sum' | 'avg'} [op]
   * @returns {Promise<void>}
   */
  allReduce(tensors, op = 'sum') {
    return loadAddon().distAllReduce(this.handle, tensors.map(nativeId), op === 'avg');
  }

  /**
   * As {@link allReduce}, but blocks the calling thread until the collective is done (or the
   * group's timeout): for the few small tensors a synchronous kernel or gradient must reduce
   * in the middle of a forward or backward pass (synchronised batch norm). Every rank must
   * issue its collectives, synchronous or not, in the same order.
   * @param {tf.Tensor[]} tensors
   * @param {'sum' | 'avg'} [op]
   * @returns {void}
   */
  allReduceSync(tensors, op = 'sum') {
    loadAddon().distAllReduceSync(this.handle, tensors.map(nativeId), op === 'avg');
  }

  /** Resolves when every rank has called it. @returns {Promise<void>} */
  barrier() {
    return loadAddon().distBarrier(this.handle);
  }

  /**
   * Publishes `value` under `key` and resolves with every rank's value, by rank (through the
   * rendezvous store; waits up to the group's timeout for the others).
   * @param {string} key @param {string} value @returns {Promise<string[]>}
   */
  exchange(key, value) {
    return loadAddon().distExchange(this.handle, key, value);
  }

  /** Closes the group (its connections; rank 0 also stops serving the store). */
  destroy() {
    loadAddon().distDestroy(this.handle);
  }
}

/**
 * Rendezvous at `masterAddr:masterPort` (rank 0 serves the store there) and connects the ranks.
 * @param {{ backend?: 'gloo' | 'nccl', masterAddr: string, masterPort: number, rank: number, worldSize: number, timeoutMs: number, iface?: string }} o
 *   iface: the network interface Gloo uses (default `GLOO_SOCKET_IFNAME`, else loopback when the
 *   master is loopback, else this host's name)
 * @returns {Promise<NativeProcessGroup>}
 */
export async function initNativeProcessGroup(o) {
  const a = distAvailability();
  if (!a.available) throw new Error(`distributed training needs c10d: ${a.reason}`);
  const backend = o.backend ?? 'gloo';
  const iface = o.iface ?? process.env.GLOO_SOCKET_IFNAME ?? '';
  const h = await loadAddon().distInit(backend, o.masterAddr, o.masterPort, o.rank, o.worldSize, o.timeoutMs, iface);
  return new NativeProcessGroup(h, o.rank, o.worldSize, backend);
}
