/**
 * The one table of stcsnn's named kernels: each kernel's name, inputs, outputs and typed
 * attributes. Every other place derives from it: the implementations (`arrayKernel` for
 * `cpu`/`wasm`, `opsKernel` for any backend), the gradients, the callers
 * (`runKernel`) and the native libtorch backend, whose `lib/kernel-table.js` is this module's
 * compiled output, copied there by `scripts/emit-kernel-table.mjs` (part of `npm run build`;
 * a test fails when the copy is stale). This module therefore imports nothing.
 *
 * The equations are in each kernel's `doc` below and, with the shapes, beside its implementation
 * (`stc-kernels.ts`, `batch-norm.ts`, `sgd-step.ts`); the engine's `registerAll`
 * (`src/lib/engine/kernel-registry.ts`) registers them, one list per backend.
 */

/** The type of one attribute's value: `number`, `boolean` or `number[]`. */
export type AttrType = 'number' | 'boolean' | 'number[]';

/** One attribute: its type and, when a caller may leave it out, its default. */
export interface AttrSpec {
  readonly type: AttrType;
  readonly default?: number | boolean;
  readonly doc: string;
}

/** One named kernel: input and output names in order, attributes by name. */
export interface KernelSpec {
  readonly doc: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: { readonly [name: string]: AttrSpec };
}

const thresholds = { type: 'number[]', doc: 'theta(0..T-1), the threshold schedule' } as const;
const strict = {
  type: 'boolean',
  default: false,
  doc: 'fire on V > theta instead of V >= theta',
} as const;
const stride = { type: 'number', doc: 'the convolution stride (both axes)' } as const;
const pad = { type: 'number', doc: 'zero padding on each side (both axes)' } as const;
const upper = {
  type: 'number',
  default: Infinity,
  doc: "the gradient is zero where x >= upper (+inf: the paper's ReLU gradient; sum theta with gradient 'clipped')",
} as const;

/**
 * Every named kernel of stcsnn. The STC recurrence of the first six, per element:
 * `V(0) = x; s(t) = 1[V(t) >= theta(t)] (> when strict); V(t+1) = V(t) - s(t) theta(t)`.
 */
export const KERNELS = {
  StcQuantize: {
    doc: 'q(x) = sum_t theta(t) s(t), shape of x: STEB followed by CAB in one pass; its gradient is StcQuantizeGrad (upper passed on)',
    inputs: ['x'],
    outputs: ['q'],
    attrs: { thresholds, strict, upper },
  },
  StcQuantizeGrad: {
    doc: 'dy * 1[0 < x < upper], shape of x: the equivalent gradient of StcQuantize',
    inputs: ['dy', 'x'],
    outputs: ['dx'],
    attrs: { upper },
  },
  StcQuantizeScaled: {
    doc: 'q = theta0 q_1(x / theta0), shape of x, float32 at each step (u = x / theta0, q_1(u) with the thresholds of theta0 = 1, q = theta0 q_1): StcQuantize with learned thresholds, theta0 of shape [] (one per layer) or [C] (per channel, the last axis of x); its gradient is StcQuantizeScaledGrad (upper passed on)',
    inputs: ['x', 'theta0'],
    outputs: ['q'],
    attrs: { thresholds, strict, upper },
  },
  StcQuantizeScaledGrad: {
    doc: 'the gradient of StcQuantizeScaled in one pass, with u = x / theta0, m = 1[0 < u < upper]: dx = dy m, dtheta0 = sum dy (q_1(u) - u m) over every axis of x but theta0 own (the last, for [C]; every axis for []), summed in float64; and q, the forward value (for the weight gradient of the layer it feeds)',
    inputs: ['dy', 'x', 'theta0'],
    outputs: ['dx', 'dtheta0', 'q'],
    attrs: { thresholds, strict, upper },
  },
  StcEncode: {
    doc: 'the spike train s, shape [T, ...x.shape], values 0/1',
    inputs: ['x'],
    outputs: ['s'],
    attrs: { thresholds, strict },
  },
  StcSpikeCount: {
    doc: 'sum_t s(t), shape of x: the spikes each element fires',
    inputs: ['x'],
    outputs: ['count'],
    attrs: { thresholds, strict },
  },
  StcConv2D: {
    doc: "y = conv(q(x), w) (NHWC x, HWIO w, PyTorch's symmetric padding): an STCB's forward value on the fused path in one call, the values of StcQuantize then Conv2D; its gradient is the STCB's, StcConv2DBackward (see src/lib/core/stcb.ts)",
    inputs: ['x', 'w'],
    outputs: ['y'],
    attrs: {
      thresholds,
      strict,
      stride,
      pad,
    },
  },
  StcConv2DBackward: {
    doc: "the backward pass of an STCB with a 2-D convolution (NHWC x and dy, HWIO w, PyTorch's symmetric padding) in one call, or with relu that of the ANN twin's ReLU -> Conv: a = q(x) (relu(x)) recomputed, dw = the filter gradient of conv(a, w) for dy, dx = (its input gradient) * 1[0 < x < upper]; the values of StcQuantize, Conv2DBackpropInput, Conv2DBackpropFilter and StcQuantizeGrad one after the other",
    inputs: ['dy', 'x', 'w'],
    outputs: ['dx', 'dw'],
    attrs: {
      thresholds: {
        type: 'number[]',
        doc: 'theta(0..T-1), the threshold schedule (ignored with relu: pass [])',
      },
      strict,
      upper,
      relu: { type: 'boolean', default: false, doc: 'the activation is ReLU (the ANN twin), not q' },
      stride,
      pad,
    },
  },
  StcBatchNormTrain: {
    doc: 'training-mode batch norm over all axes but the last (C): mean, biased var, invstd = 1 / sqrt(var + eps), y = gamma (x - mean) invstd + beta',
    inputs: ['x', 'gamma', 'beta'],
    outputs: ['y', 'mean', 'invstd'],
    attrs: { eps: { type: 'number', doc: 'added to the variance' } },
  },
  StcBatchNormTrainGrad: {
    doc: 'the gradient of StcBatchNormTrain: dbeta = sum dy, dgamma = sum dy xhat, dx = gamma invstd / M (M dy - dbeta - xhat dgamma)',
    inputs: ['dy', 'x', 'gamma', 'mean', 'invstd'],
    outputs: ['dx', 'dgamma', 'dbeta'],
    attrs: {},
  },
  StcBatchNormRunning: {
    doc: "the running statistics after one training batch (PyTorch's, momentum k): var = 1 / invstd^2 - eps (the biased batch variance), runningMean' = (1 - k) runningMean + k mean, runningVar' = (1 - k) runningVar + k var count / (count - 1) (unbiased; count 1: var), numBatchesTracked' = numBatchesTracked + 1 (int32); float32, each operation rounded as it is written",
    inputs: ['runningMean', 'runningVar', 'numBatchesTracked', 'mean', 'invstd'],
    outputs: ['runningMean', 'runningVar', 'numBatchesTracked'],
    attrs: {
      momentum: { type: 'number', doc: 'the weight k of the batch statistics' },
      eps: { type: 'number', doc: 'the eps of StcBatchNormTrain that gave invstd' },
      count: { type: 'number', doc: 'the elements per channel the batch statistics were taken over' },
    },
  },
  StcSquaredNorm: {
    doc: "sum of x^2 over every element of x, a float32 scalar: finite unless x holds a NaN or an Infinity or the sum overflows float32 (the trainer's gradient check, one call per parameter); the summation order is the backend's",
    inputs: ['x'],
    outputs: ['norm2'],
    attrs: {},
  },
  StcSgdStep: {
    doc: "one SGD step with momentum (PyTorch's): g = grad + weightDecay p; b' = momentum b + g; d = nesterov ? g + momentum b' : b'; p' = p - lr d",
    inputs: ['p', 'b', 'grad'],
    outputs: ['p', 'b'],
    attrs: {
      lr: { type: 'number', doc: 'learning rate' },
      momentum: { type: 'number', doc: 'momentum factor' },
      weightDecay: { type: 'number', doc: 'L2 weight decay' },
      nesterov: { type: 'boolean', default: false, doc: 'Nesterov momentum' },
    },
  },
} as const satisfies { readonly [name: string]: KernelSpec };

