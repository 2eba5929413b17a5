/**
 * Operation counts and computation energy of an STCSNN against its ANN twin (docs/semantics.md §3,
 * paper §4.5.2, after Kundu et al. 2021 and Horowitz 2014).
 *
 * A pure function of the architecture description ({@link LayerInfo}[]: the layers of the
 * network's plan, `planNetwork(config).layers` in `nn/plan.ts`, which are also
 * `Network.layers`), the average spike count per input neuron of every STCB layer, the
 * spike-train length T and the energy constants: no backend, no tensors. The weight MACs
 * (`F` below) are the plan's `weightMacs`.
 *
 * Counting conventions, per sample (one image), all shapes NHWC `[H, W, C]`:
 *
 * | layer kind  | ANN twin (MACs)                     | STCSNN                                          |
 * |-------------|-------------------------------------|-------------------------------------------------|
 * | `conv`      | `F = k*k*Cin*Cout*Ho*Wo`            | `F` MACs (first layer, real-valued input)       |
 * | `stcb-conv` | `F`                                 | `F * zeta` ACs + CAB `T*Ho*Wo*Cout` MACs        |
 * | `bn`        | `b * H*W*C` (b = 2 by default)      | same MACs                                       |
 * | `linear`    | `in * out`                          | same MACs (the head is not spiking)             |
 * | `avgpool`   | `H*W*C` (one accumulate per input)  | same MACs                                       |
 * | `maxpool`   | 0 (comparisons, not counted)        | 0                                               |
 * | `add`       | 0 (the residual sum, not counted)   | 0                                               |
 * | `relu`      | 0                                   | 0 (STEB's compare/subtract is not counted)      |
 *
 * where `zeta` is the layer's average spike count per input neuron over the whole train
 * (`LayerSpikeStats.spikesPerNeuron`, in `0..T`; `zeta = T * fireRate`).
 *
 * Batch norm at inference is `gamma * (x - mu) / sigma + beta`: by default 2 MACs per
 * element (normalise: one multiply-add, affine: one multiply-add); folding it into one
 * multiply-add per element is `bnMacsPerElement: 1`. The paper counts BN but gives no number.
 * Linear biases and the convolutions' padding are ignored (`F` counts every output position
 * as a full `k*k*Cin` window, as the paper's Table 3 does).
 *
 * Energy: `E_ANN = annMacs * E_MAC`;
 * `E_SNN = snnMacs * E_MAC + snnAcs * E_AC`, where `snnMacs` are the first layer, CAB, BN,
 * average pooling and the linear head; `ratio = E_ANN / E_SNN` (the energy reduction factor).
 * FLOPs (paper Fig. 8): ANN `annMacs`; SNN `snnAcs + snnMacs`.
 */
import { ConfigError } from '../core/config.js';
import { weightMacs, type LayerInfo } from '../nn/plan.js';

/** Energy per operation, in picojoules. */
export interface EnergyConstants {
  /** Energy of one multiply-accumulate (default 3.2 pJ: 45 nm, 32-bit integer). */
  readonly eMac: number;
  /** Energy of one accumulate (default 0.1 pJ). */
  readonly eAc: number;
  /** MACs per batch-norm element (default 2; see the module comment). */
  readonly bnMacsPerElement: number;
}

/** Horowitz 2014, 45 nm at 0.9 V, 32-bit integer: E_MAC = 3.2 pJ, E_AC = 0.1 pJ; BN as 2 MACs. */
export const DEFAULT_ENERGY: EnergyConstants = Object.freeze({ eMac: 3.2, eAc: 0.1, bnMacsPerElement: 2 });

