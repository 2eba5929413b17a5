/**
 * The model zoo: VGG11, VGG16 and pre-activation ResNet18 built from STCBs (DESIGN.md §2),
 * each with an ANN twin (`mode: 'ann'`: `ReLU -> Conv`, same parameters).
 *
 * Models are data plus parameters: an {@link ArchConfig} fixes the structure, and
 * {@link Network.layers} describes every layer (shapes, kernel, stride) for the energy
 * analysis and for export.
 *
 * Structures (NHWC; `q` is STEB+CAB in `stc` mode and ReLU in `ann` mode):
 *
 * ```
 * VGG:      stem: conv3x3 -> bn  (a plain MAC layer on the real-valued input)
 *           blocks.i: [maxpool 2x2 where the VGG configuration has 'M'] -> conv3x3(q(.)) -> bn
 *           head: [final maxpool] -> relu -> flatten -> classifier (linear with bias)
 * ResNet18: conv1: conv3x3 (64)
 *           layerL.B (pre-activation basic block):
 *              o = bn1(x); a = conv1(q(o)) (3x3, stride s); b = bn2(a); c = conv2(q(b)) (3x3)
 *              out = c + (shortcut ? shortcut(q(o)) (1x1, stride s) : x)
 *           head: bn -> relu -> global average pool -> linear
 * ```
 *
 * A max pool is skipped where the feature map is already smaller than 2x2, so that small
 * inputs (28x28) keep a 1x1 map at the end.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type StcConfig } from '../core/config.js';
import { STC_PATHS, type StcPath } from '../core/stcb.js';
import { SeedStream } from './init.js';
import {
  BatchNorm,
  Conv2d,
  Linear,
  StcConv2d,
  residualAdd,
  type Activation,
  type ConvSpec,
  NET_MODES,
  type NetMode,
} from './layers.js';
import { Module, stage, type ForwardOptions } from './module.js';

export const ARCHS = ['vgg11', 'vgg16', 'resnet18'] as const;
/** An architecture name. */
export type Arch = (typeof ARCHS)[number];

/** Everything that fixes a network's structure. */
export interface ArchConfig {
  readonly arch: Arch;
  readonly mode: NetMode;
  /** Channel multiplier (e.g. 0.25 for CPU-sized runs); channels are `max(1, round(c * width))`. */
  readonly width: number;
  /** Input `[H, W, C]`. */
  readonly inputShape: readonly [number, number, number];
  readonly classes: number;
  readonly stc: StcConfig;
  /** Forward path of the STCBs (`fused` for training). */
  readonly path: StcPath;
}

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

const VGG_CFG: Record<'vgg11' | 'vgg16', (number | 'M')[]> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
};

function scaled(c: number, width: number): number {
  return Math.max(1, Math.round(c * width));
}

function convOut(hw: readonly number[], s: ConvSpec): [number, number, number] {
  const f = (n: number) => Math.floor((n + 2 * s.pad - s.kernel) / s.stride) + 1;
  return [f(hw[0]), f(hw[1]), s.cout];
}

/** Validates an architecture configuration. */
export function checkArchConfig(cfg: ArchConfig): ArchConfig {
  if (!(ARCHS as readonly string[]).includes(cfg.arch)) {
    throw new ConfigError(`arch must be one of ${ARCHS.join(', ')}; got ${cfg.arch}`);
  }
  if (!(NET_MODES as readonly string[]).includes(cfg.mode))
    throw new ConfigError(`mode must be ${NET_MODES.join(' or ')}; got ${cfg.mode}`);
  if (!(cfg.width > 0 && cfg.width <= 4)) throw new ConfigError(`width must be in (0, 4], got ${cfg.width}`);
  if (!(STC_PATHS as readonly string[]).includes(cfg.path)) {
    throw new ConfigError(`path must be ${STC_PATHS.join(' or ')}; got ${cfg.path}`);
  }
  const [h, w, c] = cfg.inputShape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d >= 1) || h < 4 || w < 4) {
    throw new ConfigError(`input shape must be [H>=4, W>=4, C>=1] integers, got [${cfg.inputShape}]`);
  }
  if (!(Number.isInteger(cfg.classes) && cfg.classes >= 2)) {
    throw new ConfigError(`classes must be an integer >= 2, got ${cfg.classes}`);
  }
  return cfg;
}

/** A network: `forward(x: [N,H,W,C]) -> logits [N, classes]`. */
export abstract class Network extends Module {
  /** Every layer in forward order. */
  readonly layers: LayerInfo[] = [];
  protected readonly act: Activation;
  constructor(readonly config: ArchConfig) {
    super();
    this.act = { mode: config.mode, stc: config.stc, path: config.path };
  }
  abstract forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D;
}

function maxPool(x: tf.Tensor): tf.Tensor {
  return tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');
}

