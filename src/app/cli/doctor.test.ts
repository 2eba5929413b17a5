import { test } from 'node:test';
import assert from 'node:assert/strict';
import { doctor, doctorText, type DoctorJson } from './doctor.js';

const base = {
  node: 'v20.0.0',
  platform: 'linux-x64',
  precision: { cpu_bf16_flags: ['avx512_bf16'], native: true, auto: 'fp32' as const, why: 'not shown equal' },
};

test('doctorText: a CUDA build with a GPU shows the devices, cuDNN and the pool', () => {
  const d: DoctorJson = {
    ...base,
    libtorch: {
      ok: true,
      torch: '2.11.0',
      builtAgainst: { built: '2.11.0', libdir: '/x/torch/lib', now: '2.11.0' },
      cxx11Abi: true,
      mkldnn: true,
      parallel: '',
      threads: 16,
      device: 'cuda',
      cuda: {
        built: true,
        available: true,
        problem: '',
        devices: 1,
        cudnn: true,
        cudnnVersion: 91000,
        cudaRuntime: 13000,
        bf16: false,
      },
      pool: { installed: true, inUse: 2 ** 20, peakInUse: 2 ** 21, touched: 2 ** 22 },
      liveTensors: 0,
    },
    auto: { backend: 'libtorch', device: 'cuda', why: 'the native backend loads' },
  };
  const t = doctorText(d);
  assert.match(t, /torch +2\.11\.0 \(built against 2\.11\.0, installed 2\.11\.0, \/x\/torch\/lib\)/);
  assert.match(t, /CUDA +yes: 1 device\(s\), runtime 13000/);
  assert.match(t, /cuDNN +91000/);
  assert.match(
    t,
    /pool allocator +installed \(host tensors\): 1\.0 MB in use, peak 2\.0 MB, touched 4\.0 MB/,
  );
  assert.match(t, /auto picks +libtorch on cuda/);
  assert.match(t, /CPU bfloat16 +native \(avx512_bf16\)/);
  assert.match(t, /--precision auto +fp32: not shown equal/);
});

test('doctorText: without the addon, the reason and the wasm fallback', () => {
  const t = doctorText({
    ...base,
    libtorch: { ok: false, reason: 'stcsnn-libtorch is not built' },
    auto: { backend: 'wasm', device: 'cpu', why: 'using the wasm backend (stcsnn-libtorch is not built)' },
  });
  assert.match(t, /libtorch +not available: stcsnn-libtorch is not built/);
  assert.match(t, /auto picks +wasm on cpu: using the wasm backend/);
});

test('doctor here: device cuda without CUDA says why (first: the backend is chosen once per process)', async () => {
  const d = await doctor({ backend: 'auto', device: 'cuda' });
  assert.equal(d.node, process.version);
  if (d.libtorch.ok && d.libtorch.cuda.available) return; // a GPU machine
  assert.equal(d.auto.backend, 'none');
  if (d.libtorch.ok) assert.equal(d.auto.why, `device cuda: ${d.libtorch.cuda.problem}`);
  else assert.match(d.auto.why, /libtorch|stcsnn-libtorch/);
});

test('doctor here: auto on the cpu picks libtorch exactly when it loads', async () => {
  const d = await doctor({ backend: 'auto', device: 'cpu' });
  assert.equal(d.auto.backend, d.libtorch.ok ? 'libtorch' : 'wasm');
});