/** Operation counts and energy of one layer, per sample. */
export interface LayerEnergy {
  readonly name: string;
  readonly kind: LayerInfo['kind'];
  /** MACs of the ANN twin in this layer. */
  readonly annMacs: number;
  /** Accumulates of the STCSNN in this layer (spiking convolutions only). */
  readonly snnAcs: number;
  /** Multiply-accumulates of the STCSNN in this layer (first layer, CAB, BN, pooling, head). */
  readonly snnMacs: number;
  /** Of `snnMacs`, the CAB's `T*Ho*Wo*Cout` (STCB layers only). */
  readonly cabMacs: number;
  /** Average spike count per input neuron `zeta` (STCB layers only, else `null`). */
  readonly spikesPerNeuron: number | null;
  /** Firing rate `zeta / T` (STCB layers only, else `null`). */
  readonly fireRate: number | null;
  /** ANN twin energy of this layer, `annMacs * E_MAC`, pJ. */
  readonly annEnergyPj: number;
  /** STCSNN energy of this layer, `snnMacs * E_MAC + snnAcs * E_AC`, pJ. */
  readonly snnEnergyPj: number;
}

/** Totals over the network, per sample. */
export interface EnergyTotals {
  readonly annMacs: number;
  readonly snnAcs: number;
  readonly snnMacs: number;
  /** ANN FLOPs (= `annMacs`). */
  readonly annFlops: number;
  /** STCSNN FLOPs, `snnAcs + snnMacs`. */
  readonly snnFlops: number;
  readonly annEnergyPj: number;
  readonly snnEnergyPj: number;
  /** `annEnergyPj / snnEnergyPj` (how many times less energy the STCSNN needs). */
  readonly ratio: number;
}

/** The energy report of a network. */
export interface EnergyReport {
  readonly T: number;
  readonly constants: EnergyConstants;
  readonly layers: LayerEnergy[];
  readonly total: EnergyTotals;
}

