/**
 * stcsnn-libtorch: a TensorFlow.js backend over libtorch (ATen), registered as `libtorch`.
 */
import type { KernelBackend } from '@tensorflow/tfjs-core';

/** The name the backend is registered under. */
export declare const BACKEND_NAME: 'libtorch';
/** Where the compiled addon is expected. */
export declare const ADDON_PATH: string;

/** Options of {@link registerLibtorchBackend}. */
export interface LibtorchOptions {
  /** libtorch intra-op threads (`at::set_num_threads`); default `STCSNN_THREADS` or all cores. */
  threads?: number;
  /** `cpu` (default) or `cuda` (`cuda:N`); `cuda` needs a CUDA libtorch and a visible GPU. */
  device?: 'cpu' | 'cuda' | `cuda:${number}`;
  /** Make every fallback to the cpu backend an error (default `STCSNN_LIBTORCH_STRICT=1`). */
  strict?: boolean;
  /**
   * Convolutions and their two gradients in bfloat16 (on the CPU or CUDA); parameters, their
   * gradients, the SGD step, batch norm and the STC encoder in float32
   * (default `STCSNN_LIBTORCH_BF16=1`).
   */
  bf16?: boolean;
}

/**
 * Loads the addon and registers the `libtorch` backend with its native kernels and cpu
 * fallbacks (once; later calls update threads, device and strict mode).
 *
 * @throws Error (one line) when the addon is missing or cannot load, or CUDA is requested where
 *   libtorch has none
 */
export declare function registerLibtorchBackend(opts?: LibtorchOptions): Promise<void>;

/** Registers cpu fallbacks for cpu kernels registered since; returns how many were added. */
export declare function registerFallbacks(): number;

/** Whether the addon is built and loads here. */
export declare function libtorchAvailability():
  { ok: true; torch: string; mkldnn: boolean; cuda: boolean } | { ok: false; reason: string };

/** Kernel name -> calls that ran on the cpu backend. */
export declare function fallbackCounts(): Record<string, number>;
/** Resets the fallback counters (warnings are not repeated). */
export declare function resetFallbackCounts(): void;
/** Turns strict mode on or off. */
export declare function setStrict(on: boolean): void;
/** The kernels with a native implementation. */
export declare function nativeKernelNames(): string[];
/** What CUDA the addon has here. */
export interface CudaInfo {
  /** The addon was built against a libtorch with CUDA (torch_cuda linked). */
  built: boolean;
  /** `device: 'cuda'` works (built with CUDA and at least one GPU visible). */
  available: boolean;
  /** Why it does not ('' when it does): one line, saying how to fix it. */
  problem: string;
  devices: number;
  cudnn: boolean;
  /** cuDNN version as an integer (e.g. 90100), -1 when none. */
  cudnnVersion: number;
  /** CUDA runtime version as an integer (e.g. 13000), -1 when unknown. */
  cudaRuntime: number;
  /** Whether the bf16 autocast of convolutions is on. */
  bf16: boolean;
}

/** Waits for the GPU's queued work (for timing); nothing on the CPU. */
export declare function synchronizeDevice(): void;

/** Threads, device, strict mode, libtorch version, CUDA and live native tensors. */
export declare function libtorchInfo(): {
  cxx11Abi: boolean;
  /** ATen's parallel configuration (OpenMP, threads). */
  parallel: string;
  mkldnn: boolean;
  cuda: CudaInfo;
  /** The torch the addon was built against and the one found at that place now. */
  builtAgainst: { built: string; libdir: string; now: string } | undefined;
  threads: number;
  device: string;
  strict: boolean;
  torch: string;
  liveTensors: number;
  /**
   * The pool allocator of ATen's blocks of 256 KiB and more (bytes): in use now, the peak in
   * use, and the largest extent handed out in one region (an upper bound of its resident
   * memory). `installed` is false with STCSNN_LIBTORCH_ALLOCATOR=malloc.
   */
  pool: { installed: boolean; inUse: number; peakInUse: number; touched: number };
  /** glibc's heap (bytes): its size, the part in use, the part free inside it, and mmapped blocks. */
  heap: { heap: number; inUse: number; free: number; mapped: number };
};

/**
 * Gives the memory of the pool allocator's free blocks back to the system (e.g. after
 * training); returns the bytes released. Live tensors are not touched.
 */
export declare function releaseLibtorchMemory(): number;

/** The backend class (tensors are ATen tensors held by the addon). */
export declare class LibtorchBackend extends KernelBackend {
  strict: boolean;
  device: string;
  readonly fallbacks: Map<string, number>;
}

/** Whether c10d (TCPStore, ProcessGroupGloo, ProcessGroupNCCL in CUDA builds) is compiled in. */
export declare function distAvailability():
  { available: true; backends: string[] } | { available: false; reason: string };

/** A c10d process group over this backend's tensors. */
export declare class NativeProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: string;
  /**
   * Sums or averages each float32 tensor over the ranks in place; the caller holds the only
   * reference to each until the promise settles.
   */
  allReduce(tensors: import('@tensorflow/tfjs-core').Tensor[], op?: 'sum' | 'avg'): Promise<void>;
  /**
   * As `allReduce`, blocking the calling thread until done (small tensors inside a synchronous
   * kernel or gradient, e.g. synchronised batch norm).
   */
  allReduceSync(tensors: import('@tensorflow/tfjs-core').Tensor[], op?: 'sum' | 'avg'): void;
  /** Resolves when every rank has called it. */
  barrier(): Promise<void>;
  /** Publishes `value` under `key`; resolves with every rank's value, by rank. */
  exchange(key: string, value: string): Promise<string[]>;
  /** Closes the group. */
  destroy(): void;
}

/** Rendezvous at masterAddr:masterPort (rank 0 serves the TCPStore) and connect the ranks. */
export declare function initNativeProcessGroup(o: {
  backend?: 'gloo' | 'nccl';
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  timeoutMs: number;
  iface?: string;
}): Promise<NativeProcessGroup>;
