/**
 * The analysis API of run directories: the energy of a run, layer descriptions, run readers,
 * formatting, figures and reports. Node-only where files are involved; `format.ts` is pure. The
 * energy model itself and the monitor's table are the library's (`src/lib/analysis/`); the files
 * of run directories are `src/app/rundir/`; running experiments (repeats, sweeps) is
 * `src/app/runs/`.
 */
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
