/**
 * The model zoo: VGG11, VGG16 and pre-activation ResNet18 built from STCBs (docs/semantics.md §2),
 * each with an ANN twin (`mode: 'ann'`: `ReLU -> Conv`, same parameters).
 *
 * A {@link Network} is an interpreter of its architecture's plan (`plan.ts`, where the
 * structures are drawn): one module per plan layer that has parameters, registered under the
 * layer's name in plan order (so parameter names, `state_dict` order and the seeded
 * initialisation follow the plan), and a forward pass that evaluates the plan's layers in order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../core/config.js';
import { SeedStream } from './init.js';
import { BatchNorm, Conv2d, Linear, StcConv2d, residualAdd, type Activation } from './layers.js';
import { Module, type ForwardOptions } from './module.js';
import {
  INPUT,
  checkArchConfig,
  planNetwork,
  type ArchConfig,
  type LayerInfo,
  type NetworkPlan,
  type PlanLayer,
} from './plan.js';

export {
  ARCHS,
  checkArchConfig,
  type Arch,
  type ArchConfig,
  type LayerInfo,
  type LayerKind,
} from './plan.js';

/** A module that only holds children (`blocks`, `layer1`, `layer1.0`). */
class Container extends Module {
  add<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}

/** The module of a plan layer, or null for layers without parameters. */
function moduleOf(l: PlanLayer, act: Activation, seeds: SeedStream): Module | null {
  switch (l.kind) {
    case 'conv':
      return new Conv2d(l.conv!, seeds);
    case 'stcb-conv':
      return new StcConv2d(l.conv!, act, seeds, l.name);
    case 'bn':
      return new BatchNorm(l.outShape[l.outShape.length - 1]);
    case 'linear':
      return new Linear(l.inShape[0], l.outShape[0], seeds);
    default:
      return null;
  }
}

/**
 * A network: `forward(x: [N,H,W,C]) -> logits [N, classes]`, built from `planNetwork(config)`
 * with seeded PyTorch-default initialisation (`init.ts`; seeds drawn in plan order).
 */
export class Network extends Module {
  /** The structure this network interprets. */
  readonly plan: NetworkPlan;
  /** Every layer in forward order (the plan's layers). */
  readonly layers: LayerInfo[];
  protected readonly act: Activation;
  /** The module of each plan layer (null where it has no parameters). */
  private readonly modules: (Module | null)[];
  /** Per plan layer, the values whose last reader it is (freed once it has run). */
  private readonly lastReads: string[][];

  constructor(
    readonly config: ArchConfig,
    seed = 0,
  ) {
    super();
    checkArchConfig(config);
    this.act = { mode: config.mode, stc: config.stc, path: config.path };
    this.plan = planNetwork(config);
    this.layers = [...this.plan.layers];
    const seeds = new SeedStream(seed);
    const containers = new Map<string, Container>();
    const attach = (name: string, m: Module): void => {
      const parts = name.split('.');
      let parent: (n: string, c: Module) => Module = (n, c) => this.child(n, c);
      for (let i = 0; i < parts.length - 1; i++) {
        const path = parts.slice(0, i + 1).join('.');
        let c = containers.get(path);
        if (!c) {
          c = new Container();
          parent(parts[i], c);
          containers.set(path, c);
        }
        const holder = c;
        parent = (n, m2) => holder.add(n, m2);
      }
      parent(parts[parts.length - 1], m);
    };
    this.modules = this.plan.layers.map((l) => {
      const m = moduleOf(l, this.act, seeds);
      if (m) attach(l.name, m);
      return m;
    });
    const last = new Map<string, number>();
    this.plan.layers.forEach((l, i) => l.inputs.forEach((v) => last.set(v, i)));
    this.lastReads = this.plan.layers.map(() => []);
    for (const [v, i] of last) if (v !== INPUT) this.lastReads[i].push(v);
  }

  /**
   * Evaluates the plan's layers in order, each in its own scope, freeing a value after its
   * last reader. TensorFlow.js frees a scope's tensors only when the scope closes, so a forward
   * pass written as one scope holds every intermediate until it ends (ResNet18 training at
   * batch 32: 411 MB of tensors against 237 MB that the backward pass needs); freeing per
   * layer keeps, like a reference-counting framework, only the live activations and what the
   * gradient tape saved (the tape keeps its own references). The input is never freed.
   */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
    const values = new Map<string, tf.Tensor>([[INPUT, x]]);
    let out: tf.Tensor = x;
    this.plan.layers.forEach((l, i) => {
      const ins = l.inputs.map((v) => values.get(v)!);
      out = tf.tidy(() => this.apply(l, this.modules[i], ins, opts));
      values.set(l.name, out);
      for (const v of this.lastReads[i]) {
        const t = values.get(v)!;
        if (t !== out && t !== x) t.dispose();
        values.delete(v);
      }
    });
    return out as tf.Tensor2D;
  }

  /**
   * `theta0` of the STCB `layer` when its thresholds are learned (`stc.learnTheta` `layer` or
   * `channel`): `exp(log_theta)` in float32 on the current backend, exactly the value the forward
   * pass uses, of length 1 or Cin; null for fixed thresholds (`stc.theta0`) and in `ann` mode.
   */
  learnedTheta0(layer: string): Float32Array | null {
    const i = this.plan.layers.findIndex((l) => l.name === layer);
    const m = i < 0 ? null : this.modules[i];
    if (!(m instanceof StcConv2d) || !m.threshold) return null;
    const logTheta = m.threshold.logTheta;
    return Float32Array.from(tf.tidy(() => tf.exp(logTheta)).dataSync() as Float32Array);
  }

  private apply(l: PlanLayer, m: Module | null, [a, b]: tf.Tensor[], opts: ForwardOptions): tf.Tensor {
    switch (l.kind) {
      case 'conv':
        return (m as Conv2d).forward(a);
      case 'stcb-conv':
        return (m as StcConv2d).forward(a, opts);
      case 'bn':
        return (m as BatchNorm).forward(a, opts);
      case 'maxpool':
        return tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid');
      case 'relu':
        return tf.relu(a);
      case 'avgpool':
        return tf.mean(a, [1, 2]);
      case 'linear':
        return (m as Linear).forward(a.rank > 2 ? tf.reshape(a, [a.shape[0], -1]) : a);
      case 'add':
        return residualAdd(a, b);
      default: {
        const never: never = l.kind;
        throw new Error(`internal: unknown layer kind ${String(never)}`);
      }
    }
  }
}

/** VGG11 / VGG16 from STCBs: a {@link Network} whose arch must be a VGG. */
export class Vgg extends Network {
  constructor(config: ArchConfig, seed: number) {
    if (config.arch !== 'vgg11' && config.arch !== 'vgg16') throw new ConfigError(`Vgg: arch ${config.arch}`);
    super(config, seed);
  }
}

/** Pre-activation ResNet18 from STCBs: a {@link Network} whose arch must be resnet18. */
export class ResNet18 extends Network {
  constructor(config: ArchConfig, seed: number) {
    if (config.arch !== 'resnet18') throw new ConfigError(`ResNet18: arch ${config.arch}`);
    super(config, seed);
  }
}

/** Builds a network with seeded PyTorch-default initialisation. */
export function buildNetwork(config: ArchConfig, seed = 0): Network {
  checkArchConfig(config);
  return new Network(config, seed);
}
