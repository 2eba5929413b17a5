/**
 * Runs on top of the trainer: repeats, sweeps and resumes. Node-only. The run directories
 * themselves (layout, locks, preparing them, their files) are `src/app/rundir/`.
 */
export {
  applyResume,
  planResume,
  runStatus,
  type ResumeChanges,
  type ResumePlan,
  type RunStatus,
} from './resume.js';
export { runRepeats, type RepeatsResult, type RunRepeatsOptions } from './repeats.js';
export {
  checkGrid,
  defaultSweepDir,
  gridPoints,
  prepareSweepDir,
  runSweep,
  trainSweep,
  type PointInfo,
  type SweepConfig,
  type SweepEvent,
  type SweepOptions,
  type TrainPoint,
  type TrainSweepOptions,
} from './sweep.js';
