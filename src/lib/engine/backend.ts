/**
 * Backend selection for Node: `auto | wasm | cpu | libtorch`.
 *
 * - `wasm`: TensorFlow.js's WebAssembly backend with SIMD, single-threaded in Node, with both
 *   convolution gradients computed as forward convolutions (see `conv-grad.ts`).
 *
 * Each backend gets stcsnn's kernels from `registerAll` (`kernels.ts`) as it starts.
 * - `cpu`: TensorFlow.js's plain JavaScript backend (slow; a numerical reference).
 * - `libtorch`: the native backend of the `stcsnn-libtorch` package, where it is installed and
 *   built.
 * - `auto`: `libtorch` when it loads, else `wasm` (with a one-line notice saying why).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigError } from '../core/config.js';
import { registerGradientsNode } from './gradients-node.js';
import { registerAll } from './kernels.js';

/** The backends `initBackend` accepts (`auto`: libtorch when it loads, else wasm). */
export const BACKENDS = ['auto', 'wasm', 'cpu', 'libtorch'] as const;
/** A backend request. */
export type BackendRequest = (typeof BACKENDS)[number];
/** A backend that actually runs. */
export type BackendName = Exclude<BackendRequest, 'auto'>;

/** Options for {@link initBackend}. */
export interface BackendOptions {
  /** Threads for native backends (default: all available cores). */
  threads?: number;
  /** Device for native backends (default `cpu`). */
  device?: 'cpu' | 'cuda';
  /** Called with one-line notices (e.g. why `auto` did not pick `libtorch`). */
  onNotice?: (line: string) => void;
}

/** What {@link initBackend} chose. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly notice?: string;
  /** The native backend's thread count (asked for, or every core); undefined for the others. */
  readonly threads?: number;
}

/** Checks a `--backend` value. */
export function parseBackend(value: string): BackendRequest {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new ConfigError(`backend must be one of ${BACKENDS.join(', ')}; got ${value}`);
}

interface LibtorchModule {
  registerLibtorchBackend(opts: { threads?: number; device?: 'cpu' | 'cuda' }): Promise<void> | void;
}

async function loadLibtorch(opts: BackendOptions): Promise<void> {
  let mod: LibtorchModule;
  try {
    mod = (await import('stcsnn-libtorch' as string)) as LibtorchModule;
  } catch (e) {
    throw new Error(
      `the libtorch backend is not installed (package stcsnn-libtorch): ${(e as Error).message}`,
    );
  }
  await mod.registerLibtorchBackend({ threads: opts.threads, device: opts.device });
}

/** A requested backend that cannot load here (a missing library, no CUDA); the message says how to fix it. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

let current: BackendInfo | undefined;

/**
 * Makes `request` the active TensorFlow.js backend, with gradients and the stcsnn kernels
 * registered. Calling it again with the same request is cheap.
 *
 * @throws ConfigError for an unknown request; Error when an explicitly requested backend cannot load
 */
export async function initBackend(
  request: BackendRequest = 'auto',
  opts: BackendOptions = {},
): Promise<BackendInfo> {
  parseBackend(request);
  if (current && (request === 'auto' || request === current.name) && tf.getBackend() === current.name) {
    return current;
  }
  // Production mode: no debug checks, and no console advice about tfjs-node.
  tf.enableProdMode();
  await registerGradientsNode();
  // the reference backend, and where libtorch runs a kernel it lacks (its fallbacks copy cpu's)
  registerAll('cpu');
  let notice: string | undefined;
  let name: BackendName;
  if (request === 'libtorch' || request === 'auto') {
    try {
      await loadLibtorch(opts);
      name = 'libtorch';
    } catch (e) {
      // --device cuda: only libtorch can serve it, so its reason is the error (auto too)
      if (request === 'libtorch' || opts.device === 'cuda') {
        throw new BackendError((e as Error).message.split('\n')[0]);
      }
      notice = `using the wasm backend (${(e as Error).message.split('\n')[0]})`;
      name = 'wasm';
    }
  } else {
    name = request;
  }
  if (opts.device === 'cuda' && name !== 'libtorch') {
    throw new ConfigError(`device cuda needs the libtorch backend; the ${name} backend runs on the CPU`);
  }
  registerAll(name);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`the ${name} backend failed to initialise`);
  await tf.ready();
  if (notice) opts.onNotice?.(notice);
  current = {
    name,
    notice,
    threads: name === 'libtorch' ? (opts.threads ?? availableParallelism()) : undefined,
  };
  return current;
}

/** The backend now active, or undefined before {@link initBackend}. */
export function activeBackend(): BackendInfo | undefined {
  return current;
}
