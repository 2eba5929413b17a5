/**
 * The analysis API: energy (pure), layer descriptions, run readers, formatting, figures and
 * reports. Node-only where files are involved; `energy.ts` and `format.ts` are pure. Running
 * experiments (run directories, repeats, sweeps, the energy of a run) is `src/app/run/`.
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
export {
  dirKind,
  readEpochLog,
  readRunDir,
  repeatRunDirs,
  runSpikeStats,
  type DirKind,
  type EpochLog,
  type RunDir,
  type RunResultFile,
  type RunSummary,
} from './rundir.js';
export { renderSvg, svgToPng, writeFigure, type Figure, type WrittenFigure } from './charts.js';
export { writeReport, type ReportOptions, type ReportResult } from './report.js';
