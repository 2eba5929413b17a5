/**
 * Threshold calibration of a converted network (ANN-to-STC conversion): each STCB's `theta0` is
 * set from the activations that reach it, so that its STEB encodes them with the least error.
 *
 * An STEB with thresholds `theta(t) = theta0 theta_1(t)` decodes `q(x) = theta0 q_1(x / theta0)`,
 * a T-level approximation of `max(x, 0)` that saturates at `S = theta0 S_1`,
 * `S_1 = sum_t theta_1(t)`. A large `theta0` leaves small inputs unencoded (below the last
 * threshold), a small one saturates large inputs; the best trade-off depends on T (short trains
 * want a low saturation level). Calibration picks, per layer (a scalar `theta0`) or per input
 * channel (`theta0` of shape `[C]`), the `theta0` that minimises the squared error
 *
 *     sum_i (q(x_i) - max(x_i, 0))^2
 *
 * over the layer's (channel's) inputs `x_i` on the calibration batches, among the candidates
 * `theta0 = f P / S_1` with `P` the {@link CALIBRATION_PERCENTILE}-th percentile of the positive
 * inputs (the robust maximum of Rueckauer et al., 2017) and `f` on a geometric grid from 1.25 down
 * ({@link CANDIDATE_FACTORS}); the error is computed on at most {@link MAX_SAMPLES} inputs per
 * layer (evenly strided). Layers are calibrated in forward order, each with every earlier layer
 * already calibrated, in eval mode (batch norm with its running statistics), so each sees the
 * inputs the converted network gives it. A layer or channel whose inputs are never positive keeps
 * its `theta0`, as does one whose best `theta0` would leave the float32 range the encoder supports.
 *
 * Only learned thresholds (`stc.learnTheta` `layer` or `channel`) can be calibrated: fixed
 * thresholds are one `theta0` for the whole network (`stc.theta0`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputShift, saturation, thresholdRangeProblem, type StcConfig } from '../core/config.js';
import { quantizeArray } from '../core/kernels/stc-kernels.js';
import { stcKernelAttrs } from '../core/stc.js';
import { LOG_THETA } from './layers.js';
import type { Network } from './models.js';
import type { SpikeStatsSink } from './stats.js';

/** The percentile of a layer's positive inputs that anchors the candidate saturation levels. */
export const CALIBRATION_PERCENTILE = 99.9;
/** The candidate factors `f` of `theta0 = f P / S_1`: 1.25 0.9^k, k = 0..39 (down to about 0.02). */
export const CANDIDATE_FACTORS: readonly number[] = Array.from({ length: 40 }, (_, k) => 1.25 * 0.9 ** k);
/** The most inputs per layer the squared error is computed on (split over its channels). */
export const MAX_SAMPLES = 1 << 18;

/** One calibrated STCB. */
export interface CalibratedLayer {
  /** The layer (module path). */
  readonly layer: string;
  /** `theta0` before and after, one value per layer or per input channel. */
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** Channels (or the layer) left as they were: inputs never positive, or out of range. */
  readonly kept: number;
  /** The mean squared encoding error of the rectified inputs sampled, before and after. */
  readonly mseBefore: number;
  readonly mseAfter: number;
}

/** The `q`-th percentile (0..100) of sorted `v` (nearest rank); 0 for an empty array. */
export function percentileOfSorted(v: Float32Array, q: number): number {
  if (v.length === 0) return 0;
  const k = Math.min(v.length - 1, Math.max(0, Math.ceil((q / 100) * v.length) - 1));
  return v[k];
}

/** Collects one layer's STEB inputs (in the units of `theta0 = 1`) as `[rows, groups]` values. */
class LayerCapture implements SpikeStatsSink {
  readonly chunks: Float32Array[] = [];
  unit?: StcConfig;
  constructor(readonly layer: string) {}
  record(label: string, x: tf.Tensor, cfg: StcConfig): void {
    if (label !== this.layer) return;
    this.unit = cfg;
    this.chunks.push(x.dataSync() as Float32Array);
  }
}

