/**
 * The analysis API: energy (pure), the energy of a run, layer descriptions, run readers,
 * formatting, figures and reports. Node-only where files are involved; `energy.ts` and
 * `format.ts` are pure. The files of run directories are `src/app/rundir/`; running
 * experiments (repeats, sweeps) is `src/app/runs/`.
 */
export {
  computeEnergy,
  convMacs,
  DEFAULT_ENERGY,
  energyToJson,
  uniformSpikes,
  type EnergyConstants,
  type EnergyJson,
  type EnergyReport,
  type EnergyTotals,
  type LayerEnergy,
} from './energy.js';
export {
  archConfigFor,
  checkpointGeometry,
  layersFor,
  spikesFromStats,
  type NetworkSpec,
} from './network.js';
export { joules, microjoules, pct, readable, si, siCount, times } from './format.js';
export { readRunDir, runSpikeStats, summarizeConfig, type RunDir, type RunSummary } from './rundir.js';
export {
  energyAtFireRate,
  energyOfRun,
  energySummaryOfRun,
  formatEnergySummary,
  networkEnergy,
  specOfConfig,
  specOfRun,
  type RunNetwork,
  type SpikeSource,
  type SummaryConfig,
} from './run-energy.js';
export { renderSvg, svgToPng, writeFigure, type Figure, type WrittenFigure } from './charts.js';
export { writeReport, type ReportOptions, type ReportResult } from './report.js';
