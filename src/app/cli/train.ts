/** `stcsnn train`: train an STCSNN (or its ANN twin), with repeats, presets and resume. */
import { backendLabel } from '../../lib/engine/backend.js';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { thresholdScaleWarning } from '../../lib/core/config.js';
import type { TrainConfig } from '../config/config.js';
import { resumedConfig } from '../config/resolve.js';
import { agreeOnConfig, type TrainHooks } from '../train/train.js';
import { readRunConfig } from '../rundir/config-file.js';
import { applyResume, planResume, type ResumeChanges } from '../runs/resume.js';
import {
  DEFAULT_TIMEOUT_MS,
  joinProcessGroup,
  type ProcessGroup,
} from '../../lib/distributed/process-group.js';
import type { ParallelMode } from '../../lib/distributed/runs.js';
import { pct } from '../analysis/format.js';
import { energySummaryOfRun } from '../analysis/run-energy.js';
import { runRepeats, type RepeatsResult } from '../runs/repeats.js';
import { RUN_FILES } from '../rundir/layout.js';
import { readLog } from '../rundir/log-file.js';
import type { TrainResult } from '../rundir/result-file.js';
import { freshRunDir, resumableRunDir, withRunDir, type InterruptInfo } from '../rundir/dirs.js';
import { backendFor, threadsFor, withCommon, type CommonFlags } from './common.js';
import { printConfig } from './config-print.js';
import { KilledError, UsageError } from './errors.js';
import {
  deferredSignal,
  deferSignalsToWriter,
  processGroupOptions,
  withDistFlags,
  type DistFlags,
} from './launch.js';
import {
  addConfigOptions,
  configFromFlags,
  givenValues,
  presetOption,
  RESUME_REFUSED,
  type FlagValues,
} from './flags.js';
import { makeProgress, notice, printJson, table } from './output.js';

interface TrainFlags extends CommonFlags, FlagValues, DistFlags {
  parallel?: string;
  preset?: string;
  printConfig?: boolean;
  out?: string;
  resume?: string;
  force?: boolean;
}

export { configFromFlags } from './flags.js';

export function trainCommand(): Command {
  const cmd = new Command('train').description(
    'train an STCSNN (or its ANN twin) and evaluate it every epoch; without flags: VGG11 (width 0.25) on the embedded Fashion-MNIST subset',
  );
  addConfigOptions(cmd)
    .addOption(presetOption())
    .option(
      '--print-config',
      'print the resolved configuration, each value with its source (default, dataset, preset, flag, resumed run), and exit',
    )
    .option('--out <dir>', 'run directory (default: a fresh name under runs/)')
    .option('--resume <dir>', 'continue the run in DIR from its last checkpoint with its saved configuration')
    .option(
      '--force',
      "allow --out to name a non-empty directory (an earlier run's files there are removed first)",
    );
  withCommon(cmd);
  withDistFlags(cmd).option(
    '--parallel <how>',
    'with --world-size > 1: data (one run, data-parallel over the ranks; the default for one run) or runs (the --repeats seeds shared out over the ranks, one run per rank at a time; the default with --repeats > 1)',
  );
  cmd.action((flags: TrainFlags, command: Command) => trainAction(flags, command));
  return cmd;
}

/** What `stcsnn train` trains: a new run (or repeat group), or the run `--resume` continues. */
interface TrainJob {
  config: TrainConfig;
  readonly repeats: number;
  readonly runDir: string;
  readonly resume: boolean;
  /** A resume's changes to resumable fields (`--epochs`, `--time-budget`, `--data-dir`). */
  readonly changes: ResumeChanges;
  /** A resume's `--lr` for the epochs it trains. */
  readonly lrOverride?: number;
}

/**
 * The job the flags ask for; null when `--print-config` printed it instead.
 * @throws UsageError when `--resume` is given a flag it does not take
 */
function jobOf(flags: TrainFlags, command: Command): TrainJob | null {
  if (flags.resume === undefined) {
    const resolved = configFromFlags(flags);
    const scale = thresholdScaleWarning(resolved.config.stc);
    if (scale) notice(`warning: ${scale}`);
    if (flags.printConfig) {
      printConfig(resolved, flags.json === true);
      return null;
    }
    const { config, repeats } = resolved;
    const runDir = flags.out ? resolve(flags.out) : freshRunDir(config);
    return { config, repeats, runDir, resume: false, changes: {} };
  }
  const given = RESUME_REFUSED.filter((k) => command.getOptionValueSource(k) === 'cli');
  if (given.length)
    throw new UsageError(
      `--resume reuses the saved configuration; drop ${given.map((k) => command.options.find((o) => o.attributeName() === k)?.long ?? k).join(', ')}`,
    );
  const runDir = resumableRunDir(flags.resume);
  const config = readRunConfig(runDir);
  // the fields a resume may change (RESUME_MAY_CHANGE): --epochs, --time-budget, --data-dir;
  // and override for the epochs it trains (RESUME_OVERRIDES): --lr
  const { lr, ...resumable } = givenValues(flags, config.dataset);
  const changes = resumable as ResumeChanges;
  if (flags.printConfig) {
    printConfig(resumedConfig({ ...config, ...changes }), flags.json === true, runDir);
    return null;
  }
  return { config, repeats: 1, runDir, resume: true, changes, lrOverride: lr };
}

