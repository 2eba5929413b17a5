// The machine's nominal peak arithmetic rate, per precision, for bench.js's "how far from the
// limit" column. Nominal, from /proc/cpuinfo (Linux):
//
//   peak = threads x clock x FLOP per cycle per core
//
// clock: /proc/cpuinfo's `cpu MHz` of the first processor (on a virtual machine the host's
// nominal clock; turbo is not counted). FLOP per cycle per core (an FMA counts 2):
//   fp32: AVX-512 on Intel: 2 FMA units x 16 lanes x 2 = 64; AVX-512 on AMD (Zen 4 runs it on
//         256-bit units) and AVX2: 2 x 8 x 2 = 32; otherwise SSE: 2 x 4 x 2 = 16.
//   bf16: AMX (amx_bf16): one tile multiply unit, 16 x 16 x 32 bf16 products per 16 cycles,
//         = 1024; avx512_bf16 (VDPBF16PS: two bf16 products per fp32 lane): 2 x the fp32 rate;
//         neither: the fp32 rate (bf16 is converted and computed in fp32).
// These are what the silicon could do, not what a convolution can reach (memory traffic, the
// layout reorders and small layers keep real kernels well below): the figure says how much
// room is left, not a target.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const GEMM = `
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
n, out = 2048, {}
for name, dt in (('fp32', torch.float32), ('bf16', torch.bfloat16)):
    a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
    for _ in range(2):
        torch.mm(a, b)
    best = float('inf')
    for _ in range(5):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    out[name] = 2 * n ** 3 / best / 1e9
print(json.dumps(out))
`;

/**
 * The practical peak: GFLOP/s of a 2048 x 2048 x 2048 matrix product (the best of 5) in
 * PyTorch at `threads`, in fp32 and bf16; null where `python` has no torch.
 * @returns {{ fp32: number, bf16: number } | null}
 */
export function gemmPeak(python, threads) {
  const r = spawnSync(python, ['-c', GEMM, String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const g = JSON.parse(r.stdout.trim().split('\n').pop());
  return { fp32: Number(g.fp32.toFixed(1)), bf16: Number(g.bf16.toFixed(1)) };
}

/** @returns {{ fp32: number | null, bf16: number | null, how: string }} GFLOP/s for `threads` */
export function nominalPeak(threads, cpuinfo = readCpuinfo()) {
  if (!cpuinfo) return { fp32: null, bf16: null, how: 'no /proc/cpuinfo: peak unknown' };
  const field = (name) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  const mhz = Number(field('cpu MHz'));
  const vendor = field('vendor_id') ?? 'unknown';
  if (!(mhz > 0)) return { fp32: null, bf16: null, how: 'no cpu MHz in /proc/cpuinfo: peak unknown' };
  const fp32PerCycle = flags.has('avx512f') && vendor === 'GenuineIntel' ? 64 : flags.has('avx2') ? 32 : 16;
  const bf16PerCycle = flags.has('amx_bf16')
    ? 1024
    : flags.has('avx512_bf16')
      ? 2 * fp32PerCycle
      : fp32PerCycle;
  const ghz = mhz / 1000;
  const isa = flags.has('amx_bf16') ? 'AMX' : flags.has('avx512_bf16') ? 'avx512_bf16' : 'no native bf16';
  return {
    fp32: threads * ghz * fp32PerCycle,
    bf16: threads * ghz * bf16PerCycle,
    how: `${threads} threads x ${ghz.toFixed(2)} GHz (cpu MHz) x ${fp32PerCycle} fp32 / ${bf16PerCycle} bf16 FLOP per cycle (${vendor}, ${isa}); nominal, see bench/peak.mjs`,
  };
}

function readCpuinfo() {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
}
