/**
 * Backend selection in a browser: `auto | webgpu | webgl | wasm | cpu`.
 *
 * `auto` takes the first of {@link BROWSER_BACKEND_ORDER} that initialises here, skipping WebGL
 * on a software renderer ({@link softwareWebGl}). `wasm` and
 * `cpu` come with this entry; `webgpu` and `webgl` are used when the page has imported
 * `@tensorflow/tfjs-backend-webgpu` / `@tensorflow/tfjs-backend-webgl` (they are not
 * dependencies of the library).
 *
 * The stcsnn kernels come from the engine's `registerAll` (`kernel-registry.ts`), and the backends start
 * through the same loop as in Node (`start.ts`): `cpu` and `wasm` get the array kernels of
 * `src/lib/core`, a GPU backend the kernels written with TensorFlow.js ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ConfigError } from '../core/config.js';
import { startFirstBackend } from './start.js';

/** Backends a browser page can ask for. */
export const BROWSER_BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
/** A backend request in a browser. */
export type BrowserBackendRequest = (typeof BROWSER_BACKENDS)[number];
/** A backend that runs. */
export type BrowserBackendName = Exclude<BrowserBackendRequest, 'auto'>;
/** The order `auto` tries: fastest first. */
export const BROWSER_BACKEND_ORDER: readonly BrowserBackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Options of {@link initBrowserBackend}. */
export interface BrowserBackendOptions {
  /**
   * Where the wasm backend finds its `.wasm` files: a URL prefix ending in `/`, or a map from
   * file name (`tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm`,
   * `tfjs-backend-wasm-threaded-simd.wasm`) to URL. Default: tfjs's (next to the script).
   */
  readonly wasmPaths?: string | Record<string, string>;
}

/** Checks a backend request (e.g. from a URL parameter). */
export function parseBrowserBackend(value: string): BrowserBackendRequest {
  if ((BROWSER_BACKENDS as readonly string[]).includes(value)) return value as BrowserBackendRequest;
  throw new ConfigError(`backend must be one of ${BROWSER_BACKENDS.join(', ')}; got ${value}`);
}

/**
 * Whether WebGL here is a software rasteriser (SwiftShader, llvmpipe: headless or GPU-less
 * browsers), where the wasm backend is several times faster; `auto` then skips WebGL.
 */
export function softwareWebGl(): boolean {
  if (typeof document === 'undefined') return false;
  const gl =
    document.createElement('canvas').getContext('webgl2') ??
    document.createElement('canvas').getContext('webgl');
  if (!gl) return false;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
}

let current: BrowserBackendName | undefined;

/**
 * Makes `request` the active TensorFlow.js backend with gradients and the stcsnn kernels.
 * @returns the backend that runs
 * @throws ConfigError for an unknown request; BackendStartError (`start.ts`) when no backend can
 *   start (the message: `no backend could start (NAME: WHY; ...)`)
 */
export async function initBrowserBackend(
  request: BrowserBackendRequest = 'auto',
  opts: BrowserBackendOptions = {},
): Promise<BrowserBackendName> {
  parseBrowserBackend(request);
  if (current && (request === 'auto' || request === current) && tf.getBackend() === current) return current;
  tf.enableProdMode();
  if (opts.wasmPaths) setWasmPaths(opts.wasmPaths);
  const order = request === 'auto' ? BROWSER_BACKEND_ORDER : [request];
  const { name } = await startFirstBackend(
    order.map((name) => ({
      name,
      check: () => {
        if (!tf.findBackendFactory(name)) throw new Error('not loaded');
        if (request === 'auto' && name === 'webgl' && softwareWebGl()) throw new Error('a software renderer');
      },
    })),
  );
  current = name;
  return name;
}

/** The backend {@link initBrowserBackend} chose, or undefined before. */
export function activeBrowserBackend(): BrowserBackendName | undefined {
  return current;
}