/** `stcsnn train`'s action: the job, its run directory (rank 0's), the group, training and the report. */
async function trainAction(flags: TrainFlags, command: Command): Promise<void> {
  const dist = flags.printConfig ? undefined : processGroupOptions(flags);
  if (flags.printConfig && flags.force)
    throw new UsageError('--print-config neither trains nor writes anything; drop --force');
  // the shared flags are checked before anything else, --print-config included
  if (flags.threads !== undefined) threadsFor(flags.threads, () => {});
  const job = jobOf(flags, command);
  if (!job) return;
  const parallel =
    dist || flags.parallel !== undefined ? parallelMode(flags.parallel, job.repeats) : undefined;
  // Rank 0 alone owns (locks, prepares, writes) the run directory (data-parallel: the other
  // ranks only train; runs over ranks: each rank locks and writes the seed directories it trains).
  const writer = (dist?.rank ?? 0) === 0;
  const run = async (): Promise<void> => {
    const beforeWrite = job.resume ? planJobResume(job, writer, flags.json === true) : undefined;
    const info = await backendFor(flags);
    // Data-parallel: join the group and agree on the configuration before anything is written.
    const pg = dist
      ? await joinProcessGroup(dist, info.name, (g) => agreeOnConfig(g, job.config))
      : undefined;
    // Ctrl-C: rank 0 saves first, then this rank ends (until now a signal ends it at once)
    if (!writer && parallel === 'data') deferSignalsToWriter();
    try {
      const ranks =
        pg && parallel === 'runs'
          ? { group: pg, timeoutMs: dist?.timeoutMs ?? DEFAULT_TIMEOUT_MS }
          : undefined;
      const where = {
        info,
        pg: ranks ? undefined : pg,
        ranks,
        beforeWrite: writer ? beforeWrite : undefined,
      };
      await trainAndReport(flags, job, where);
    } finally {
      pg?.destroy();
    }
  };
  if (!writer) {
    try {
      return await run();
    } catch (e) {
      const signal = deferredSignal();
      if (signal) throw new KilledError(`interrupted by ${signal}`, signal, true);
      throw e;
    }
  }
  const onInterrupt = (i: InterruptInfo) => stderrLine(interruptLine(i, dist?.worldSize));
  const kind = job.resume ? 'resume' : 'new';
  await withRunDir(job.runDir, { kind, force: flags.force === true, onNotice: notice, onInterrupt }, run);
}

/** A line on stderr. */
function stderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Plans the resume of `job` (holding the run directory's lock; its configuration becomes the
 * plan's) and returns what applies it once the trainer has checked everything (data,
 * checkpoint, `log.jsonl`): a refused resume changes no file of the run.
 */
function planJobResume(job: TrainJob, writer: boolean, json: boolean): () => void {
  const plan = planResume(job.runDir, job.changes);
  job.config = plan.config;
  if (job.lrOverride !== undefined && writer)
    notice(
      `--lr ${job.lrOverride} overrides the run's lr ${plan.config.lr} for the epochs this resume trains (recorded as lr_override in ${RUN_FILES.log}; the run's configuration keeps ${plan.config.lr})`,
    );
  return () => {
    applyResume(plan);
    if (json) return;
    if (plan.status === 'finished')
      stderrLine(
        `stcsnn train: extending the finished run from ${plan.doneEpochs} to ${plan.config.epochs} epochs`,
      );
    else if (plan.status === 'stopped')
      stderrLine(
        `stcsnn train: continuing the run stopped${plan.stoppedBy === 'time-budget' ? ' by --time-budget' : ''} after epoch ${plan.doneEpochs} of ${plan.config.epochs}`,
      );
  };
}

/** Where a job trains: the backend, the group (data-parallel) or the ranks (runs over ranks). */
interface TrainWhere {
  readonly info: Awaited<ReturnType<typeof backendFor>>;
  /** Data-parallel training: this process's group. */
  readonly pg?: ProcessGroup;
  /** Runs over ranks: the group the seeds are shared out over. */
  readonly ranks?: { group: ProcessGroup; timeoutMs: number };
  /** A resume's changes, applied once the trainer's checks passed (the writing rank's). */
  readonly beforeWrite?: () => void;
}

