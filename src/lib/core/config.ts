/**
 * The typed configuration of a spatio-temporal conversion block (STCB) and its validation.
 *
 * Validation happens once, in {@link stcConfig}; every function of the core takes a
 * {@link StcConfig} that has passed it, so the numerical code never re-checks.
 */

/** The threshold schedules, the default first. See {@link thresholds}. */
export const THRESHOLD_SCHEDULES = ['exp', 'geometric'] as const;
/** How the threshold decays over the spike train. See {@link thresholds}. */
export type ThresholdSchedule = (typeof THRESHOLD_SCHEDULES)[number];

/** The firing tests of the integrate-and-fire neuron, the default first. */
export const FIRE_TESTS = ['>=', '>'] as const;
/** The firing test of the integrate-and-fire neuron: `V >= theta` (default) or `V > theta`. */
export type FireTest = (typeof FIRE_TESTS)[number];

/** Where the membrane starts, the default (the paper's) first. See {@link InputShift}. */
export const INPUT_SHIFTS = ['none', 'half'] as const;

/**
 * Where the STEB's membrane starts:
 *
 * - `none` (default, the paper's): `V(0) = x`; the decoded value rounds the input down, to the
 *   thresholds that fit under it (`x - theta(T-1) < q(x) <= x` on the encodable range, for a
 *   schedule with the error bound);
 * - `half`: `V(0) = x + theta(T-1) / 2`, half the last threshold added: the decoded value rounds
 *   the input to the nearest level instead of down (`|q - x| <= theta(T-1) / 2` there), as
 *   QCFS's shift does for converted networks (Bu et al., ICLR 2022); inputs in
 *   `(-theta(T-1)/2, 0]` still never fire. `q_half(x) = q_none(x + theta(T-1) / 2)`.
 */
export type InputShift = (typeof INPUT_SHIFTS)[number];

/** The masks of the equivalent gradient, the default (the paper's) first. See {@link GradientMask}. */
export const GRADIENT_MASKS = ['relu', 'clipped'] as const;

/**
 * The mask of the equivalent gradient `dL/dx = (dL/dq) * mask(x)`:
 *
 * - `relu` (default, the paper's): `1[x > 0]`, the gradient of `ReLU -> Conv`;
 * - `clipped`: `1[0 < x < S]`, `S = sum_t theta(t)`, also zero where `q` saturates
 *   (the gradient of `clamp(x, 0, S) -> Conv`), so that training sees the range STEB can encode.
 */
export type GradientMask = (typeof GRADIENT_MASKS)[number];

/** How the thresholds are trained, the default (the paper's: fixed) first. See {@link LearnTheta}. */
export const LEARN_THETA_MODES = ['off', 'layer', 'channel'] as const;

/**
 * Whether `theta0` is a trained parameter of each STCB (docs/semantics.md §1.5):
 *
 * - `off` (default, the paper's): `theta0` is the configuration's, fixed;
 * - `layer`: one `theta0` per STCB layer, `theta0 = exp(log_theta)`, initialised to the
 *   configuration's `theta0`;
 * - `channel`: one `theta0` per input channel of each STCB (`log_theta: [Cin]`).
 *
 * The schedule's shape (`tau`, `schedule`, `T`) stays fixed: `theta(t) = theta0 * theta_1(t)`,
 * with `theta_1` the thresholds of `theta0 = 1`.
 */
export type LearnTheta = (typeof LEARN_THETA_MODES)[number];

/** A validated STC configuration. Build one with {@link stcConfig}. */
export interface StcConfig {
  /** Spike-train length T, an integer in 1..64 (paper default 8). */
  readonly T: number;
  /** Initial threshold theta0 > 0 (paper: 0.8 for static images, 2 for DVS). */
  readonly theta0: number;
  /** Threshold time constant tau (> 0 for `exp`, > 1 for `geometric`; paper default 2). */
  readonly tau: number;
  /** Threshold schedule (default `exp`). */
  readonly schedule: ThresholdSchedule;
  /** Firing test (default `>=`). */
  readonly fire: FireTest;
  /** Mask of the equivalent gradient (default `relu`, the paper's). */
  readonly gradient: GradientMask;
  /** Whether `theta0` is trained per STCB layer or channel (default `off`, the paper's). */
  readonly learnTheta: LearnTheta;
  /** Where the membrane starts (default `none`, the paper's: `V(0) = x`). */
  readonly shift: InputShift;
}

