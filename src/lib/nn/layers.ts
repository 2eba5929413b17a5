/**
 * Layers. Tensors are NHWC; conv weights `[kh, kw, Cin, Cout]`, linear weights `[in, out]`
 * (the safetensors export transposes them to PyTorch's layouts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { thresholdGradScale, unitConfig, type StcConfig } from '../core/config.js';
import {
  conv2d,
  reluConv2d,
  reluLinear,
  scaleGrad,
  stcConv2d,
  stcConv2dLearned,
  stcLinear,
  stcLinearLearned,
  type StcPath,
} from '../core/stcb.js';
import { SeedStream, uniform } from './init.js';
import { batchNormRunning, batchNormTrain } from './batch-norm-kernel.js';
import { runningUpdateOps, unbiasedFactor, type RunningStats } from '../core/kernels/batch-norm.js';
import { Module, type ForwardOptions, type ParamOptions } from './module.js';
import { syncBatchNormTrain } from './sync-bn.js';

/** The network modes, the default first: spiking (`stc`) or the ANN twin (`ann`). */
export const NET_MODES = ['stc', 'ann'] as const;
/** Whether a network spikes (`stc`) or is the ANN twin (`ann`: `ReLU -> Conv`, same parameters). */
export type NetMode = (typeof NET_MODES)[number];

/** How the activations between layers are computed. */
export interface Activation {
  readonly mode: NetMode;
  readonly stc: StcConfig;
  readonly path: StcPath;
}

/** Batch norm over the last axis with PyTorch semantics (momentum 0.1, eps 1e-5, unbiased running variance). */
export class BatchNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(
    readonly channels: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param('weight', tf.ones([channels]));
    this.bias = this.param('bias', tf.zeros([channels]));
    this.runningMean = this.buffer('running_mean', tf.zeros([channels]));
    this.runningVar = this.buffer('running_var', tf.ones([channels]));
    this.numBatchesTracked = this.buffer('num_batches_tracked', tf.scalar(0, 'int32'));
  }

  /**
   * Training: `y = gamma (x - mean_B) / sqrt(var_B + eps) + beta` with batch statistics, and
   * `running = (1 - momentum) running + momentum batch` (variance unbiased, `M / (M - 1)`).
   * Evaluation: the running statistics.
   */
  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    if (!opts.training) {
      return tf.batchNorm(x, this.runningMean, this.runningVar, this.bias, this.weight, this.eps);
    }
    if (opts.syncBn) {
      // the global batch's statistics (all ranks): running statistics agree on every rank
      const { y, mean, variance, count } = syncBatchNormTrain(
        x,
        this.weight as tf.Tensor1D,
        this.bias as tf.Tensor1D,
        this.eps,
        opts.syncBn,
      );
      tf.tidy(() =>
        this.assignRunning(
          runningUpdateOps(this.running(), mean, tf.mul(variance, unbiasedFactor(count)), this.momentum),
        ),
      );
      tf.dispose([mean, variance]);
      return y;
    }
    const { y, mean, invstd } = batchNormTrain(
      x,
      this.weight as tf.Tensor1D,
      this.bias as tf.Tensor1D,
      this.eps,
    );
    const count = x.size / this.channels;
    tf.tidy(() =>
      this.assignRunning(
        batchNormRunning(this.running(), mean, invstd, { momentum: this.momentum, eps: this.eps, count }),
      ),
    );
    return y;
  }

  /** The running statistics, in the order of {@link RunningStats}. */
  private running(): RunningStats {
    return [this.runningMean, this.runningVar, this.numBatchesTracked];
  }

  /** Takes `[runningMean, runningVar, numBatchesTracked]` as the new running statistics. */
  private assignRunning([mean, variance, tracked]: RunningStats): void {
    this.runningMean.assign(mean);
    this.runningVar.assign(variance);
    this.numBatchesTracked.assign(tracked);
  }
}

/** The name of a learned threshold's parameter, `<layer>.log_theta` (`theta0 = exp(log_theta)`). */
export const LOG_THETA = 'log_theta';

/**
 * The learned thresholds of an STCB (`stc.learnTheta` `layer` or `channel`): the parameter
 * `log_theta` (`[]` or `[Cin]`, initialised to `log theta0`, no weight decay), so that
 * `theta0 = exp(log_theta)` stays positive. Null for fixed thresholds and in `ann` mode.
 */
export class LearnedThreshold {
  readonly unit: StcConfig;
  constructor(
    readonly logTheta: tf.Variable,
    stc: StcConfig,
  ) {
    this.unit = unitConfig(stc);
  }

  /**
   * `theta0 = exp(log_theta)` for an input of `x.size / N` values per sample, with LSQ's gradient
   * scale `1 / sqrt(n Q_p)` on `log_theta` (`n`: the inputs per sample one threshold encodes).
   */
  theta0(x: tf.Tensor): tf.Tensor {
    const n = x.size / x.shape[0] / this.logTheta.size;
    return tf.exp(scaleGrad(this.logTheta, thresholdGradScale(this.unit, n)));
  }
}

/** The learned threshold of an STCB with `cin` inputs (channels), registered by `param`; null when fixed. */
function learnedThreshold(
  act: Activation,
  cin: number,
  param: (name: string, init: tf.Tensor, opts: ParamOptions) => tf.Variable,
): LearnedThreshold | null {
  const mode = act.stc.learnTheta;
  if (act.mode === 'ann' || mode === 'off') return null;
  const init = tf.fill(mode === 'layer' ? [] : [cin], Math.log(act.stc.theta0));
  return new LearnedThreshold(param(LOG_THETA, init, { decay: false }), act.stc);
}