function prod(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `F = k*k*Cin*Cout*Ho*Wo` of a convolution layer (per sample). */
export function convMacs(layer: LayerInfo): number {
  if (!layer.conv) throw new ConfigError(`layer ${layer.name} (${layer.kind}) has no convolution geometry`);
  return weightMacs(layer);
}

/**
 * Counts operations and energy per layer.
 *
 * @param layers every layer in forward order (a plan's layers, `Network.layers`).
 * @param spikesPerNeuron `zeta` per STCB layer name (`LayerSpikeStats.spikesPerNeuron`), each
 *   in `0..T`; every `stcb-conv` layer must have one.
 * @param T spike-train length (the CAB's multiply-adds per output).
 * @throws ConfigError for a missing or out-of-range `zeta`, a bad T
 *   or bad constants.
 */
export function computeEnergy(
  layers: readonly LayerInfo[],
  spikesPerNeuron: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  T: number,
  constants: Partial<EnergyConstants> = {},
): EnergyReport {
  const c: EnergyConstants = { ...DEFAULT_ENERGY, ...constants };
  if (!Number.isInteger(T) || T < 1) throw new ConfigError(`T must be an integer >= 1, got ${T}`);
  for (const [k, v] of Object.entries(c)) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      throw new ConfigError(`${k} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  const zetaOf = (name: string): number | undefined =>
    spikesPerNeuron instanceof Map
      ? spikesPerNeuron.get(name)
      : (spikesPerNeuron as Readonly<Record<string, number>>)[name];

  const out: LayerEnergy[] = layers.map((l) => {
    let annMacs = 0;
    let snnAcs = 0;
    let snnMacs = 0;
    let cabMacs = 0;
    let zeta: number | null = null;
    switch (l.kind) {
      case 'conv':
        annMacs = convMacs(l);
        snnMacs = annMacs;
        break;
      case 'stcb-conv': {
        const z = zetaOf(l.name);
        if (z === undefined) throw new ConfigError(`no spike count for STCB layer ${l.name}`);
        if (!(Number.isFinite(z) && z >= 0 && z <= T)) {
          throw new ConfigError(`spike count per neuron of ${l.name} must be in 0..${T}, got ${z}`);
        }
        zeta = z;
        annMacs = convMacs(l);
        snnAcs = annMacs * z;
        cabMacs = T * prod(l.outShape);
        snnMacs = cabMacs;
        break;
      }
      case 'bn':
        annMacs = c.bnMacsPerElement * prod(l.outShape);
        snnMacs = annMacs;
        break;
      case 'linear':
        annMacs = weightMacs(l);
        snnMacs = annMacs;
        break;
      case 'avgpool':
        annMacs = prod(l.inShape);
        snnMacs = annMacs;
        break;
      case 'maxpool':
      case 'add':
      case 'relu':
        break;
      default: {
        const never: never = l.kind;
        throw new ConfigError(`unknown layer kind ${String(never)}`);
      }
    }
    return {
      name: l.name,
      kind: l.kind,
      annMacs,
      snnAcs,
      snnMacs,
      cabMacs,
      spikesPerNeuron: zeta,
      fireRate: zeta === null ? null : zeta / T,
      annEnergyPj: annMacs * c.eMac,
      snnEnergyPj: snnMacs * c.eMac + snnAcs * c.eAc,
    };
  });
  const sum = (f: (l: LayerEnergy) => number) => out.reduce((a, l) => a + f(l), 0);
  const annMacs = sum((l) => l.annMacs);
  const snnAcs = sum((l) => l.snnAcs);
  const snnMacs = sum((l) => l.snnMacs);
  const annEnergyPj = annMacs * c.eMac;
  const snnEnergyPj = snnMacs * c.eMac + snnAcs * c.eAc;
  return {
    T,
    constants: c,
    layers: out,
    total: {
      annMacs,
      snnAcs,
      snnMacs,
      annFlops: annMacs,
      snnFlops: snnAcs + snnMacs,
      annEnergyPj,
      snnEnergyPj,
      ratio: snnEnergyPj > 0 ? annEnergyPj / snnEnergyPj : Infinity,
    },
  };
}

/** `zeta = rate * T` for every STCB layer: the `--fire-rate` assumption. */
export function uniformSpikes(
  layers: readonly LayerInfo[],
  fireRate: number,
  T: number,
): Map<string, number> {
  if (!(Number.isFinite(fireRate) && fireRate >= 0 && fireRate <= 1)) {
    throw new ConfigError(`fire rate must be in [0, 1], got ${fireRate}`);
  }
  return new Map(layers.filter((l) => l.kind === 'stcb-conv').map((l) => [l.name, fireRate * T]));
}

/** The JSON shape of `stcsnn energy --json` (snake_case). */
export interface EnergyJson {
  layers: {
    name: string;
    kind: string;
    macs: number;
    acs: number;
    snn_macs: number;
    cab_macs: number;
    spikes_per_neuron: number | null;
    fire_rate: number | null;
    ann_energy_pj: number;
    energy_pj: number;
  }[];
  total: {
    ann_macs: number;
    snn_acs: number;
    snn_macs: number;
    ann_flops: number;
    snn_flops: number;
    ann_energy_pj: number;
    snn_energy_pj: number;
    ratio: number;
  };
}

/**
 * The report as snake_case JSON: per layer `macs` (the ANN twin's MACs), `acs` (the STCSNN's
 * ACs), `snn_macs`, `energy_pj` (the STCSNN's energy of the layer).
 */
export function energyToJson(r: EnergyReport): EnergyJson {
  return {
    layers: r.layers.map((l) => ({
      name: l.name,
      kind: l.kind,
      macs: l.annMacs,
      acs: l.snnAcs,
      snn_macs: l.snnMacs,
      cab_macs: l.cabMacs,
      spikes_per_neuron: l.spikesPerNeuron,
      fire_rate: l.fireRate,
      ann_energy_pj: l.annEnergyPj,
      energy_pj: l.snnEnergyPj,
    })),
    total: {
      ann_macs: r.total.annMacs,
      snn_acs: r.total.snnAcs,
      snn_macs: r.total.snnMacs,
      ann_flops: r.total.annFlops,
      snn_flops: r.total.snnFlops,
      ann_energy_pj: r.total.annEnergyPj,
      snn_energy_pj: r.total.snnEnergyPj,
      ratio: r.total.ratio,
    },
  };
}
