/**
 * Network plans: the one description of every architecture's structure. A plan is the ordered
 * list of a network's layers (name, kind, shapes, convolution geometry, which values each layer
 * reads), computed from the `PlanConfig` part of an `ArchConfig` alone (`arch-config.ts`, the
 * one schema of a network's configuration): no tensors, no backend. Everything else
 * is derived from it:
 *
 * - the module tree and the forward pass (`Network` in `models.ts` builds one module per
 *   layer that has parameters, named by the layer, in plan order, and interprets the plan);
 * - `Network.layers` (the plan's layers), the spike-statistics labels (STCB layer names);
 * - the ONNX graph, fused and spike-train (`interop/onnx.ts` walks the plan);
 * - the energy table (`src/lib/analysis/energy.ts` counts operations per plan layer).
 *
 * Adding an architecture is adding its name to `ARCHS` (`arch-config.ts`) and its plan to `PLANS`
 * below.
 *
 * Conventions: shapes are per sample, NHWC `[H, W, C]` (or `[features]`); a layer's name is its
 * module path, the prefix of its parameter names (`layer1.0.conv1` owns `layer1.0.conv1.weight`);
 * parameters are created (and the init seeds drawn, see `init.ts`) in plan order. A layer reads
 * the values named in `inputs`: {@link INPUT} (the network's input) or earlier layers' names.
 *
 * Structures (`q` is STEB+CAB in `stc` mode and ReLU in `ann` mode; every convolution has no
 * bias; layer names in brackets):
 *
 * ```
 * VGG11/16: [stem] conv3x3 -> [stem_bn] bn  (a plain MAC layer on the real-valued input)
 *           per further entry i of the VGG configuration:
 *             [blocks.i.pool] maxpool 2x2 (where the configuration has 'M' before it)
 *             [blocks.i.conv] conv3x3(q(.)) -> [blocks.i.bn] bn
 *           head: [pool] final maxpool -> [relu] relu -> flatten (NHWC) -> [classifier] linear+bias
 * ResNet18: [conv1] conv3x3 (64)
 *           [layerL.B] pre-activation basic block, L = 1..4 (64, 128, 256, 512 channels;
 *           stride 2 in the first block of L = 2..4), B = 0, 1:
 *              o = bn1(x); a = conv1(q(o)) (3x3, stride s); b = bn2(a); c = conv2(q(b)) (3x3)
 *              add: out = c + (shortcut ? shortcut(q(o)) (1x1, stride s) : x)
 *           head: [bn] bn -> [relu] relu -> [avgpool] global average pool -> [linear] linear+bias
 * ```
 *
 * Channels are `max(1, round(c * width))`. A max pool is skipped where the feature map is
 * already smaller than 2x2, so that small inputs (28x28) keep a 1x1 map at the end.
 */
import { checkPlanConfig, type Arch, type PlanConfig } from './arch-config.js';
import type { ConvSpec } from './layers.js';

export {
  ARCHS,
  checkArchConfig,
  checkPlanConfig,
  type Arch,
  type ArchConfig,
  type PlanConfig,
} from './arch-config.js';

/** What a layer is, for statistics and energy. */
export type LayerKind = 'conv' | 'stcb-conv' | 'bn' | 'maxpool' | 'avgpool' | 'linear' | 'add' | 'relu';

/** Description of one layer, per sample. */
export interface LayerInfo {
  /** Module path (the prefix of its parameter names). */
  readonly name: string;
  readonly kind: LayerKind;
  /** Input `[H, W, C]` (or `[features]`). */
  readonly inShape: readonly number[];
  /** Output `[H, W, C]` (or `[features]`). */
  readonly outShape: readonly number[];
  /** Convolution geometry, for `conv` and `stcb-conv`. */
  readonly conv?: ConvSpec;
}

/** The name of the network's input among the values layers read. */
export const INPUT = 'input';

/**
 * One layer of a plan. Semantics per kind (`x = inputs[0]`):
 * `conv` `W * x`; `stcb-conv` `W * q(x)`; `bn` batch norm over C; `maxpool` 2x2 stride 2;
 * `relu`; `avgpool` the mean over H and W; `linear` `x W + b` (a feature map `x` is flattened
 * in NHWC order first); `add` `inputs[0] + inputs[1]`.
 */
