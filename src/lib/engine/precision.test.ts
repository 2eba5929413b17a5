import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../core/config.js';
import { BF16_SHOWN_EQUAL, cpuBf16From, parsePrecision, resolvePrecision } from './precision.js';

const zen4 = 'processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n';
const spr = 'flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n';
const old = 'flags\t\t: fpu sse2 avx2 avx512f\n';

test('cpuBf16From: the native flags of /proc/cpuinfo, none on a CPU without them', () => {
  assert.deepEqual(cpuBf16From(zen4), { flags: ['avx512_bf16'], native: true });
  assert.deepEqual(cpuBf16From(spr), { flags: ['amx_bf16', 'avx512_bf16'], native: true });
  assert.deepEqual(cpuBf16From(old), { flags: [], native: false });
  assert.deepEqual(cpuBf16From(''), { flags: [], native: false });
  // a flag name that merely contains one is not it
  assert.equal(cpuBf16From('flags : xavx512_bf16y\n').native, false);
});

test('parsePrecision: the three names, and a one-line error naming the value', () => {
  for (const p of ['fp32', 'bf16', 'auto']) assert.equal(parsePrecision(p), p);
  assert.throws(
    () => parsePrecision('fp16'),
    (e: Error) => e instanceof ConfigError && /fp16/.test(e.message),
  );
});

test('resolvePrecision: fp32 always; bf16 on libtorch (a notice where not native), refused elsewhere', () => {
  const native = cpuBf16From(zen4);
  const none = cpuBf16From(old);
  assert.deepEqual(resolvePrecision('fp32', { backend: 'wasm', device: 'cpu' }), { precision: 'fp32' });
  assert.deepEqual(resolvePrecision('bf16', { backend: 'libtorch', device: 'cpu', cpu: native }), {
    precision: 'bf16',
  });
  const emulated = resolvePrecision('bf16', { backend: 'libtorch', device: 'cpu', cpu: none });
  assert.equal(emulated.precision, 'bf16');
  assert.match(emulated.notice ?? '', /^warning: this CPU has no native bfloat16/);
  assert.equal(emulated.notice?.includes('\n'), false);
  assert.deepEqual(resolvePrecision('bf16', { backend: 'libtorch', device: 'cuda', cpu: none }), {
    precision: 'bf16',
  });
  assert.throws(
    () => resolvePrecision('bf16', { backend: 'wasm', device: 'cpu', cpu: native }),
    (e: Error) => e instanceof ConfigError && /needs the libtorch backend; the wasm backend/.test(e.message),
  );
});

test('resolvePrecision auto: fp32 where bf16 is not native; bf16 where native only once shown equal', () => {
  const none = resolvePrecision('auto', { backend: 'libtorch', device: 'cpu', cpu: cpuBf16From(old) });
  assert.equal(none.precision, 'fp32');
  assert.match(none.notice ?? '', /no native bfloat16/);
  const wasm = resolvePrecision('auto', { backend: 'wasm', device: 'cpu', cpu: cpuBf16From(zen4) });
  assert.equal(wasm.precision, 'fp32');
  const native = resolvePrecision('auto', { backend: 'libtorch', device: 'cpu', cpu: cpuBf16From(zen4) });
  assert.equal(native.precision, BF16_SHOWN_EQUAL ? 'bf16' : 'fp32');
  if (!BF16_SHOWN_EQUAL) assert.match(native.notice ?? '', /not shown equal/);
});
