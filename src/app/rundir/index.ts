/**
 * Run directories, below the trainer: their layout, one writer per directory (the lock),
 * creating, preparing and recognising them, the run record (a run's life and state), and the typed reading and writing of every file in
 * them (`config.json`, `log.jsonl`, `result.json`, the checkpoints, `repeats.json`,
 * `sweep.json`/`sweep.csv`). Node-only.
 */
export {
  CHECKPOINT_FILES,
  LOCK_FILE,
  MODEL_FILES,
  pointDir,
  pointId,
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
export {
  clearRunFiles,
  dirKind,
  freshRunDir,
  hasCheckpoint,
  isRunDir,
  latestCheckpoint,
  prepareRunDir,
  removeStaleTemporaries,
  repeatRunDirs,
  resumableRunDir,
  RUNS_ROOT,
  withRunDir,
  type DirKind,
  type InterruptInfo,
  type RunDirKind,
  type RunDirOptions,
} from './dirs.js';
export {
  acquireLock,
  commandLine,
  describeHolder,
  LockError,
  onInterrupt,
  releaseAllLocks,
  type LockHolder,
  type RunLock,
} from './lock.js';
export {
  readConfigJson,
  readRunConfig,
  storedConfigHash,
  withChangesSinceStart,
  writeRunConfig,
} from './config-file.js';
export {
  codeVersionSchema,
  currentMachine,
  currentProvenance,
  dataFingerprintSchema,
  machineSchema,
  provenanceChanges,
  provenanceOf,
  provenanceSchema,
} from './provenance.js';
export type { Machine, Provenance } from './provenance.js';
export {
  epochMetricsSchema,
  readEpochLog,
  readLog,
  stcbBnFiguresSchema,
  stcbFiguresSchema,
  writeLog,
  type EpochLog,
  type EpochMetrics,
} from './log-file.js';
export {
  layerSpikeStatsSchema,
  readResult,
  resultFileSchema,
  STOP_REASONS,
  trainResultSchema,
  writeResult,
  type RunResultFile,
  type StopReason,
  type TrainResult,
} from './result-file.js';
export {
  meanStdBest,
  readRepeats,
  repeatsFileSchema,
  summarizeRepeats,
  writeRepeats,
  type RepeatsFile,
  type RepeatSummary,
} from './repeats-file.js';
export {
  pointEnergySchema,
  readSweep,
  sweepCsv,
  sweepFileSchema,
  sweepGridSchema,
  sweepPointResultSchema,
  sweepPointSchema,
  sweepStatus,
  writeSweep,
  type PointEnergy,
  type SweepFile,
  type SweepGrid,
  type SweepPoint,
  type SweepPointResult,
} from './sweep-file.js';
export {
  loadCheckpoint,
  readCheckpointConfig,
  readRunState,
  runStateSchema,
  saveCheckpoint,
  TRAIN_META,
  type MomentumState,
  type RunState,
} from './checkpoint.js';
export { resolveModelPath } from './model-path.js';
export {
  checkSameRun,
  inspectRun,
  openRun,
  readRunFiles,
  RunRecord,
  runStatus,
  type FinishFields,
  type OpenRunOptions,
  type RecordedModel,
  type RunFiles,
  type RunStanding,
  type RunStart,
  type RunStartPoint,
  type RunStatus,
} from './run-record.js';