/** The fields a caller may give; anything missing takes the paper's defaults. */
export type StcConfigInput = Partial<StcConfig>;

/**
 * The STC defaults, one table:
 *
 * - `paper`: the paper's, for static images: T = 8, theta0 = 0.8, tau = 2, exp schedule,
 *   `V >= theta`, the ReLU equivalent gradient, fixed thresholds, `V(0) = x`. {@link stcConfig}
 *   fills these in (the library's defaults, {@link DEFAULT_STC}); `--preset paper` keeps them.
 * - `trainer`: where the trainer's defaults (`stcsnn train`, `trainerStc` in
 *   `src/app/config/config.ts`) differ from the paper's: the clipped mask (the paper's ReLU mask
 *   runs away on CIFAR-10, docs/results/table2-cifar10-vgg16). The trainer keeps the paper's
 *   fixed thresholds, as the comparison stated before it was run decided (docs/results/method-choice:
 *   learned per-channel thresholds did not gain more than two standard errors in two of its three
 *   settings); a threshold mode given here would apply only with the clipped mask (learned
 *   thresholds need it).
 *
 * Data-set-dependent defaults (theta0 2 for DVS) are the data-set registry's.
 */
export const STC_DEFAULTS: {
  readonly paper: StcConfig;
  readonly trainer: Readonly<Partial<StcConfig>>;
} = Object.freeze({
  paper: Object.freeze({
    T: 8,
    theta0: 0.8,
    tau: 2,
    schedule: 'exp',
    fire: '>=',
    gradient: 'relu',
    learnTheta: 'off',
    shift: 'none',
  }),
  trainer: Object.freeze({ gradient: 'clipped' }),
});

/** The library's STC defaults, what {@link stcConfig} fills in: the paper's ({@link STC_DEFAULTS}`.paper`). */
export const DEFAULT_STC: StcConfig = STC_DEFAULTS.paper;

/** Largest spike-train length accepted. */
export const MAX_T = 64;

/** Smallest threshold `theta(T-1)` accepted (float32 has normal numbers down to 1.2e-38). */
export const MIN_THRESHOLD = 1e-30;
/** Largest `T * theta0` accepted (the saturation value must stay a finite float32). */
export const MAX_THRESHOLD_SUM = 1e38;

/**
 * Why the thresholds of `theta0` under a schedule leave the float32 range the kernels compute
 * in (`[MIN_THRESHOLD, MAX_THRESHOLD_SUM]`: an underflow to 0 would make every neuron fire
 * forever, an overflow makes the saturation value infinite), as `[1e-30, 1e38] (float32): theta0
 * X, tau Y, T Z give theta(T-1) = W`; null when they are inside. Also checks learned thresholds
 * (`theta0 = exp(log_theta)`) read from a model file.
 */
export function thresholdRangeProblem(
  theta0: number,
  s: { readonly T: number; readonly tau: number; readonly schedule: ThresholdSchedule },
): string | null {
  const { T, tau } = s;
  const smallest =
    s.schedule === 'exp' ? theta0 * Math.exp(-(T - 1) / tau) : theta0 * Math.pow(tau, -(T - 1));
  if (smallest >= MIN_THRESHOLD && theta0 * T <= MAX_THRESHOLD_SUM) return null;
  return `[${MIN_THRESHOLD}, ${MAX_THRESHOLD_SUM}] (float32): theta0 ${theta0}, tau ${tau}, T ${T} give theta(${T - 1}) = ${smallest}`;
}

/**
 * A configuration or input value that is out of range; its message is one line naming the
 * parameter, and `param` names it for callers that report it under another name (a CLI flag).
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function finite(name: keyof StcConfig, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ConfigError(`${name} must be a finite number, got ${String(v)}`, name);
  }
  return v;
}

function oneOf<T extends string>(name: keyof StcConfig, v: unknown, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(v)) {
    const list = choices.map((c) => (/^\w+$/.test(c) ? c : `'${c}'`)).join(', ');
    throw new ConfigError(`${name} must be one of ${list}; got ${String(v)}`, name);
  }
  return v as T;
}

/**
 * Validates and completes an STC configuration.
 *
 * @throws ConfigError naming the parameter and its allowed range:
 *   T not an integer in 1..64, theta0 <= 0, tau <= 0 (`exp`) or tau <= 1 (`geometric`),
 *   an unknown schedule or firing test, NaN or Infinity anywhere, learned thresholds
 *   (`learnTheta` not `off`) without the clipped gradient mask.
 */