/** Trains the job's seeds (`runRepeats`) with progress, then reports them (rank 0). */
async function trainAndReport(flags: TrainFlags, job: TrainJob, where: TrainWhere): Promise<void> {
  const { info, pg, ranks } = where;
  const { config, repeats, runDir } = job;
  // Rank 0 alone writes the run directory (runs over ranks: the group's) and reports.
  const writer = ((pg ?? ranks?.group)?.rank ?? 0) === 0;
  const worldSize = pg?.worldSize ?? 1; // of each run
  if (flags.json !== true && writer) {
    const parts = [
      `${config.dataset}, ${config.arch} (${config.mode}, width ${config.width})`,
      `T=${config.stc.T}, theta0=${config.stc.theta0}, backend ${backendLabel(info)}`,
    ];
    if (worldSize > 1) parts.push(`${worldSize} ranks (global batch ${config.batchSize * worldSize})`);
    if (ranks) parts.push(`${repeats} seeds over ${ranks.group.worldSize} ranks`);
    stderrLine(`stcsnn train: ${parts.join(', ')}, run ${runDir}`);
  }
  const { runs, summary } = await runRepeats(config, repeats, {
    runDir,
    backend: info.name,
    resume: job.resume,
    lrOverride: job.lrOverride,
    beforeWrite: where.beforeWrite,
    processGroup: pg,
    runsOver: ranks && {
      ...ranks,
      onWait: () => stderrLine(`stcsnn train: rank ${ranks.group.rank}: waiting for the other ranks' seeds`),
    },
    onSeed: ranks
      ? (seed, what) => {
          if (what === 'start') stderrLine(`rank ${ranks.group.rank}: training seed ${seed}`);
        }
      : undefined,
    hooks: progressHooks(repeats, writer),
  });
  if (writer) report(flags, job, where, { runs, summary });
}

/** The progress bar and epoch lines of each seed's training (quiet on the ranks that do not report). */
function progressHooks(repeats: number, writer: boolean): (seed: number) => TrainHooks {
  const progress = makeProgress({ quiet: !writer });
  return (seed) => ({
    onNotice: writer ? notice : undefined,
    onEpochStart: (e, n, batches) =>
      progress.start(batches, `epoch ${e + 1}/${n}${repeats > 1 ? ` seed ${seed}` : ''}`),
    onBatch: (_e, b, s) =>
      progress.update(b, { rate: s.imagesPerSecond.toFixed(0), info: `loss ${s.loss.toFixed(4)}` }),
    onEpochEnd: (m) =>
      progress.stop(
        `epoch ${m.epoch + 1}: loss ${m.train_loss.toFixed(4)}, train ${pct(m.train_accuracy)}, test ${pct(m.test_accuracy)} (${m.seconds.toFixed(1)} s, ${m.images_per_second.toFixed(0)} img/s)`,
      ),
  });
}

/** Rank 0's report of the trained seeds: `--json`'s object, or the summary lines. */
function report(flags: TrainFlags, job: TrainJob, where: TrainWhere, done: RepeatsResult): void {
  const { info, pg, ranks } = where;
  const { config, runDir } = job;
  const { runs, summary } = done;
  const worldSize = pg?.worldSize ?? 1; // of each run
  const last = runs[runs.length - 1];
  if (flags.json === true) {
    // the last run's result, less what a summary line has no room for (per-layer and per-class
    // detail stays in the run directory's result.json)
    const {
      runDir: _dir,
      seed: _seed,
      spike_stats: _stats,
      per_class_accuracy: _perClass,
      confusion: _confusion,
      ...result
    } = last;
    printJson({
      ...result,
      backend: info.name,
      run_dir: runDir,
      world_size: ranks?.group.worldSize ?? worldSize,
      parallel: ranks ? 'runs' : worldSize > 1 ? 'data' : null,
      batch_size: config.batchSize,
      global_batch: config.batchSize * worldSize,
      repeats: runs.map((r) => ({
        seed: r.seed,
        test_accuracy: r.test_accuracy,
        best_test_accuracy: r.best_test_accuracy,
      })),
      ...(summary ? { mean: summary.mean, stddev: summary.stddev, best: summary.best } : {}),
    });
    return;
  }
  console.log(
    `\n${config.arch} (${config.mode}) on ${config.dataset}: ${last.params.toLocaleString('en-US')} parameters, backend ${backendLabel(info)}`,
  );
  console.log(
    `test accuracy ${pct(last.test_accuracy)} (best ${pct(last.best_test_accuracy)}), ${last.train_seconds.toFixed(1)} s training, ${last.images_per_second.toFixed(0)} img/s, data wait ${pct(last.data_fraction, 1)} of step time`,
  );
  if (summary)
    console.log(
      `repeats: mean ${pct(summary.mean)}, stddev ${pct(summary.stddev)}, best ${pct(summary.best)} over ${runs.length} seeds`,
    );
  if (last.fire_rates.length) {
    console.log('\nfire rates (spikes per neuron / T) on the test set:');
    console.log(table([['layer', 'fire rate'], ...last.fire_rates.map((f) => [f.layer, f.rate.toFixed(4)])]));
  }
  console.log(`\nrun directory: ${runDir}`);
  const energy = energySummaryOfRun(config, last.spike_stats, last.runDir);
  if (energy) console.log(`\n${energy}`);
  if (info.notice) notice(info.notice);
  // last: a run the time budget stopped, and how to continue it
  for (const r of runs) {
    const seconds = r.stopped_by === 'time-budget' ? readLog(r.runDir).at(-1)?.seconds : undefined;
    const line = stoppedLine({ ...r, lastEpochSeconds: seconds }, config.timeBudget, worldSize);
    if (line) stderrLine(line);
  }
}

