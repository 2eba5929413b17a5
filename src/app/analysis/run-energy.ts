/**
 * The energy of a run (paper §4.5; `src/app/analysis/README.md` has the conventions): one function,
 * {@link networkEnergy}, from a network spec and its spike counts (recorded statistics, or an
 * assumed fire rate) to the per-layer and total MACs, ACs and energy of the STCSNN and its ANN
 * twin. `stcsnn train` (its closing summary), `stcsnn energy`, `stcsnn sweep` and the reports
 * all go through it. Building the layer description needs an initialised TensorFlow.js backend;
 * the arithmetic itself (`src/lib/analysis/energy.ts`) needs none.
 */
import { checkpointGeometry, layersFor, spikesFromStats, type NetworkSpec } from './network.js';
import { runSpikeStats, type RunDir } from './rundir.js';
import {
  computeEnergy,
  uniformSpikes,
  type EnergyConstants,
  type EnergyReport,
} from '../../lib/analysis/energy.js';
import { microjoules, si, times } from './format.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';

/**
 * Where the spike counts come from: a run's recorded statistics (`source` names them in
 * errors), or an assumed fire rate `r` of every STCB layer (zeta = r * T).
 */
export type SpikeSource =
  { readonly stats: readonly LayerSpikeStats[]; readonly source: string } | { readonly fireRate: number };

/** What identifies a run's network (the trainer's `TrainConfig` and the reader's `RunSummary` have it). */
export interface RunNetwork {
  readonly arch: string;
  readonly dataset: string;
  readonly width: number;
  readonly T: number;
  readonly datasetOptions?: Readonly<Record<string, unknown>>;
}

/** What the energy needs of a run configuration (the trainer's `TrainConfig` has it). */
export interface SummaryConfig {
  readonly arch: string;
  readonly dataset: string;
  readonly width: number;
  readonly stc: { readonly T: number };
  readonly datasetOptions?: Readonly<Record<string, unknown>>;
}

/**
 * The network spec of a run; with `runDir`, the input shape and classes come from its
 * checkpoint where one is readable (data-set options such as resizing change them).
 */
export function specOfRun(s: RunNetwork, runDir?: string): NetworkSpec {
  const g = runDir ? checkpointGeometry(runDir) : null;
  return {
    arch: s.arch,
    dataset: s.dataset,
    width: s.width,
    T: s.T,
    datasetOptions: s.datasetOptions,
    ...(g ? { inputShape: g.inputShape, classes: g.classes } : {}),
  };
}

/** The network spec of a run configuration (`stc.T`), geometry from `runDir`'s checkpoint if given. */
export function specOfConfig(config: SummaryConfig, runDir?: string): NetworkSpec {
  return specOfRun({ ...config, T: config.stc.T }, runDir);
}

/**
 * THE energy of a network: its layers (from `spec`), zeta per STCB layer (from `spikes`), then
 * `computeEnergy` (needs a backend, to describe the layers).
 * @throws ConfigError when recorded statistics do not match the architecture
 */
export function networkEnergy(
  spec: NetworkSpec,
  spikes: SpikeSource,
  constants: Partial<EnergyConstants> = {},
): EnergyReport {
  const layers = layersFor(spec);
  const zeta =
    'fireRate' in spikes
      ? uniformSpikes(layers, spikes.fireRate, spec.T)
      : spikesFromStats(layers, spikes.stats, spikes.source);
  return computeEnergy(layers, zeta, spec.T, constants);
}

/** The energy of a finished run from its recorded spike statistics (needs a backend). */
export function energyOfRun(run: RunDir, constants: Partial<EnergyConstants> = {}): EnergyReport {
  const stats = runSpikeStats(run);
  return networkEnergy(specOfRun(run.summary, run.dir), { stats, source: run.dir }, constants);
}

/** The energy of a network with every STCB layer firing at `fireRate` (needs a backend). */
export function energyAtFireRate(
  spec: NetworkSpec,
  fireRate: number,
  constants: Partial<EnergyConstants> = {},
): EnergyReport {
  return networkEnergy(spec, { fireRate }, constants);
}

/** Two lines: ANN twin vs STCSNN energy per image and the ratio. */
export function formatEnergySummary(e: EnergyReport): string {
  const t = e.total;
  const c = e.constants;
  return [
    `energy per image (E_MAC ${c.eMac} pJ, E_AC ${c.eAc} pJ): ANN twin ${microjoules(t.annEnergyPj, 3)} (${si(t.annMacs)} MACs), STCSNN T=${e.T} ${microjoules(t.snnEnergyPj, 3)} (${si(t.snnAcs)} ACs + ${si(t.snnMacs)} MACs)`,
    `energy ratio ANN/STCSNN: ${times(t.ratio)} (per layer: stcsnn energy --checkpoint RUN_DIR)`,
  ].join('\n');
}

/**
 * The closing energy summary of a finished run, or null when it recorded no spike statistics
 * (an ANN run). `runDir` (optional) supplies the input geometry from its checkpoint. Never
 * throws: a failure becomes a one-line note, since the run itself succeeded.
 */
export function energySummaryOfRun(
  config: SummaryConfig,
  stats: readonly LayerSpikeStats[] | undefined,
  runDir?: string,
): string | null {
  if (!stats || stats.length === 0) return null;
  try {
    return formatEnergySummary(networkEnergy(specOfConfig(config, runDir), { stats, source: 'run' }));
  } catch (e) {
    return `energy: not computed (${(e as Error).message.split('\n')[0]})`;
  }
}
