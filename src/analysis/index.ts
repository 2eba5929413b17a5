/**
 * The analysis API: energy (pure), layer descriptions, run/sweep readers, the sweep driver,
 * figures and reports. Node-only where files are involved; `energy.ts` is pure.
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
  energyAtFireRate,
  energyOfRun,
  layersFor,
  spikesFromStats,
  specOfRun,
  type NetworkSpec,
} from './network.js';
export {
  dirKind,
  meanStdBest,
  readEpochLog,
  readRunDir,
  repeatRunDirs,
  runSpikeStats,
  type DirKind,
  type EpochLog,
  type RunDir,
  type RunSummary,
} from './rundir.js';
export {
  checkGrid,
  gridPoints,
  lockSweep,
  pointId,
  readSweep,
  runSweep,
  sweepCsv,
  sweepStatus,
  type SweepFile,
  type SweepGrid,
  type SweepOptions,
  type SweepPoint,
  type SweepPointResult,
  type TrainPoint,
} from './sweep.js';
export { renderSvg, svgToPng, writeFigure, type Figure, type WrittenFigure } from './charts.js';
export { writeReport, type ReportOptions, type ReportResult } from './report.js';
export { energySummaryOfRun, formatEnergySummary } from './summary.js';