export function stcConfig(input: StcConfigInput = {}): StcConfig {
  const T = finite('T', input.T ?? DEFAULT_STC.T);
  if (!Number.isInteger(T) || T < 1 || T > MAX_T) {
    throw new ConfigError(`T must be an integer in 1..${MAX_T}, got ${T}`, 'T');
  }
  const theta0 = finite('theta0', input.theta0 ?? DEFAULT_STC.theta0);
  if (theta0 <= 0) throw new ConfigError(`theta0 must be > 0, got ${theta0}`, 'theta0');
  const schedule = oneOf('schedule', input.schedule ?? DEFAULT_STC.schedule, THRESHOLD_SCHEDULES);
  const tau = finite('tau', input.tau ?? DEFAULT_STC.tau);
  if (schedule === 'exp' && tau <= 0)
    throw new ConfigError(`tau must be > 0 for the exp schedule, got ${tau}`, 'tau');
  if (schedule === 'geometric' && tau <= 1) {
    throw new ConfigError(`tau must be > 1 for the geometric schedule, got ${tau}`, 'tau');
  }
  const range = thresholdRangeProblem(theta0, { T, tau, schedule });
  if (range) throw new ConfigError(`thresholds must lie in ${range}`);
  const fire = oneOf('fire', input.fire ?? DEFAULT_STC.fire, FIRE_TESTS);
  const gradient = oneOf('gradient', input.gradient ?? DEFAULT_STC.gradient, GRADIENT_MASKS);
  const learnTheta = oneOf('learnTheta', input.learnTheta ?? DEFAULT_STC.learnTheta, LEARN_THETA_MODES);
  if (learnTheta !== 'off' && gradient !== 'clipped') {
    throw new ConfigError(
      `learnTheta '${learnTheta}' needs the clipped gradient mask (gradient 'clipped'): under the ${gradient} mask a saturated input's threshold gradient, S - x/theta0, grows without bound (docs/semantics.md §1.5)`,
      'learnTheta',
    );
  }
  const shift = oneOf('shift', input.shift ?? DEFAULT_STC.shift, INPUT_SHIFTS);
  return Object.freeze({ T, theta0, tau, schedule, fire, gradient, learnTheta, shift });
}

/**
 * The threshold voltages `theta(t)` for `t = 0 .. T-1`:
 *
 * - `exp`:       `theta(t) = theta0 * exp(-t / tau)`
 * - `geometric`: `theta(t) = theta0 * tau^(-t)` (with tau = 2, an exact T-bit quantiser on `[0, 2 theta0)`)
 *
 * @returns a fresh array of length T.
 */
export function thresholds(cfg: StcConfig): number[] {
  const out = new Array<number>(cfg.T);
  for (let t = 0; t < cfg.T; t++) {
    out[t] =
      cfg.schedule === 'exp' ? cfg.theta0 * Math.exp(-t / cfg.tau) : cfg.theta0 * Math.pow(cfg.tau, -t);
  }
  return out;
}

/**
 * What the membrane starts above the input, `V(0) = x + inputShift(cfg)`: `theta(T-1) / 2` for
 * `shift: 'half'`, 0 for `none` (see {@link InputShift}).
 */
export function inputShift(cfg: StcConfig): number {
  if (cfg.shift === 'none') return 0;
  const th = thresholds(cfg);
  return th[th.length - 1] / 2;
}

/**
 * The largest value STEB + CAB can represent, `sum_t theta(t)`; inputs at or above it
 * (`sum_t theta(t) - inputShift(cfg)` with a shift) saturate.
 */
export function saturation(cfg: StcConfig): number {
  return thresholds(cfg).reduce((a, b) => a + b, 0);
}

/**
 * The upper end of the equivalent gradient's mask `1[0 < x < upper]`: `sum_t theta(t)` rounded
 * to float32 (the kernels compare in float32) for `gradient: 'clipped'`, `+Infinity` for `relu`.
 */
export function gradientUpper(cfg: StcConfig): number {
  return cfg.gradient === 'clipped' ? Math.fround(saturation(cfg)) : Infinity;
}

/**
 * Whether the decode error is bounded by `theta(T-1)` on `[0, sum theta)`: true when every
 * `theta(t) <= theta(T-1) + sum_{k>t} theta(k)` (docs/semantics.md §1).
 */