/** `sum (theta0 q_1(v / theta0 + c_1) - v)^2` over `v` (positive values; `c_1` the unit shift). */
function encodingError(v: Float32Array, theta0: number, unit: StcConfig, scratch: Float32Array): number {
  const u = scratch.subarray(0, v.length);
  const c1 = inputShift(unit);
  for (let i = 0; i < v.length; i++) u[i] = v[i] / theta0 + c1;
  quantizeArray(u, u, stcKernelAttrs(unit));
  let e = 0;
  for (let i = 0; i < v.length; i++) {
    const d = theta0 * u[i] - v[i];
    e += d * d;
  }
  return e;
}

/** Every `stride`-th positive value of a column (the inputs that can fire). */
function positiveSample(col: Float32Array, stride: number): Float32Array {
  const out: number[] = [];
  for (let i = 0; i < col.length; i += stride) if (col[i] > 0) out.push(col[i]);
  return Float32Array.from(out);
}

/**
 * Calibrates every STCB's learned `theta0` of `net` on `batches` (inputs `[N,H,W,C]`, normalised
 * as in training), in forward order (see the module comment); assigns `log_theta` in place.
 * @returns one entry per STCB, in forward order; empty when the thresholds are fixed or `net`
 *   is an ANN
 */
export function calibrateThresholds(net: Network, batches: readonly tf.Tensor4D[]): CalibratedLayer[] {
  const vars = new Map(net.namedVariables().map((e) => [e.name, e.variable]));
  const out: CalibratedLayer[] = [];
  for (const l of net.plan.layers) {
    if (l.kind !== 'stcb-conv') continue;
    const logTheta = vars.get(`${l.name}.${LOG_THETA}`);
    const before = net.learnedTheta0(l.name);
    if (!logTheta || !before) continue;
    const capture = new LayerCapture(l.name);
    for (const x of batches) tf.tidy(() => void net.forward(x, { training: false, stats: capture }));
    const groups = before.length;
    // the inputs were recorded divided by the current theta0 (the unit code's units): back to x
    const rows = capture.chunks.reduce((n, c) => n + c.length, 0) / groups;
    const columns = Array.from({ length: groups }, () => new Float32Array(rows));
    let r = 0;
    for (const chunk of capture.chunks)
      for (let i = 0; i < chunk.length; i += groups, r++)
        for (let c = 0; c < groups; c++) columns[c][r] = chunk[i + c] * before[c];
    const unit = capture.unit!;
    const s1 = saturation(unit);
    const stc = net.config.stc!;
    const stride = Math.max(1, Math.floor((rows * groups) / MAX_SAMPLES));
    const scratch = new Float32Array(Math.ceil(rows / stride));
    let kept = 0;
    let errBefore = 0;
    let errAfter = 0;
    let sampled = 0;
    const after = columns.map((col, c) => {
      const v = positiveSample(col, stride);
      sampled += Math.ceil(rows / stride);
      const current = encodingError(v, before[c], unit, scratch);
      errBefore += current;
      const p = percentileOfSorted(Float32Array.from(v).sort(), CALIBRATION_PERCENTILE);
      let best = { theta0: before[c], err: current };
      if (p > 0)
        for (const f of CANDIDATE_FACTORS) {
          const theta0 = Math.fround((f * p) / s1);
          if (thresholdRangeProblem(theta0, stc) !== null) continue;
          const err = encodingError(v, theta0, unit, scratch);
          if (err < best.err) best = { theta0, err };
        }
      if (best.theta0 === before[c]) kept++;
      errAfter += best.err;
      return best.theta0;
    });
    logTheta.assign(
      tf.tidy(() => tf.log(tf.tensor(Float32Array.from(after), logTheta.shape as number[], 'float32'))),
    );
    const n = Math.max(1, sampled);
    out.push({
      layer: l.name,
      before: [...before],
      after,
      kept,
      mseBefore: errBefore / n,
      mseAfter: errAfter / n,
    });
  }
  return out;
}
