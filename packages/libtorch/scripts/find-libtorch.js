#!/usr/bin/env node
/**
 * Finds a libtorch installation for the build, in this order:
 *
 * 1. `LIBTORCH` (the unpacked libtorch archive, or any prefix with `include/` and `lib/`);
 * 2. Debian's `libtorch-dev` (`/usr/include/torch`, `/usr/lib/<triplet>/libtorch.so`);
 * 3. a Python torch installation (`python3 -c "import torch"`: its `include/` and `lib/`).
 *
 * `node scripts/find-libtorch.js <field>` prints one field for binding.gyp:
 * `include` (space-separated include dirs), `libdir`, `abi` (0 or 1: `_GLIBCXX_USE_CXX11_ABI`),
 * `cuda` (0 or 1), `gloo` (0 or 1: gloo's headers found, so the addon binds c10d's
 * ProcessGroupGloo and TCPStore), `glooinclude` (their directory, or nothing), `nccl` (0 or 1:
 * a CUDA libtorch with ProcessGroupNCCL's header and nccl.h), `json` (everything). Exits 1 with
 * a one-line reason when none is found.
 *
 * Gloo's headers come from `GLOO_INCLUDE` (a directory holding `gloo/context.h`), else the
 * libtorch prefix's `include/`, else `/usr/include` (Debian: libgloo-dev). libtorch_cpu links
 * libgloo itself; only ProcessGroupGloo.hpp needs gloo's headers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** @typedef {{ source: string, prefix: string, include: string[], libdir: string, abi: number, cuda: number, version: string, glooInclude: string, nccl: number }} Found */

/** @param {string} inc @returns {string} the directory holding gloo/context.h, or '' */
function glooIncludeFor(inc) {
  const c10d = join(inc, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp');
  if (!existsSync(c10d)) return '';
  for (const d of [process.env.GLOO_INCLUDE, inc, '/usr/include']) {
    if (d && existsSync(join(d, 'gloo', 'context.h')) && existsSync(join(d, 'gloo', 'config.h'))) return d;
  }
  return '';
}

/** @param {string} inc @param {number} cuda @returns {number} */
function ncclFor(inc, cuda) {
  if (!cuda) return 0;
  const hpp = join(inc, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupNCCL.hpp');
  const cudaInc = process.env.CUDA_HOME ? join(process.env.CUDA_HOME, 'include') : '/usr/local/cuda/include';
  return existsSync(hpp) && [inc, cudaInc, '/usr/include'].some((d) => existsSync(join(d, 'nccl.h'))) ? 1 : 0;
}

/** @param {string} includeDir @returns {string} */
function versionOf(includeDir) {
  const f = join(includeDir, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h');
  if (!existsSync(f)) return 'unknown';
  const m = /TORCH_VERSION\s+\\?\s*"([^"]+)"/.exec(readFileSync(f, 'utf8'));
  return m ? m[1] : 'unknown';
}

/** @param {string} libdir @returns {number} */
function hasCuda(libdir) {
  try {
    return readdirSync(libdir).some((f) => f.startsWith('libtorch_cuda.so') || f.startsWith('libc10_cuda.so'))
      ? 1
      : 0;
  } catch {
    return 0;
  }
}

/** @param {string} prefix @param {string} source @param {number | undefined} abi @param {string} [libdir] @returns {Found | undefined} */
function fromPrefix(prefix, source, abi, libdir) {
  const inc = join(prefix, 'include');
  const lib = libdir ?? join(prefix, 'lib');
  if (!existsSync(join(inc, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return undefined;
  let detected = abi;
  if (detected === undefined) {
    detected = 1;
    const cfg = join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
    if (existsSync(cfg)) {
      const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(cfg, 'utf8'));
      if (m) detected = Number(m[1]);
    }
  }
  const cuda = hasCuda(lib);
  return {
    source,
    prefix,
    include: [inc, join(inc, 'torch', 'csrc', 'api', 'include')],
    libdir: lib,
    abi: detected,
    cuda,
    version: versionOf(inc),
    glooInclude: glooIncludeFor(inc),
    nccl: ncclFor(inc, cuda),
  };
}

/** @returns {Found | undefined} */
function debian() {
  for (const triplet of [
    'x86_64-linux-gnu',
    'aarch64-linux-gnu',
    'powerpc64le-linux-gnu',
    's390x-linux-gnu',
  ]) {
    const lib = `/usr/lib/${triplet}`;
    const f = fromPrefix('/usr', 'debian libtorch-dev', 1, lib);
    if (f) return f;
  }
  return undefined;
}

/** @returns {Found | undefined} */
function python() {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    try {
      const out = execFileSync(
        /** @type {string} */ (py),
        [
          '-c',
          'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 },
      )
        .trim()
        .split('\n');
      const f = fromPrefix(out[0], `python torch (${py})`, Number(out[1]));
      if (f) return f;
    } catch {
      // no torch for this interpreter
    }
  }
  return undefined;
}

/** @returns {Found} */
export function findLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const f = fromPrefix(env, 'LIBTORCH', undefined);
    if (!f)
      throw new Error(
        `LIBTORCH=${env} has no include/ATen/ATen.h and lib/libtorch_cpu.so; point it at an unpacked libtorch`,
      );
    return f;
  }
  const f = debian() ?? python();
  if (!f) {
    throw new Error(
      'libtorch not found: install Debian packages libtorch-dev and libopenblas0-pthread, or set LIBTORCH to an unpacked libtorch',
    );
  }
  return f;
}

const isMain =
  process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop() ?? '');
if (isMain) {
  const field = process.argv[2] ?? 'json';
  try {
    const f = findLibtorch();
    if (field === 'include') process.stdout.write(f.include.join(' '));
    else if (field === 'libdir') process.stdout.write(f.libdir);
    else if (field === 'abi') process.stdout.write(String(f.abi));
    else if (field === 'cuda') process.stdout.write(String(f.cuda));
    else if (field === 'gloo') process.stdout.write(f.glooInclude ? '1' : '0');
    else if (field === 'glooinclude') process.stdout.write(f.glooInclude);
    else if (field === 'nccl') process.stdout.write(String(f.nccl));
    else process.stdout.write(JSON.stringify(f) + '\n');
  } catch (e) {
    process.stderr.write(`${/** @type {Error} */ (e).message}\n`);
    process.exit(1);
  }
}