/**
 * How `train` uses a process group: `--parallel` as given, else `runs` for several repeats and
 * `data` for one run. `data` cannot train several seeds, `runs` needs several.
 * @throws UsageError (one line)
 */
export function parallelMode(given: string | undefined, repeats: number): ParallelMode {
  if (given !== undefined && given !== 'data' && given !== 'runs')
    throw new UsageError(`--parallel must be data or runs, got ${given}`);
  const mode: ParallelMode = (given as ParallelMode | undefined) ?? (repeats > 1 ? 'runs' : 'data');
  if (mode === 'data' && repeats > 1)
    throw new UsageError(
      '--parallel data trains one run over the ranks; use --parallel runs to share the --repeats seeds out over the ranks',
    );
  if (mode === 'runs' && repeats < 2)
    throw new UsageError(
      '--parallel runs shares the --repeats seeds out over the ranks; it needs --repeats > 1',
    );
  return mode;
}

/**
 * The command that continues the run in `dir`: `stcsnn train --resume DIR`, or for a
 * data-parallel run (which must keep its world size) `stcsnn launch --nproc W -- train --resume DIR`;
 * `extra` is appended (`--time-budget S`).
 */
export function resumeCommand(dir: string, worldSize = 1, extra = ''): string {
  const d = `${shellQuote(dir)}${extra ? ` ${extra}` : ''}`;
  return worldSize > 1
    ? `stcsnn launch --nproc ${worldSize} -- train --resume ${d}`
    : `stcsnn train --resume ${d}`;
}

/**
 * The one line printed when the time budget stopped a run before its epochs (its `result.json`
 * says `stopped_by: "time-budget"`), with the command that continues it, or null. The command
 * raises the budget to what the remaining epochs need at the last epoch's pace, with half again
 * as much to spare (rounded up to whole seconds): the budget counts the run's training seconds
 * over every invocation, so a resume under the old budget trains one more epoch and stops again.
 */
export function stoppedLine(
  r: Pick<TrainResult, 'runDir' | 'epochs' | 'epochs_asked' | 'stopped_by' | 'train_seconds'> & {
    lastEpochSeconds?: number;
  },
  budget: number | undefined,
  worldSize = 1,
): string | null {
  if (r.stopped_by !== 'time-budget' || r.epochs_asked === undefined) return null;
  const left = r.epochs_asked - r.epochs;
  const pace = r.lastEpochSeconds ?? r.train_seconds / Math.max(1, r.epochs);
  const raise = Math.ceil(r.train_seconds + 1.5 * left * pace);
  return `stcsnn train: stopped by --time-budget${budget !== undefined ? ` ${budget}` : ''} after epoch ${r.epochs} of ${r.epochs_asked} (${r.train_seconds.toFixed(1)} s of training); continue with: ${resumeCommand(r.runDir, worldSize, `--time-budget ${raise}`)}`;
}

/**
 * `s` as one word of a POSIX shell command: unchanged when it holds only characters no shell
 * treats specially, else in single quotes (an inner `'` written `'\''`).
 */
export function shellQuote(s: string): string {
  const quote = "'";
  return /^[\w@%+=:,./-]+$/.test(s) ? s : quote + s.split(quote).join("'\\''") + quote;
}

/**
 * The one line printed when training is interrupted (Ctrl-C): what was saved and the exact
 * command that continues the run (`worldSize`: the ranks of a data-parallel run).
 */
export function interruptLine(i: InterruptInfo, worldSize = 1): string {
  const what = i.signal === 'SIGINT' ? 'interrupted' : `stopped (${i.signal})`;
  if (i.checkpoint)
    return `stcsnn: ${what}; saved the checkpoint of epoch ${i.checkpoint.epoch + 1} in ${i.checkpoint.dir}; continue with: ${resumeCommand(i.checkpoint.dir, worldSize)}`;
  return i.removed
    ? `stcsnn: ${what} before the first checkpoint; nothing was saved (removed ${i.dir})`
    : `stcsnn: ${what} before the first checkpoint; nothing was saved`;
}
