/**
 * From names to layer descriptions: the architecture of a data set + arch + width (its plan,
 * `nn/plan.ts`), the input geometry of a run's checkpoint, and zeta per layer from spike
 * statistics (the energy of a run is `run-energy.ts`). Nothing here builds a network or
 * needs a TensorFlow.js backend.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_STC } from '../../lib/core/config.js';
import { datasetInfo, sampleShape } from '../../lib/data/registry.js';
import { ARCH_DEFAULTS, parseArchConfig, type ArchConfig } from '../../lib/nn/arch-config.js';
import { planNetwork, type LayerInfo } from '../../lib/nn/plan.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import { readModelInfo } from '../../lib/interop/model-file.js';
import { CHECKPOINT_FILES } from '../rundir/layout.js';

/** What the energy of a network depends on. */
export interface NetworkSpec {
  readonly arch: string;
  readonly dataset: string;
  readonly width: number;
  readonly T: number;
  /** Overrides the data set's sample shape `[H, W, C]`. */
  readonly inputShape?: readonly [number, number, number];
  /** Overrides the data set's class count. */
  readonly classes?: number;
  /** Data-set options of the run (`frames` of CIFAR10-DVS stack 2 channels per frame). */
  readonly datasetOptions?: Readonly<Record<string, unknown>>;
}

/**
 * The architecture configuration of a spec (the STC parameters do not change the layers): the
 * input shape is the data set's under the run's options (`sampleShape`) unless the spec gives one.
 * @throws ConfigError for a bad arch, width, shape or class count; DataError for an unknown data set
 */
export function archConfigFor(spec: NetworkSpec): ArchConfig {
  const info = datasetInfo(spec.dataset);
  const classes = spec.classes ?? info.classes;
  if (!(Number.isInteger(classes) && classes >= 2)) {
    throw new ConfigError(`data set ${spec.dataset} has no fixed class count; pass --classes N`);
  }
  return parseArchConfig({
    arch: spec.arch,
    mode: 'stc',
    width: spec.width,
    inputShape: spec.inputShape ?? sampleShape(spec.dataset, spec.datasetOptions),
    classes,
    stc: { ...DEFAULT_STC, T: spec.T },
    path: ARCH_DEFAULTS.path,
  });
}

/** Every layer of the network of `spec`, in forward order (its plan's layers; no backend). */
export function layersFor(spec: NetworkSpec): LayerInfo[] {
  return [...planNetwork(archConfigFor(spec)).layers];
}

/**
 * The input shape and classes recorded in a run's checkpoint (`last.safetensors`, else
 * `best.safetensors`), read from its header alone (`readModelInfo`); null when there is no
 * readable checkpoint.
 */
export function checkpointGeometry(
  runDir: string,
): { inputShape: [number, number, number]; classes: number } | null {
  for (const name of CHECKPOINT_FILES) {
    const file = join(runDir, name);
    if (!existsSync(file)) continue;
    try {
      const { config } = readModelInfo(file);
      return { inputShape: [...config.inputShape], classes: config.classes };
    } catch {
      continue; // a damaged checkpoint: fall back to the data set's geometry
    }
  }
  return null;
}

/**
 * `zeta` per STCB layer from recorded statistics, checked against the architecture: every STCB
 * layer must have statistics whose neuron count is its input size.
 * @throws ConfigError naming the first layer that does not match
 */
export function spikesFromStats(
  layers: readonly LayerInfo[],
  stats: readonly LayerSpikeStats[],
  source: string,
): Map<string, number> {
  const byName = new Map(stats.map((s) => [s.layer, s]));
  const out = new Map<string, number>();
  for (const l of layers) {
    if (l.kind !== 'stcb-conv') continue;
    const s = byName.get(l.name);
    if (!s) throw new ConfigError(`${source}: no spike statistics for layer ${l.name}`);
    const n = l.inShape.reduce((a, b) => a * b, 1);
    if (s.neurons !== n) {
      throw new ConfigError(
        `${source}: layer ${l.name} has ${s.neurons} neurons in the statistics but ${n} in the architecture`,
      );
    }
    out.set(l.name, s.spikesPerNeuron);
  }
  return out;
}