/** The name of a kernel in {@link KERNELS}. */
export type KernelName = keyof typeof KERNELS;

/** Every kernel name, in table order. */
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

type AttrsOf<N extends KernelName> = (typeof KERNELS)[N]['attrs'];
type ValueOf<T extends AttrType> = T extends 'number' ? number : T extends 'boolean' ? boolean : number[];
type AttrValue<N extends KernelName, A extends keyof AttrsOf<N>> = AttrsOf<N>[A] extends {
  readonly type: infer T extends AttrType;
}
  ? ValueOf<T>
  : never;
type Defaulted<N extends KernelName> = {
  [A in keyof AttrsOf<N>]: AttrsOf<N>[A] extends { readonly default: unknown } ? A : never;
}[keyof AttrsOf<N>];

/** The attributes of kernel `N` as its implementation reads them: all present (defaults filled in). */
export type KernelAttrs<N extends KernelName> = { [A in keyof AttrsOf<N>]: AttrValue<N, A> };

/** The attributes a caller passes to kernel `N`: those with a default may be left out. */
export type KernelCallAttrs<N extends KernelName> = {
  [A in Exclude<keyof AttrsOf<N>, Defaulted<N>>]: AttrValue<N, A>;
} & { [A in Defaulted<N>]?: AttrValue<N, A> };

/** The input names of kernel `N`. */
export type KernelInputName<N extends KernelName> = (typeof KERNELS)[N]['inputs'][number];

/** The output names of kernel `N`, in order (a tuple). */
export type KernelOutputNames<N extends KernelName> = (typeof KERNELS)[N]['outputs'];

/** Whether `name` is a kernel of the table. */
export function isKernelName(name: string): name is KernelName {
  return Object.prototype.hasOwnProperty.call(KERNELS, name);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((e) => typeof e).join(', ')}]`;
  return v === null ? 'null' : typeof v;
}

function hasType(v: unknown, type: AttrType): boolean {
  if (type === 'number[]') return Array.isArray(v) && v.every((e) => typeof e === 'number');
  return typeof v === type;
}

/**
 * The attributes of a call of kernel `name`, checked against the table: each attribute of the
 * kernel's type, a missing one replaced by its default. Values are passed through unchanged.
 *
 * @param attrs as TensorFlow.js passes them (`undefined` when the caller gave none)
 * @throws TypeError (one line) for a missing attribute without default or one of the wrong type
 */
export function readAttrs<N extends KernelName>(name: N, attrs: object | undefined): KernelAttrs<N> {
  const given = (attrs ?? {}) as Record<string, unknown>;
  const specs: { readonly [a: string]: AttrSpec } = KERNELS[name].attrs;
  const out: Record<string, unknown> = {};
  for (const [a, spec] of Object.entries(specs)) {
    const v = given[a];
    if (v === undefined && spec.default !== undefined) {
      out[a] = spec.default;
    } else if (hasType(v, spec.type)) {
      out[a] = v;
    } else {
      throw new TypeError(`kernel ${name}: attribute ${a} must be ${spec.type}, got ${describe(v)}`);
    }
  }
  return out as KernelAttrs<N>;
}