/** VGG11 / VGG16 from STCBs. */
export class Vgg extends Network {
  private readonly stem: Conv2d;
  private readonly stemBn: BatchNorm;
  private readonly blocks: { pool: boolean; conv: StcConv2d; bn: BatchNorm }[] = [];
  private readonly finalPool: boolean;
  private readonly classifier: Linear;

  constructor(config: ArchConfig, seed: number) {
    super(config);
    const seeds = new SeedStream(seed);
    const cfg = VGG_CFG[config.arch as 'vgg11' | 'vgg16'];
    let shape: [number, number, number] = [...config.inputShape];
    const widths = cfg.filter((v): v is number => v !== 'M').map((c) => scaled(c, config.width));
    const stemSpec: ConvSpec = { cin: shape[2], cout: widths[0], kernel: 3, stride: 1, pad: 1 };
    this.stem = this.child('stem', new Conv2d(stemSpec, seeds));
    this.layers.push({
      name: 'stem',
      kind: 'conv',
      inShape: shape,
      outShape: convOut(shape, stemSpec),
      conv: stemSpec,
    });
    shape = convOut(shape, stemSpec);
    this.stemBn = this.child('stem_bn', new BatchNorm(shape[2]));
    this.layers.push({ name: 'stem_bn', kind: 'bn', inShape: shape, outShape: shape });
    let pendingPool = false;
    let i = 0;
    for (const v of cfg.slice(1)) {
      if (v === 'M') {
        pendingPool = true;
        continue;
      }
      const pool = pendingPool && shape[0] >= 2 && shape[1] >= 2;
      if (pool) {
        const out: [number, number, number] = [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), shape[2]];
        this.layers.push({ name: `blocks.${i}.pool`, kind: 'maxpool', inShape: shape, outShape: out });
        shape = out;
      }
      pendingPool = false;
      const spec: ConvSpec = { cin: shape[2], cout: scaled(v, config.width), kernel: 3, stride: 1, pad: 1 };
      const name = `blocks.${i}`;
      const conv = new StcConv2d(spec, this.act, seeds, `${name}.conv`);
      const out = convOut(shape, spec);
      this.layers.push({
        name: `${name}.conv`,
        kind: 'stcb-conv',
        inShape: shape,
        outShape: out,
        conv: spec,
      });
      shape = out;
      const bn = new BatchNorm(shape[2]);
      this.layers.push({ name: `${name}.bn`, kind: 'bn', inShape: shape, outShape: shape });
      const block = this.child(name, new VggBlock(conv, bn));
      this.blocks.push({ pool, conv: block.conv, bn: block.bn });
      i++;
    }
    this.finalPool = pendingPool && shape[0] >= 2 && shape[1] >= 2;
    if (this.finalPool) {
      const out: [number, number, number] = [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2), shape[2]];
      this.layers.push({ name: 'pool', kind: 'maxpool', inShape: shape, outShape: out });
      shape = out;
    }
    this.layers.push({ name: 'relu', kind: 'relu', inShape: shape, outShape: shape });
    const features = shape[0] * shape[1] * shape[2];
    this.classifier = this.child('classifier', new Linear(features, config.classes, seeds));
    this.layers.push({ name: 'classifier', kind: 'linear', inShape: [features], outShape: [config.classes] });
  }

  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
    let h = stage(x, x, (t) => this.stemBn.forward(this.stem.forward(t), opts));
    for (const b of this.blocks) {
      h = stage(h, x, (t) => b.bn.forward(b.conv.forward(b.pool ? maxPool(t) : t, opts), opts));
    }
    return stage(h, x, (t) => {
      const r = tf.relu(this.finalPool ? maxPool(t) : t);
      return this.classifier.forward(tf.reshape(r, [r.shape[0], -1])) as tf.Tensor2D;
    });
  }
}

class VggBlock extends Module {
  readonly conv: StcConv2d;
  readonly bn: BatchNorm;
  constructor(conv: StcConv2d, bn: BatchNorm) {
    super();
    this.conv = this.child('conv', conv);
    this.bn = this.child('bn', bn);
  }
}

/** A pre-activation basic block (He et al. 2016) with STCBs. */
class PreActBlock extends Module {
  private readonly bn1: BatchNorm;
  private readonly conv1: StcConv2d;
  private readonly bn2: BatchNorm;
  private readonly conv2: StcConv2d;
  private readonly shortcut?: StcConv2d;

