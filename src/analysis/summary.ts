/**
 * A short energy summary of a finished training run, for the end of `stcsnn train` (and so of
 * `npm start`): ANN twin vs STCSNN energy per image and their ratio (DESIGN.md §3).
 */
import type { LayerSpikeStats } from '../nn/stats.js';
import { computeEnergy, type EnergyConstants, type EnergyReport } from './energy.js';
import { checkpointGeometry, layersFor, spikesFromStats } from './network.js';

/** What the summary needs of a run configuration (the trainer's `TrainConfig` has it). */
export interface SummaryConfig {
  readonly arch: string;
  readonly dataset: string;
  readonly width: number;
  readonly stc: { readonly T: number };
  readonly datasetOptions?: Readonly<Record<string, unknown>>;
}

function uj(pj: number): string {
  return `${(pj / 1e6).toPrecision(3)} µJ`;
}

function count(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (v >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  return String(Math.round(v));
}

/** The energy report of a run from its configuration and recorded statistics (needs a backend). */
export function energyOfStats(
  config: SummaryConfig,
  stats: readonly LayerSpikeStats[],
  constants: Partial<EnergyConstants> = {},
  runDir?: string,
): EnergyReport {
  const layers = layersFor({
    arch: config.arch,
    dataset: config.dataset,
    width: config.width,
    T: config.stc.T,
    datasetOptions: config.datasetOptions,
    ...(runDir ? checkpointGeometry(runDir) : null),
  });
  return computeEnergy(layers, spikesFromStats(layers, stats, 'run'), config.stc.T, constants);
}

/** Two lines: ANN twin vs STCSNN energy per image and the ratio. */
export function formatEnergySummary(e: EnergyReport): string {
  const t = e.total;
  const c = e.constants;
  return [
    `energy per image (E_MAC ${c.eMac} pJ, E_AC ${c.eAc} pJ): ANN twin ${uj(t.annEnergyPj)} (${count(t.annMacs)} MACs), STCSNN T=${e.T} ${uj(t.snnEnergyPj)} (${count(t.snnAcs)} ACs + ${count(t.snnMacs)} MACs)`,
    `energy ratio ANN/STCSNN: ${t.ratio.toFixed(2)}x (per layer: stcsnn energy --checkpoint RUN_DIR)`,
  ].join('\n');
}

/**
 * The summary of a finished run, or null when it recorded no spike statistics (an ANN run).
 * `runDir` (optional) supplies the input geometry from its checkpoint. Never throws: a failure
 * becomes a one-line note, since the run itself succeeded.
 */
export function energySummaryOfRun(
  config: SummaryConfig,
  stats: readonly LayerSpikeStats[] | undefined,
  runDir?: string,
): string | null {
  if (!stats || stats.length === 0) return null;
  try {
    return formatEnergySummary(energyOfStats(config, stats, {}, runDir));
  } catch (e) {
    return `energy: not computed (${(e as Error).message.split('\n')[0]})`;
  }
}
