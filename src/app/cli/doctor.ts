/**
 * `stcsnn doctor`: what this installation can run on. The native backend (stcsnn-libtorch): the
 * torch it was built against and the one installed now, CUDA (built with it, visible devices,
 * runtime and cuDNN versions), threads, the pool allocator's state; which backend `--backend
 * auto` picks here, and why; what the CPU offers for bfloat16 and what `--precision auto` picks.
 */
import { Command } from 'commander';
import { cpuBf16, resolvePrecision, type Precision } from '../../lib/engine/precision.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { printJson, table } from './output.js';

/** What the native backend reports (a subset of stcsnn-libtorch's `libtorchInfo`). */
interface LibtorchReport {
  torch: string;
  builtAgainst?: { built: string; libdir: string; now: string };
  cxx11Abi: boolean;
  mkldnn: boolean;
  parallel: string;
  threads: number;
  device: string;
  cuda: {
    built: boolean;
    available: boolean;
    problem: string;
    devices: number;
    cudnn: boolean;
    cudnnVersion: number;
    cudaRuntime: number;
    bf16: boolean;
  };
  pool: { installed: boolean; inUse: number; peakInUse: number; touched: number };
  liveTensors: number;
}

interface LibtorchModule {
  libtorchAvailability(): { ok: true; torch: string } | { ok: false; reason: string };
  libtorchInfo(): LibtorchReport;
}

/** The `--json` output of `stcsnn doctor`. */
export interface DoctorJson {
  node: string;
  platform: string;
  /** The native backend: loaded (with its report) or why not. */
  libtorch: ({ ok: true } & LibtorchReport) | { ok: false; reason: string };
  /** What `--backend auto` (with this `--device`) picks, and the notice saying why when not libtorch. */
  auto: { backend: string; device: string; why: string };
  /** The CPU's native bfloat16 flags, and what `--precision auto` picks with that backend. */
  precision: { cpu_bf16_flags: string[]; native: boolean; auto: Precision; why: string };
}

async function libtorchReport(): Promise<DoctorJson['libtorch']> {
  let mod: LibtorchModule;
  try {
    mod = (await import('stcsnn-libtorch' as string)) as LibtorchModule;
  } catch (e) {
    return {
      ok: false,
      reason: `package stcsnn-libtorch is not installed (${(e as Error).message.split('\n')[0]})`,
    };
  }
  const a = mod.libtorchAvailability();
  if (!a.ok) return { ok: false, reason: a.reason };
  return { ok: true, ...mod.libtorchInfo() };
}

/** Collects the report; `flags` as for any command (`--device`, `--threads`). */
export async function doctor(flags: CommonFlags): Promise<DoctorJson> {
  const device = flags.device ?? 'cpu';
  let auto: DoctorJson['auto'];
  try {
    const info = await backendFor({ ...flags, backend: 'auto' });
    auto = {
      backend: info.name,
      device: info.name === 'libtorch' ? device : 'cpu',
      why: info.notice ?? (info.name === 'libtorch' ? 'the native backend loads' : ''),
    };
  } catch (e) {
    auto = { backend: 'none', device, why: (e as Error).message.split('\n')[0] };
  }
  const cpu = cpuBf16();
  const pick =
    auto.backend === 'none'
      ? { precision: 'fp32' as const, notice: 'precision auto: fp32 (no backend loads)' }
      : resolvePrecision('auto', {
          backend: auto.backend,
          device: auto.device === 'cuda' ? 'cuda' : 'cpu',
          cpu,
        });
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    libtorch: await libtorchReport(),
    auto,
    precision: {
      cpu_bf16_flags: [...cpu.flags],
      native: cpu.native,
      auto: pick.precision,
      why:
        pick.notice?.replace(/^precision auto: \w+ \((.*)\)$/, '$1') ??
        'bf16 is native here and shown as accurate',
    },
  };
}

const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;

/** The report as text lines. */
export function doctorText(d: DoctorJson): string {
  const rows: string[][] = [['node', `${d.node} (${d.platform})`]];
  const l = d.libtorch;
  if (!l.ok) rows.push(['libtorch', `not available: ${l.reason}`]);
  else {
    const b = l.builtAgainst;
    rows.push(
      ['torch', `${l.torch}${b ? ` (built against ${b.built}, installed ${b.now}, ${b.libdir})` : ''}`],
      ['C++ ABI', l.cxx11Abi ? 'cxx11' : 'pre-cxx11'],
      ['threads', `${l.threads} (${l.mkldnn ? 'oneDNN' : 'no oneDNN'})`],
      [
        'CUDA',
        l.cuda.available
          ? `yes: ${l.cuda.devices} device(s), runtime ${l.cuda.cudaRuntime}, bf16 autocast ${l.cuda.bf16 ? 'on' : 'off'}`
          : `no: ${l.cuda.problem}`,
      ],
      ['cuDNN', l.cuda.cudnn ? String(l.cuda.cudnnVersion) : 'no'],
      [
        'pool allocator',
        l.pool.installed
          ? `installed (host tensors): ${mb(l.pool.inUse)} in use, peak ${mb(l.pool.peakInUse)}, touched ${mb(l.pool.touched)}`
          : 'off (STCSNN_LIBTORCH_ALLOCATOR=malloc)',
      ],
    );
  }
  rows.push(['auto picks', `${d.auto.backend} on ${d.auto.device}${d.auto.why ? `: ${d.auto.why}` : ''}`]);
  const p = d.precision;
  rows.push(
    [
      'CPU bfloat16',
      p.native ? `native (${p.cpu_bf16_flags.join(', ')})` : 'not native (no avx512_bf16 or amx_bf16)',
    ],
    ['--precision auto', `${p.auto}: ${p.why}`],
  );
  return table(rows);
}

/** `stcsnn doctor`. */
export function doctorCommand(): Command {
  return withCommon(
    new Command('doctor').description(
      'what this installation runs on: the native backend (torch, CUDA, cuDNN, devices, threads, pool allocator) and the backend --backend auto picks',
    ),
  ).action(async (flags: CommonFlags) => {
    const d = await doctor(flags);
    if (flags.json) printJson(d);
    else process.stdout.write(`${doctorText(d)}\n`);
  });
}
