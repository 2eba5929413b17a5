#!/usr/bin/env node
/**
 * Finds a libtorch installation for the build, in this order:
 *
 * 1. `LIBTORCH` (the unpacked libtorch archive, or any prefix with `include/` and `lib/`);
 * 2. a Python torch installation with CUDA (`import torch` of `$PYTHON`, `/usr/bin/python3` or
 *    `python3`: the pip layout `site-packages/torch/{include,lib}`, with that torch's C++ ABI
 *    `torch._C._GLIBCXX_USE_CXX11_ABI`);
 * 3. Debian's `libtorch-dev` (`/usr/include/torch`, `/usr/lib/<triplet>/libtorch.so`);
 * 4. a Python torch installation without CUDA.
 *
 * `STCSNN_LIBTORCH_FROM=python|debian` takes only that source (e.g. to build against Debian's
 * python3-torch, whose `torch/{include,lib}` link to libtorch-dev's files).
 *
 * `node scripts/find-libtorch.js <field>` prints one field for binding.gyp:
 * `include` (space-separated include dirs), `libdir`, `abi` (0 or 1: `_GLIBCXX_USE_CXX11_ABI`),
 * `cuda` (0 or 1), `gloo` (0 or 1: gloo's headers found, so the addon binds c10d's
 * ProcessGroupGloo and TCPStore), `glooinclude` (their directory, or nothing), `nccl` (0 or 1:
 * a CUDA libtorch with ProcessGroupNCCL's header and nccl.h), `version`, `json` (everything). Exits 1 with
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

/**
 * A pip-layout torch package directory (`.../site-packages/torch`, holding `include/` and
 * `lib/`), with the C++ ABI its interpreter reported.
 * @param {string} torchDir @param {number} abi @param {string} source @returns {Found | undefined}
 */
export function fromPythonTorch(torchDir, abi, source) {
  return fromPrefix(torchDir, source, abi === 0 ? 0 : 1);
}

/** What the interpreter `py` reports of its torch: `[dir, abi]`, or undefined. @param {string} py */
function askPython(py) {
  try {
    const out = execFileSync(
      py,
      [
        '-c',
        'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120000 },
    )
      .trim()
      .split('\n');
    return out.length >= 2 ? /** @type {[string, number]} */ ([out[0], Number(out[1])]) : undefined;
  } catch {
    return undefined; // no torch for this interpreter
  }
}

/** @type {Found | null | undefined} */
let pythonCache;
/** @returns {Found | undefined} */
function python() {
  if (pythonCache !== undefined) return pythonCache ?? undefined;
  pythonCache = null;
  const seen = new Set();
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean)) {
    const r = askPython(/** @type {string} */ (py));
    if (!r || seen.has(r[0])) continue;
    seen.add(r[0]);
    const f = fromPythonTorch(r[0], r[1], `python torch (${py})`);
    if (f) {
      pythonCache = f;
      break;
    }
  }
  return pythonCache ?? undefined;
}

/** @returns {Found} */
export function findLibtorch() {
  // install.js finds libtorch once and hands the result to node-gyp's several calls of this
  // script (asking Python for its torch takes seconds).
  const found = process.env.STCSNN_LIBTORCH_FOUND;
  if (found) return JSON.parse(readFileSync(found, 'utf8'));
  const env = process.env.LIBTORCH;
  if (env) {
    const f = fromPrefix(env, 'LIBTORCH', undefined);
    if (!f)
      throw new Error(
        `LIBTORCH=${env} has no include/ATen/ATen.h and lib/libtorch_cpu.so; point it at an unpacked libtorch`,
      );
    return f;
  }
  const from = process.env.STCSNN_LIBTORCH_FROM;
  if (from && from !== 'python' && from !== 'debian') {
    throw new Error(`STCSNN_LIBTORCH_FROM must be python or debian; got ${from}`);
  }
  /** @type {Found | undefined} */
  let f;
  if (from === 'python') f = python();
  else if (from === 'debian') f = debian();
  else {
    // A CUDA torch from pip wins over Debian's CPU-only libtorch-dev; a CPU one comes last.
    const py = python();
    f = py?.cuda ? py : (debian() ?? py);
  }
  if (!f) {
    if (from) throw new Error(`libtorch not found from STCSNN_LIBTORCH_FROM=${from}`);
    throw new Error(
      'libtorch not found: install Debian packages libtorch-dev and libopenblas0-pthread, pip install torch, or set LIBTORCH to an unpacked libtorch',
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
    else if (field === 'version') process.stdout.write(f.version);
    else process.stdout.write(JSON.stringify(f) + '\n');
  } catch (e) {
    process.stderr.write(`${/** @type {Error} */ (e).message}\n`);
    process.exit(1);
  }
}