export function hasErrorBound(cfg: StcConfig): boolean {
  const th = thresholds(cfg);
  const last = th[th.length - 1];
  let tail = 0;
  for (let t = th.length - 1; t >= 0; t--) {
    if (th[t] > last + tail + 1e-12 * Math.abs(th[t])) return false;
    tail += th[t];
  }
  return true;
}

/**
 * The scale of an STCB's input: batch-normalised pre-activations, of unit variance at
 * initialisation. The rules of {@link thresholdScaleWarning} are relative to it.
 */
export const STCB_INPUT_SCALE = 1;
/** A smallest threshold `theta(T-1)` above this many input scales: (almost) nothing ever spikes. */
export const NEVER_SPIKES_ABOVE = 100;
/** A largest encodable input `sum_t theta(t)` below this many input scales: (almost) everything saturates. */
export const ALWAYS_SATURATES_BELOW = 0.01;

/**
 * A warning when the thresholds do not fit the scale of an STCB's input ({@link STCB_INPUT_SCALE}),
 * else null. An input `x` spikes only when `x >= theta(T-1)` (the smallest threshold) and every
 * `x >= S = sum_t theta(t)` encodes as `S` (saturation), so:
 *
 * - `theta(T-1) > 100`: inputs of unit scale never spike; the network outputs zeros and, with the
 *   ReLU gradient, cannot learn its way out (e.g. `theta0 = 1e30`);
 * - `S < 0.01`: every input above 1 % of unit scale saturates; the STCB is a step function.
 *
 * The text names the largest input the thresholds can encode (`S`) and the smallest that spikes.
 */
export function thresholdScaleWarning(cfg: StcConfig): string | null {
  const th = thresholds(cfg);
  const smallest = th[th.length - 1];
  const S = th.reduce((a, b) => a + b, 0);
  const g = (v: number) => v.toPrecision(3);
  const head = `theta0 ${cfg.theta0} (T ${cfg.T}, tau ${cfg.tau}, ${cfg.schedule})`;
  if (smallest > NEVER_SPIKES_ABOVE * STCB_INPUT_SCALE)
    return `${head}: no STCB input below theta(T-1) = ${g(smallest)} spikes, and batch-normalised inputs are of order ${STCB_INPUT_SCALE}: the network will (almost) never spike (the largest input it can encode is sum theta = ${g(S)})`;
  if (S < ALWAYS_SATURATES_BELOW * STCB_INPUT_SCALE)
    return `${head}: the largest input it can encode is sum theta = ${g(S)}, and batch-normalised inputs are of order ${STCB_INPUT_SCALE}: (almost) every positive input saturates`;
  return null;
}

/**
 * The configuration of a unit threshold, `theta0 = 1` (everything else as `cfg`): an STCB with
 * learned thresholds encodes `x / theta0` with it (scale equivariance: `q(x; theta0) = theta0 q(x / theta0; 1)`, see `stcConv2dLearned`).
 */
export function unitConfig(cfg: StcConfig): StcConfig {
  return cfg.theta0 === 1 ? cfg : stcConfig({ ...cfg, theta0: 1 });
}

/**
 * The number of positive quantisation steps of `cfg` at the resolution of its last threshold,
 * `Q_p = S / theta(T-1)`, `S = sum_t theta(t)` (independent of theta0; 255 for T = 8 with the
 * geometric schedule and tau = 2, about 84 with the exp schedule and tau = 2). It plays the part
 * of LSQ's `Q_P` in the gradient scale of a learned threshold ({@link thresholdGradScale}).
 */
export function quantLevels(cfg: StcConfig): number {
  const th = thresholds(cfg);
  return th.reduce((a, b) => a + b, 0) / th[th.length - 1];
}

/**
 * The gradient scale of a learned threshold that `n` inputs per sample share, after LSQ (Esser
 * et al. 2020, "Learned step size quantization"): `g = 1 / sqrt(n * Q_p)`. A threshold's gradient
 * sums over the `n` inputs it encodes, so without `g` a layer-wide threshold would move orders of
 * magnitude faster than a weight; `g` brings its relative update to the weights' scale.
 */
export function thresholdGradScale(cfg: StcConfig, n: number): number {
  return 1 / Math.sqrt(Math.max(1, n) * quantLevels(cfg));
}
