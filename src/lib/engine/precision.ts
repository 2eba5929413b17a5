/**
 * The arithmetic precision of training and inference: `fp32`, or `bf16` (mixed precision).
 *
 * With `bf16`, each convolution and its two gradients take bfloat16 inputs and filters (8 bits
 * of mantissa; oneDNN and cuDNN accumulate in float32 and round the result to bfloat16), and
 * everything else stays float32: the parameters (master weights) and their gradients, the SGD
 * step and momentum, batch norm and its statistics, the STC encoder (the threshold recurrence,
 * the spikes, the decoded value), the classifier's matrix product and the loss. Checkpoints are
 * float32. What a convolution of an STCB reads is the decoded spike train
 * `q(x) = sum_t theta(t) s(t)` (one convolution instead of T, by linearity), rounded to bfloat16
 * (relative error at most 2^-9), as are its filter and its result; the spikes themselves are
 * computed in float32/float64 from float32 inputs, so a spike differs from fp32's only where the
 * membrane it comes from lies within the rounding of the previous convolution's result (about
 * 2^-8, relative) of a threshold. Only the native backend (libtorch) offers it.
 *
 * `auto` picks `bf16` only where the hardware runs bfloat16 natively (on the CPU: the
 * `avx512_bf16` or `amx_bf16` instructions; CUDA GPUs) and the accuracy study has shown bf16
 * equal to fp32 ({@link BF16_SHOWN_EQUAL}); otherwise `fp32`.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/config.js';

/** The precisions a user can ask for. */
export const PRECISIONS = ['fp32', 'bf16', 'auto'] as const;
/** A precision request. */
export type PrecisionRequest = (typeof PRECISIONS)[number];
/** A precision that runs. */
export type Precision = Exclude<PrecisionRequest, 'auto'>;

/**
 * Whether the accuracy study (bench/precision-choice.mjs, docs/results/precision-choice/) showed
 * bf16 training equal to fp32 by its rule: `auto` picks bf16 only then.
 */
export const BF16_SHOWN_EQUAL = false;

/** The CPU flags (from /proc/cpuinfo) that run bfloat16 arithmetic in hardware. */
export const NATIVE_BF16_FLAGS = ['amx_bf16', 'avx512_bf16'] as const;

/** What this CPU offers for bfloat16. */
export interface CpuBf16 {
  /** The native bfloat16 flags it has (empty: none, or not known on this platform). */
  readonly flags: readonly string[];
  /** Whether bfloat16 convolutions run natively. */
  readonly native: boolean;
}

/** The bfloat16 support of a CPU whose `/proc/cpuinfo` text is `cpuinfo` (Linux). */
export function cpuBf16From(cpuinfo: string): CpuBf16 {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l)) ?? '';
  const have = new Set(
    line
      .replace(/^flags\s*:/, '')
      .trim()
      .split(/\s+/),
  );
  const flags = NATIVE_BF16_FLAGS.filter((f) => have.has(f));
  return { flags, native: flags.length > 0 };
}

/** This machine's CPU (outside Linux: none known, so not native). */
export function cpuBf16(): CpuBf16 {
  try {
    return cpuBf16From(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return { flags: [], native: false };
  }
}

/** Checks a `--precision` value. */
export function parsePrecision(value: string): PrecisionRequest {
  if ((PRECISIONS as readonly string[]).includes(value)) return value as PrecisionRequest;
  throw new ConfigError(`precision must be one of ${PRECISIONS.join(', ')}; got ${value}`);
}

/** Where a precision is resolved: the backend that runs and its device. */
export interface PrecisionTarget {
  readonly backend: string;
  readonly device: 'cpu' | 'cuda';
  /** The CPU's bfloat16 support (default: this machine's). */
  readonly cpu?: CpuBf16;
}

/** A resolved precision, with the one line that explains a choice the user may not expect. */
export interface PrecisionChoice {
  readonly precision: Precision;
  /** Why `auto` chose as it did, or that an explicit `bf16` is not native here. */
  readonly notice?: string;
}

/**
 * The precision that runs for `request` on `target`.
 * @throws ConfigError for `bf16` on a backend other than libtorch
 */
export function resolvePrecision(request: PrecisionRequest, target: PrecisionTarget): PrecisionChoice {
  if (request === 'fp32') return { precision: 'fp32' };
  const native =
    target.backend === 'libtorch' && (target.device === 'cuda' || (target.cpu ?? cpuBf16()).native);
  if (request === 'bf16') {
    if (target.backend !== 'libtorch')
      throw new ConfigError(
        `precision bf16 needs the libtorch backend; the ${target.backend} backend computes in float32`,
      );
    if (native) return { precision: 'bf16' };
    return {
      precision: 'bf16',
      notice: `warning: this CPU has no native bfloat16 (no ${NATIVE_BF16_FLAGS.join(' or ')}): bf16 convolutions run emulated, slower than fp32`,
    };
  }
  if (!native)
    return {
      precision: 'fp32',
      notice:
        target.backend === 'libtorch'
          ? `precision auto: fp32 (this CPU has no native bfloat16: no ${NATIVE_BF16_FLAGS.join(' or ')})`
          : `precision auto: fp32 (the ${target.backend} backend computes in float32)`,
    };
  if (!BF16_SHOWN_EQUAL)
    return {
      precision: 'fp32',
      notice:
        'precision auto: fp32 (bf16 is native here, but its accuracy is not shown equal to fp32: docs/results/precision-choice)',
    };
  return { precision: 'bf16' };
}
