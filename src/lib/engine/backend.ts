/**
 * Backend selection for Node: `auto | wasm | cpu | libtorch`.
 *
 * - `wasm`: TensorFlow.js's WebAssembly backend with SIMD, single-threaded in Node, with both
 *   convolution gradients computed as forward convolutions (see `conv-grad.ts`).
 * - `cpu`: TensorFlow.js's plain JavaScript backend (slow; a numerical reference).
 * - `libtorch`: the native backend of the `stcsnn-libtorch` package, where it is installed and
 *   built.
 * - `auto`: `libtorch` when it loads, else `wasm` (with a one-line notice saying why).
 *
 * Each backend gets stcsnn's kernels from `registerAll` (`kernel-registry.ts`) as it starts, in the
 * start-up loop that the browser's backends go through too (`start.ts`).
 *
 * The precision (`fp32`, or `bf16` convolutions on libtorch) is chosen with the backend
 * (`precision.ts`).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigError } from '../core/config.js';
import { registerGradientsNode } from './gradients-node.js';
import { registerAll } from './kernel-registry.js';
import {
  resolvePrecision,
  type Precision,
  type PrecisionChoice,
  type PrecisionRequest,
} from './precision.js';
import { BackendStartError, startFirstBackend, type BackendCandidate, type StartedBackend } from './start.js';

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
  /** Arithmetic precision (default `fp32`; `bf16` needs libtorch; see `precision.ts`). */
  precision?: PrecisionRequest;
  /** Called with one-line notices (e.g. why `auto` did not pick `libtorch`). */
  onNotice?: (line: string) => void;
}

/** What {@link initBackend} chose. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly notice?: string;
  /** The native backend's thread count (asked for, or every core); undefined for the others. */
  readonly threads?: number;
  /** The precision that runs (`auto` resolved). */
  readonly precision: Precision;
  /** The one-line notice about the precision (why `auto` chose it, or bf16 not native), if any. */
  readonly precisionNotice?: string;
}

/** Checks a `--backend` value. */
export function parseBackend(value: string): BackendRequest {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new ConfigError(`backend must be one of ${BACKENDS.join(', ')}; got ${value}`);
}

interface LibtorchModule {
  registerLibtorchBackend(opts: {
    threads?: number;
    device?: 'cpu' | 'cuda';
    bf16?: boolean;
  }): Promise<void> | void;
}

async function loadLibtorch(opts: BackendOptions, precision: Precision): Promise<void> {
  let mod: LibtorchModule;
  try {
    mod = (await import('stcsnn-libtorch' as string)) as LibtorchModule;
  } catch (e) {
    throw new Error(
      `the libtorch backend is not installed (package stcsnn-libtorch): ${(e as Error).message}`,
    );
  }
  await mod.registerLibtorchBackend({
    threads: opts.threads,
    device: opts.device,
    bf16: precision === 'bf16',
  });
}

/** A requested backend that cannot load here (a missing library, no CUDA); the message says how to fix it. */
export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendError';
  }
}

let current: (BackendInfo & { precisionRequest: PrecisionRequest }) | undefined;

/**
 * Makes `request` the active TensorFlow.js backend, with gradients and the stcsnn kernels
 * registered. Calling it again with the same request is cheap.
 *
 * @throws ConfigError for an unknown request, or `bf16` where libtorch does not run; Error when an
 *   explicitly requested backend cannot load
 */
export async function initBackend(
  request: BackendRequest = 'auto',
  opts: BackendOptions = {},
): Promise<BackendInfo> {
  parseBackend(request);
  const precisionRequest = opts.precision ?? 'fp32';
  const device = opts.device ?? 'cpu';
  if (
    current &&
    (request === 'auto' || request === current.name) &&
    tf.getBackend() === current.name &&
    precisionRequest === current.precisionRequest
  ) {
    return current;
  }
  // Production mode: no debug checks, and no console advice about tfjs-node.
  tf.enableProdMode();
  await registerGradientsNode();
  // the reference backend, and where libtorch runs a kernel it lacks (its fallbacks copy cpu's)
  registerAll('cpu');
  let choice: PrecisionChoice = { precision: 'fp32' };
  const candidates: BackendCandidate<BackendName>[] = [];
  if (request === 'libtorch' || request === 'auto') {
    candidates.push({
      name: 'libtorch',
      check: async () => {
        choice = resolvePrecision(precisionRequest, { backend: 'libtorch', device });
        await loadLibtorch(opts, choice.precision);
      },
    });
  }
  // --device cuda: only libtorch can serve it, so auto has nothing to fall back to
  const fallback = request === 'auto' ? (opts.device === 'cuda' ? undefined : 'wasm') : request;
  if (fallback !== undefined && fallback !== 'libtorch') {
    candidates.push({
      name: fallback,
      check: () => {
        if (opts.device === 'cuda') {
          throw new ConfigError(
            `device cuda needs the libtorch backend; the ${fallback} backend runs on the CPU`,
          );
        }
        choice = resolvePrecision(precisionRequest, { backend: fallback, device });
      },
    });
  }
  let started: StartedBackend<BackendName>;
  try {
    started = await startFirstBackend(candidates);
  } catch (e) {
    if (!(e instanceof BackendStartError)) throw e;
    const last = e.failures.at(-1)!;
    if (last.stage === 'start')
      throw last.error ?? new Error(`the ${last.name} backend failed to initialise`);
    // libtorch could not load (asked for, or --device cuda): its reason is the error
    throw new BackendError(last.reason.split('\n')[0]);
  }
  const name = started.name;
  const skipped = started.skipped[0];
  const notice = skipped ? `using the wasm backend (${skipped.reason.split('\n')[0]})` : undefined;
  const precision = choice;
  if (notice) opts.onNotice?.(notice);
  if (precision.notice) opts.onNotice?.(precision.notice);
  current = {
    name,
    notice,
    threads: name === 'libtorch' ? (opts.threads ?? availableParallelism()) : undefined,
    precision: precision.precision,
    precisionNotice: precision.notice,
    precisionRequest,
  };
  return current;
}

/** The backend now active, or undefined before {@link initBackend}. */
export function activeBackend(): BackendInfo | undefined {
  return current;
}

/** The backend as headers name it: `libtorch`, or `libtorch (bf16)` where convolutions run in bf16. */
export function backendLabel(info: { readonly name: string; readonly precision?: Precision }): string {
  return info.precision === 'bf16' ? `${info.name} (bf16)` : info.name;
}