export interface PlanLayer extends LayerInfo {
  /** The values this layer reads, in order: {@link INPUT} or earlier layers' names (two for `add`). */
  readonly inputs: readonly string[];
}

/** The structure of a network: its layers in forward order; the last one's output is the logits. */
export interface NetworkPlan {
  readonly arch: Arch;
  readonly inputShape: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly PlanLayer[];
}

/** One parameter or buffer of a plan's state dict (our layouts: conv `[kh,kw,Cin,Cout]`, linear `[in,out]`). */
export interface PlanParameter {
  readonly name: string;
  readonly shape: readonly number[];
  readonly trainable: boolean;
}

function scaled(c: number, width: number): number {
  return Math.max(1, Math.round(c * width));
}

/** Output `[Ho, Wo, Cout]` of a convolution on `[H, W, ...]`: `floor((n + 2 pad - k) / stride) + 1`. */
export function convOutShape(hw: readonly number[], s: ConvSpec): [number, number, number] {
  const f = (n: number) => Math.floor((n + 2 * s.pad - s.kernel) / s.stride) + 1;
  return [f(hw[0]), f(hw[1]), s.cout];
}

/**
 * Multiply-accumulates of a layer's weights per sample: `k*k*Cin*Cout*Ho*Wo` for a convolution
 * (every output position counted as a full window), `in * out` for a linear layer, else 0.
 */
export function weightMacs(l: LayerInfo): number {
  const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (l.conv) return l.conv.kernel * l.conv.kernel * l.conv.cin * l.conv.cout * l.outShape[0] * l.outShape[1];
  return l.kind === 'linear' ? prod(l.inShape) * prod(l.outShape) : 0;
}

/** Appends layers, tracking the current value and every value's shape. */
class PlanBuilder {
  readonly layers: PlanLayer[] = [];
  /** The value the next layer reads by default. */
  current = INPUT;
  private readonly shapes = new Map<string, readonly number[]>();

  constructor(input: readonly number[]) {
    this.shapes.set(INPUT, input);
  }

  shape(value = this.current): readonly number[] {
    return this.shapes.get(value)!;
  }

  private push(l: PlanLayer): string {
    this.layers.push(l);
    this.shapes.set(l.name, l.outShape);
    this.current = l.name;
    return l.name;
  }

  conv(
    name: string,
    kind: 'conv' | 'stcb-conv',
    out: number,
    kernel: number,
    stride: number,
    from = this.current,
  ): string {
    const inShape = this.shape(from);
    const conv: ConvSpec = { cin: inShape[2], cout: out, kernel, stride, pad: (kernel - 1) / 2 };
    return this.push({ name, kind, inShape, outShape: convOutShape(inShape, conv), conv, inputs: [from] });
  }

  /** A layer whose output has the shape of its input (`bn`, `relu`). */
  same(name: string, kind: 'bn' | 'relu', from = this.current): string {
    const s = this.shape(from);
    return this.push({ name, kind, inShape: s, outShape: s, inputs: [from] });
  }

  /** A 2x2 max pool, skipped (returns false) where the map is smaller than 2x2. */
  maxPool(name: string): boolean {
    const s = this.shape();
    if (!(s[0] >= 2 && s[1] >= 2)) return false;
    const outShape = [Math.floor(s[0] / 2), Math.floor(s[1] / 2), s[2]];
    this.push({ name, kind: 'maxpool', inShape: s, outShape, inputs: [this.current] });
    return true;
  }

  avgPool(name: string): string {
    const s = this.shape();
    return this.push({ name, kind: 'avgpool', inShape: s, outShape: [s[2]], inputs: [this.current] });
  }

  add(name: string, a: string, b: string): string {
    const s = this.shape(a);
    return this.push({ name, kind: 'add', inShape: s, outShape: s, inputs: [a, b] });
  }

  /** A linear layer with bias on the flattened current value. */
  linear(name: string, out: number): string {
    const features = this.shape().reduce((x, y) => x * y, 1);
    return this.push({ name, kind: 'linear', inShape: [features], outShape: [out], inputs: [this.current] });
  }
}