/** Geometry of a convolution layer. */
export interface ConvSpec {
  readonly cin: number;
  readonly cout: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
}

/** A plain convolution without bias on real-valued input (the first layer: a MAC layer). */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  constructor(
    readonly spec: ConvSpec,
    seeds: SeedStream,
  ) {
    super();
    const fanIn = spec.cin * spec.kernel * spec.kernel;
    this.weight = this.param(
      'weight',
      uniform([spec.kernel, spec.kernel, spec.cin, spec.cout], 1 / Math.sqrt(fanIn), seeds.next()),
    );
  }
  /** `x: [N,H,W,Cin] -> [N,Ho,Wo,Cout]`, `W * x` (no bias). */
  forward(x: tf.Tensor): tf.Tensor {
    return conv2d(x as tf.Tensor4D, this.weight as tf.Tensor4D, this.spec);
  }
}

/**
 * The spatio-temporal conversion block with a convolution: `STEB -> Conv -> CAB` in `stc`
 * mode (see `stcConv2d`), `ReLU -> Conv` in `ann` mode. `x: [N,H,W,Cin] -> [N,Ho,Wo,Cout]`.
 */
export class StcConv2d extends Module {
  readonly weight: tf.Variable;
  /** The learned thresholds (`stc.learnTheta` `layer`/`channel`, stc mode), else null. */
  readonly threshold: LearnedThreshold | null;
  constructor(
    readonly spec: ConvSpec,
    readonly act: Activation,
    seeds: SeedStream,
    /** Layer name in statistics (the module path). */
    readonly label: string,
  ) {
    super();
    const fanIn = spec.cin * spec.kernel * spec.kernel;
    this.weight = this.param(
      'weight',
      uniform([spec.kernel, spec.kernel, spec.cin, spec.cout], 1 / Math.sqrt(fanIn), seeds.next()),
    );
    this.threshold = learnedThreshold(act, spec.cin, (n, init, o) => this.param(n, init, o));
  }
  /** `stc`: `CAB(W * STEB(x))` (one fused quantiser or T binary convolutions, by `act.path`); `ann`: `W * ReLU(x)`. */
  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    const w = this.weight as tf.Tensor4D;
    const x4 = x as tf.Tensor4D;
    if (this.act.mode === 'ann') return reluConv2d(x4, w, this.spec);
    if (this.threshold) {
      const theta0 = this.threshold.theta0(x);
      if (opts.stats) tf.tidy(() => opts.stats!.record(this.label, tf.div(x, theta0), this.threshold!.unit));
      return stcConv2dLearned(x4, w, theta0, this.threshold.unit, this.spec, this.act.path);
    }
    opts.stats?.record(this.label, x, this.act.stc);
    return stcConv2d(x4, w, this.act.stc, this.spec, this.act.path);
  }
}

/** A linear layer with bias: `y = x W + b`, `x: [N, in]`, `W: [in, out]`. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    seeds: SeedStream,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', uniform([inFeatures, outFeatures], bound, seeds.next()));
    this.bias = this.param('bias', uniform([outFeatures], bound, seeds.next()));
  }
  /** `x: [N, in] -> [N, out]`, `x W + b`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D), this.bias);
  }
}

/**
 * The STCB with a linear layer (no bias): `STEB -> Linear -> CAB` (`stc`) or `ReLU -> Linear`
 * (`ann`). `x: [N, in] -> [N, out]`.
 */
export class StcLinear extends Module {
  readonly weight: tf.Variable;
  /** The learned thresholds (`stc.learnTheta` `layer`/`channel`, stc mode), else null. */
  readonly threshold: LearnedThreshold | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly act: Activation,
    seeds: SeedStream,
    readonly label: string,
  ) {
    super();
    this.weight = this.param(
      'weight',
      uniform([inFeatures, outFeatures], 1 / Math.sqrt(inFeatures), seeds.next()),
    );
    this.threshold = learnedThreshold(act, inFeatures, (n, init, o) => this.param(n, init, o));
  }
  /** `stc`: `CAB(STEB(x) W)` (fused or spike-train path, by `act.path`); `ann`: `ReLU(x) W`. */
  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    const w = this.weight as tf.Tensor2D;
    const x2 = x as tf.Tensor2D;
    if (this.act.mode === 'ann') return reluLinear(x2, w);
    if (this.threshold) {
      const theta0 = this.threshold.theta0(x);
      if (opts.stats) tf.tidy(() => opts.stats!.record(this.label, tf.div(x, theta0), this.threshold!.unit));
      return stcLinearLearned(x2, w, theta0, this.threshold.unit, this.act.path);
    }
    opts.stats?.record(this.label, x, this.act.stc);
    return stcLinear(x2, w, this.act.stc, this.act.path);
  }
}

/**
 * `a + b` for two tensors of the same shape, as a residual connection: the gradient is `dy`
 * for both, so nothing is kept for the backward pass (`tf.add` keeps both inputs, for
 * broadcasting, which a residual connection never does).
 */
export function residualAdd(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`residualAdd: shapes [${a.shape}] and [${b.shape}] differ`);
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y] = args as [tf.Tensor, tf.Tensor];
    return { value: tf.add(x, y), gradFunc: (dy: tf.Tensor) => [tf.clone(dy), tf.clone(dy)] };
  });
  return f(a, b);
}