  constructor(
    name: string,
    cin: number,
    cout: number,
    stride: number,
    act: Activation,
    seeds: SeedStream,
    layers: LayerInfo[],
    hw: [number, number],
  ) {
    super();
    const inShape = [hw[0], hw[1], cin];
    this.bn1 = this.child('bn1', new BatchNorm(cin));
    layers.push({ name: `${name}.bn1`, kind: 'bn', inShape, outShape: inShape });
    const s1: ConvSpec = { cin, cout, kernel: 3, stride, pad: 1 };
    this.conv1 = this.child('conv1', new StcConv2d(s1, act, seeds, `${name}.conv1`));
    const mid = convOut(inShape, s1);
    layers.push({ name: `${name}.conv1`, kind: 'stcb-conv', inShape, outShape: mid, conv: s1 });
    this.bn2 = this.child('bn2', new BatchNorm(cout));
    layers.push({ name: `${name}.bn2`, kind: 'bn', inShape: mid, outShape: mid });
    const s2: ConvSpec = { cin: cout, cout, kernel: 3, stride: 1, pad: 1 };
    this.conv2 = this.child('conv2', new StcConv2d(s2, act, seeds, `${name}.conv2`));
    layers.push({ name: `${name}.conv2`, kind: 'stcb-conv', inShape: mid, outShape: mid, conv: s2 });
    if (stride !== 1 || cin !== cout) {
      const ss: ConvSpec = { cin, cout, kernel: 1, stride, pad: 0 };
      this.shortcut = this.child('shortcut', new StcConv2d(ss, act, seeds, `${name}.shortcut`));
      layers.push({
        name: `${name}.shortcut`,
        kind: 'stcb-conv',
        inShape,
        outShape: convOut(inShape, ss),
        conv: ss,
      });
    }
    layers.push({ name: `${name}.add`, kind: 'add', inShape: mid, outShape: mid });
  }

  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
    const o = this.bn1.forward(x, opts);
    const c = this.conv2.forward(this.bn2.forward(this.conv1.forward(o, opts), opts), opts);
    return residualAdd(c, this.shortcut ? this.shortcut.forward(o, opts) : x);
  }
}

class ResLayer extends Module {
  readonly blocks: PreActBlock[] = [];
  add(i: number, b: PreActBlock): void {
    this.blocks.push(this.child(String(i), b));
  }
}

/** Pre-activation ResNet18 from STCBs. */
export class ResNet18 extends Network {
  private readonly conv1: Conv2d;
  private readonly stages: ResLayer[] = [];
  private readonly bn: BatchNorm;
  private readonly linear: Linear;

  constructor(config: ArchConfig, seed: number) {
    super(config);
    const seeds = new SeedStream(seed);
    let shape: [number, number, number] = [...config.inputShape];
    const c0 = scaled(64, config.width);
    const stem: ConvSpec = { cin: shape[2], cout: c0, kernel: 3, stride: 1, pad: 1 };
    this.conv1 = this.child('conv1', new Conv2d(stem, seeds));
    this.layers.push({
      name: 'conv1',
      kind: 'conv',
      inShape: shape,
      outShape: convOut(shape, stem),
      conv: stem,
    });
    shape = convOut(shape, stem);
    const plan: [number, number][] = [
      [64, 1],
      [128, 2],
      [256, 2],
      [512, 2],
    ];
    plan.forEach(([c, stride], li) => {
      const layer = this.child(`layer${li + 1}`, new ResLayer());
      const cout = scaled(c, config.width);
      for (let b = 0; b < 2; b++) {
        const s = b === 0 ? stride : 1;
        const name = `layer${li + 1}.${b}`;
        layer.add(
          b,
          new PreActBlock(name, shape[2], cout, s, this.act, seeds, this.layers, [shape[0], shape[1]]),
        );
        shape = convOut(shape, { cin: shape[2], cout, kernel: 3, stride: s, pad: 1 });
      }
      this.stages.push(layer);
    });
    this.bn = this.child('bn', new BatchNorm(shape[2]));
    this.layers.push({ name: 'bn', kind: 'bn', inShape: shape, outShape: shape });
    this.layers.push({ name: 'relu', kind: 'relu', inShape: shape, outShape: shape });
    this.layers.push({ name: 'avgpool', kind: 'avgpool', inShape: shape, outShape: [shape[2]] });
    this.linear = this.child('linear', new Linear(shape[2], config.classes, seeds));
    this.layers.push({ name: 'linear', kind: 'linear', inShape: [shape[2]], outShape: [config.classes] });
  }

  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
    let h = stage(x, x, (t) => this.conv1.forward(t));
    for (const layer of this.stages) for (const b of layer.blocks) h = stage(h, x, (t) => b.forward(t, opts));
    return stage(h, x, (t) => {
      const r = tf.relu(this.bn.forward(t, opts));
      return this.linear.forward(tf.mean(r, [1, 2])) as tf.Tensor2D;
    });
  }
}

/** Builds a network with seeded PyTorch-default initialisation. */
export function buildNetwork(config: ArchConfig, seed = 0): Network {
  checkArchConfig(config);
  return config.arch === 'resnet18' ? new ResNet18(config, seed) : new Vgg(config, seed);
}
