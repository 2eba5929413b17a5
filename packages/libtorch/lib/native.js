/**
 * Loads the compiled addon (`build/Release/stcsnn_libtorch.node`) and describes its interface.
 * Loading fails with a one-line error naming what is missing and how to fix it.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Where the addon is: `STCSNN_LIBTORCH_ADDON` (e.g. beside a bundled CLI, see scripts/bundle.mjs
 * of stcsnn), else where the package builds it.
 */
export const ADDON_PATH =
  process.env.STCSNN_LIBTORCH_ADDON || join(root, 'build', 'Release', 'stcsnn_libtorch.node');

/**
 * The torch the addon was built against (`libtorch.json` beside it, written by
 * scripts/install.js) and the torch version found now at that place, or undefined.
 * @returns {{ built: string, libdir: string, now: string } | undefined}
 */
export function builtAgainst() {
  try {
    const b = JSON.parse(readFileSync(join(dirname(ADDON_PATH), 'libtorch.json'), 'utf8'));
    const inc = b.include?.[0];
    const vh = inc ? join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h') : '';
    const m = vh && existsSync(vh) ? /TORCH_VERSION\s+\\?\s*"([^"]+)"/.exec(readFileSync(vh, 'utf8')) : null;
    return { built: String(b.version), libdir: String(b.libdir), now: m ? m[1] : 'none' };
  } catch {
    return undefined;
  }
}

/**
 * @typedef {object} NativeAddon
 * @property {(values: ArrayBufferView | null, shape: number[], dtype: number) => number} write
 * @property {(id: number) => Float32Array | Int32Array | Uint8Array} read
 * @property {(id: number) => void} free
 * @property {() => number} live
 * @property {() => { installed: boolean, inUse: number, peakInUse: number, touched: number }} allocatorStats
 * @property {() => { heap: number, inUse: number, free: number, mapped: number }} heapStats
 * @property {() => number} releaseFreeMemory
 * @property {(meta: Int32Array) => void} setMeta
 * @property {(n: number) => number} setThreads
 * @property {() => number} getThreads
 * @property {() => boolean} hasCuda
 * @property {(device: string) => void} setDevice
 * @property {() => { torch: string, mkldnn: boolean, cuda: boolean, parallel: string, cxx11Abi: boolean }} version
 * @property {() => { built: boolean, available: boolean, problem: string, devices: number, cudnn: boolean, cudnnVersion: number, cudaRuntime: number, bf16: boolean }} cudaInfo
 * @property {(bf16: boolean) => void} setAutocast
 * @property {() => void} synchronize
 * @property {Record<string, number>} unaryCodes
 * @property {Record<string, number>} binaryCodes
 * @property {Record<string, number>} reduceCodes
 * @property {(...args: (number | number[] | boolean | string)[]) => number} [op]
 */

/** @type {NativeAddon | undefined} */
let cached;

/**
 * The addon, loaded once.
 * @returns {NativeAddon & Record<string, (...args: any[]) => any>}
 */
export function loadAddon() {
  if (cached) return /** @type {any} */ (cached);
  if (!existsSync(ADDON_PATH)) {
    throw new Error(
      'stcsnn-libtorch is not built (no build/Release/stcsnn_libtorch.node): install libtorch-dev and libopenblas0-pthread (Debian) or set LIBTORCH, then run `npm run build -w stcsnn-libtorch`',
    );
  }
  // libgomp (libtorch's OpenMP) runs with its own idle policy (or OMP_WAIT_POLICY /
  // GOMP_SPINCOUNT where set): a shorter spin (2000, the default until 2026-12-08) was slower
  // by the rule of docs/bench.md ("libgomp's spin count"), quiet and loaded.
  const require = createRequire(import.meta.url);
  try {
    cached = require(ADDON_PATH);
  } catch (e) {
    const msg = String(/** @type {Error} */ (e).message).split('\n')[0];
    const b = builtAgainst();
    if (b && b.now !== b.built) {
      throw new Error(
        `stcsnn-libtorch was built against torch ${b.built} but ${b.now === 'none' ? 'no torch' : `torch ${b.now}`} is installed at ${b.libdir} (${msg}): rebuild with \`npm run build -w stcsnn-libtorch\``,
      );
    }
    const lib = /(lib[\w.+-]+\.so[\w.]*)/.exec(msg);
    if (lib) {
      throw new Error(
        `stcsnn-libtorch cannot load ${lib[1]} (${msg.includes('version') || msg.includes('symbol') ? 'incompatible libtorch version' : 'shared library missing'}): reinstall the libtorch it was built against (Debian: libtorch-dev libopenblas0-pthread) or rebuild with \`npm run build -w stcsnn-libtorch\``,
      );
    }
    throw new Error(
      `stcsnn-libtorch failed to load: ${msg}; rebuild with \`npm run build -w stcsnn-libtorch\``,
    );
  }
  return /** @type {any} */ (cached);
}
