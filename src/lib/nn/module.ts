/**
 * A small typed module system: parameters are TensorFlow.js variables, modules nest, names
 * follow PyTorch's `state_dict` (`layer1.0.conv1.weight`), and `forward(x, {training})`
 * switches batch norm between batch and running statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SpikeStatsSink } from './stats.js';
import type { BatchNormSync } from './sync-bn.js';

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Training mode: batch statistics in batch norm (and running statistics updated). */
  readonly training: boolean;
  /** When given, spiking layers record spike statistics into it (slower; analysis only). */
  readonly stats?: SpikeStatsSink;
  /**
   * Data-parallel training with synchronised batch norm: batch norm normalises with the
   * statistics of the global batch over all ranks (see `sync-bn.ts`). Training mode only.
   */
  readonly syncBn?: BatchNormSync;
}

/** A named tensor of a module: a trainable parameter or a buffer (running statistics). */
export interface NamedVariable {
  readonly name: string;
  readonly variable: tf.Variable;
  readonly trainable: boolean;
  /**
   * Whether the optimiser's weight decay applies (true for weights, batch norm and biases, as
   * `torch.optim.SGD(model.parameters())`; false for learned thresholds' `log_theta`, which
   * decay would pull towards `theta0 = 1`). Always false for buffers.
   */
  readonly decay: boolean;
}

/** Options of a parameter. */
export interface ParamOptions {
  /** Whether weight decay applies (default true); see {@link NamedVariable.decay}. */
  readonly decay?: boolean;
}

/** Base class of layers and models. */
export abstract class Module {
  private readonly entries: NamedVariable[] = [];
  private readonly children: { name: string; module: Module }[] = [];

  /** Registers a trainable parameter initialised with `init` (which the module takes over). */
  protected param(name: string, init: tf.Tensor, opts: ParamOptions = {}): tf.Variable {
    const v = tf.variable(init, true);
    init.dispose();
    this.entries.push({ name, variable: v, trainable: true, decay: opts.decay ?? true });
    return v;
  }

  /** Registers a non-trainable buffer (e.g. `running_mean`). */
  protected buffer(name: string, init: tf.Tensor): tf.Variable {
    const v = tf.variable(init, false);
    init.dispose();
    this.entries.push({ name, variable: v, trainable: false, decay: false });
    return v;
  }

  /** Registers a child module under `name` and returns it. */
  protected child<M extends Module>(name: string, m: M): M {
    this.children.push({ name, module: m });
    return m;
  }

  /** All parameters and buffers, depth first, with dotted names (PyTorch `state_dict` order). */
  namedVariables(prefix = ''): NamedVariable[] {
    const out: NamedVariable[] = this.entries.map((e) => ({ ...e, name: prefix + e.name }));
    for (const c of this.children) out.push(...c.module.namedVariables(`${prefix}${c.name}.`));
    return out;
  }

  /** Trainable parameters only. */
  trainableVariables(): tf.Variable[] {
    return this.namedVariables()
      .filter((e) => e.trainable)
      .map((e) => e.variable);
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    return this.trainableVariables().reduce((n, v) => n + v.size, 0);
  }

  /** Frees every variable. */
  dispose(): void {
    for (const e of this.namedVariables()) e.variable.dispose();
  }
}