const VGG_CFG: Record<'vgg11' | 'vgg16', (number | 'M')[]> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
};

function vggPlan(arch: 'vgg11' | 'vgg16') {
  return (b: PlanBuilder, c: PlanConfig): void => {
    const [first, ...rest] = VGG_CFG[arch];
    b.conv('stem', 'conv', scaled(first as number, c.width), 3, 1);
    b.same('stem_bn', 'bn');
    let pendingPool = false;
    let i = 0;
    for (const v of rest) {
      if (v === 'M') {
        pendingPool = true;
        continue;
      }
      if (pendingPool) b.maxPool(`blocks.${i}.pool`);
      pendingPool = false;
      b.conv(`blocks.${i}.conv`, 'stcb-conv', scaled(v, c.width), 3, 1);
      b.same(`blocks.${i}.bn`, 'bn');
      i++;
    }
    if (pendingPool) b.maxPool('pool');
    b.same('relu', 'relu');
    b.linear('classifier', c.classes);
  };
}

function resnet18Plan(b: PlanBuilder, c: PlanConfig): void {
  b.conv('conv1', 'conv', scaled(64, c.width), 3, 1);
  const stages: [number, number][] = [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ];
  stages.forEach(([channels, stride], li) => {
    const cout = scaled(channels, c.width);
    for (let k = 0; k < 2; k++) {
      const p = `layer${li + 1}.${k}`;
      const s = k === 0 ? stride : 1;
      const x = b.current;
      const cin = b.shape(x)[2];
      const o = b.same(`${p}.bn1`, 'bn');
      b.conv(`${p}.conv1`, 'stcb-conv', cout, 3, s);
      b.same(`${p}.bn2`, 'bn');
      const conv2 = b.conv(`${p}.conv2`, 'stcb-conv', cout, 3, 1);
      const skip = s !== 1 || cin !== cout ? b.conv(`${p}.shortcut`, 'stcb-conv', cout, 1, s, o) : x;
      b.add(`${p}.add`, conv2, skip);
    }
  });
  b.same('bn', 'bn');
  b.same('relu', 'relu');
  b.avgPool('avgpool');
  b.linear('linear', c.classes);
}

/** The plan of every architecture. */
const PLANS: Record<Arch, (b: PlanBuilder, c: PlanConfig) => void> = {
  vgg11: vggPlan('vgg11'),
  vgg16: vggPlan('vgg16'),
  resnet18: resnet18Plan,
};

/**
 * The plan of an architecture (pure: no tensors, no backend).
 * @throws ConfigError for an unknown arch, a bad width, input shape or class count
 */
export function planNetwork(config: PlanConfig): NetworkPlan {
  checkPlanConfig(config);
  const b = new PlanBuilder(config.inputShape);
  PLANS[config.arch](b, config);
  return { arch: config.arch, inputShape: config.inputShape, classes: config.classes, layers: b.layers };
}

/**
 * The parameters and buffers a plan's network holds, in `state_dict` order (that of
 * `Module.namedVariables()`): `conv`/`stcb-conv` `weight [k,k,Cin,Cout]`; `bn` `weight`,
 * `bias`, `running_mean`, `running_var` `[C]` and `num_batches_tracked []`; `linear`
 * `weight [in,out]`, `bias [out]`.
 */
export function planParameters(plan: NetworkPlan): PlanParameter[] {
  const out: PlanParameter[] = [];
  const p = (name: string, shape: readonly number[], trainable = true) =>
    out.push({ name, shape, trainable });
  for (const l of plan.layers) {
    if (l.conv) p(`${l.name}.weight`, [l.conv.kernel, l.conv.kernel, l.conv.cin, l.conv.cout]);
    else if (l.kind === 'bn') {
      const c = [l.outShape[2]];
      p(`${l.name}.weight`, c);
      p(`${l.name}.bias`, c);
      p(`${l.name}.running_mean`, c, false);
      p(`${l.name}.running_var`, c, false);
      p(`${l.name}.num_batches_tracked`, [], false);
    } else if (l.kind === 'linear') {
      p(`${l.name}.weight`, [l.inShape[0], l.outShape[0]]);
      p(`${l.name}.bias`, [l.outShape[0]]);
    }
  }
  return out;
}
