/**
 * Running experiments: the run-directory layout, creating and clearing run directories,
 * repeats, sweeps and the energy of a run. Node-only.
 */
export {
  CHECKPOINT_FILES,
  MODEL_FILES,
  pointDir,
  RUN_FILE_NAMES,
  RUN_FILES,
  runFile,
  seedDirName,
  seedOfDirName,
  SWEEP_FILES,
  SWEEP_POINTS,
  sweepFile,
  type RunFile,
} from './layout.js';
export { clearRunFiles, freshRunDir, prepareRunDir, resumableRunDir, RUNS_ROOT } from './rundir.js';
export {
  meanStdBest,
  runRepeats,
  summarizeRepeats,
  type RepeatsResult,
  type RepeatSummary,
  type RunRepeatsOptions,
} from './repeats.js';
export {
  checkGrid,
  defaultSweepDir,
  gridPoints,
  lockSweep,
  pointId,
  prepareSweepDir,
  readSweep,
  runSweep,
  sweepCsv,
  sweepStatus,
  trainSweep,
  type PointInfo,
  type SweepConfig,
  type SweepEvent,
  type SweepFile,
  type SweepGrid,
  type SweepOptions,
  type SweepPoint,
  type SweepPointResult,
  type TrainPoint,
  type TrainSweepOptions,
} from './sweep.js';
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
} from './energy.js';
