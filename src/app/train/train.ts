/**
 * The trainer: SGD on cross-entropy with the paper's equivalent gradient (built into the
 * STCBs), evaluation every epoch, crash-safe checkpoints and logs in a run directory, resume.
 *
 * The run directory (its layout: `src/app/rundir/layout.ts`) is the run record's
 * (`src/app/rundir/run-record.ts`): opened (lock, checks, the epoch to start from), begun,
 * committed epoch by epoch (`last.safetensors` is the commit point of an epoch), finished. The
 * trainer sets up its data and model (`setup.ts`, `trainer-step.ts`), converts or restores it,
 * and runs the epoch loop (`epoch-loop.ts`).
 *
 * Data-parallel training ({@link TrainOptions.processGroup}, world size `W`): every rank builds
 * the same network from the seed and reads its shard of every global batch of `batchSize * W`
 * samples (src/lib/data/sampler.ts); before each optimiser step the gradients are replaced by
 * `sum_r w_r g_r` (bucketed all-reduce, `w_r` the shard's share of the global batch), so every
 * rank takes the step one process would take on the global batch, except for batch norm: by
 * default each rank normalises with its own shard's batch statistics (per-rank batch norm, as
 * PyTorch's DDP without SyncBatchNorm), and the running statistics are averaged over the ranks
 * at the end of every epoch; with `syncBn` every batch-norm layer normalises with the global
 * batch's statistics (src/lib/nn/sync-bn.ts: synchronous all-reduces in the forward and backward
 * passes), which makes the ranks one process on the global batch, running statistics included. Loss, accuracy and images/s are summed over the ranks. Every rank evaluates the
 * whole test set (identical results). Only rank 0 writes the run directory; at start-up the
 * ranks compare a hash of the configuration, and a resumed run must keep its world size.
 */
import { ConfigError } from '../../lib/core/config.js';
import { agreeOn, stableHash } from '../../lib/distributed/handshake.js';
import { localProcessGroup, type ProcessGroup } from '../../lib/distributed/process-group.js';
import { NumericalError } from '../../lib/train/step.js';
import { checkFieldRules, type TrainConfig } from '../config/config.js';
import { openRun, type RunRecord, type TrainResult } from '../rundir/run-record.js';
import { convertRun } from './convert.js';
import { trainEpochs, type TrainHooks } from './epoch-loop.js';
import { evaluate } from './evaluate.js';
import { setUpTraining } from './setup.js';

export type { TrainHooks };
export { archFor } from './trainer-step.js';
export { openLoaders } from './setup.js';
export { NumericalError };

/** Options of {@link train}. */
export interface TrainOptions {
  readonly runDir: string;
  readonly backend: string;
  readonly hooks?: TrainHooks;
  /** Continue the run in `runDir` from its last checkpoint. */
  readonly resume?: boolean;
  /**
   * With `resume`: the base learning rate of the epochs this call trains, instead of the run's
   * `lr` (after a divergence: `stcsnn train --resume DIR --lr 0.01`). The run's configuration
   * (`config.json`, the checkpoints, the hash) keeps its `lr`; every epoch trained with the
   * override records it in its `log.jsonl` line (`lr_override`), and the schedule applies to it.
   */
  readonly lrOverride?: number;
  /**
   * With `resume`: called by the writing rank once every check of the resume has passed (the
   * configuration, the data, the checkpoint and its run state, `log.jsonl`), before the run
   * directory is first written; a refused resume never calls it (the CLI applies the resume's
   * changes here: `config.json`'s new epochs, a finished run's `result.json` removed).
   */
  readonly beforeWrite?: () => void;
  /**
   * Data-parallel training: this process's group (see the module doc). Default: one process.
   * Every rank calls {@link train} with the same configuration; only rank 0 writes `runDir`
   * (the others read it when resuming, so on several machines it must be shared storage).
   */
  readonly processGroup?: ProcessGroup;
}

/**
 * Resolves when every rank of `pg` trains the same configuration (a hash of it, `dataDir`
 * excepted: paths may differ between machines); otherwise throws a one-line `DistError`.
 */
export async function agreeOnConfig(pg: ProcessGroup, config: TrainConfig): Promise<void> {
  const { dataDir: _paths, ...rest } = config;
  await agreeOn(
    pg,
    'train/config',
    stableHash(rest),
    'configuration hash',
    'start every rank with the same configuration and flags',
  );
}

/**
 * The ranks' start-up agreement, before any data is read: the same configuration (`lrOverride`:
 * a resume's rate, which every rank must train with too) and, resuming, the same epoch to start
 * from (each rank read it from the run directory).
 */
async function agreeOnStart(
  pg: ProcessGroup,
  config: TrainConfig,
  resume: { readonly startEpoch: number; readonly lrOverride?: number } | undefined,
): Promise<void> {
  const lr = resume?.lrOverride;
  await agreeOnConfig(pg, lr === undefined ? config : { ...config, lr });
  if (resume)
    await agreeOn(
      pg,
      'train/resume-epoch',
      String(resume.startEpoch),
      'resume epoch',
      'every rank must read the same run directory (shared storage across machines)',
    );
}

/**
 * Trains a network as `config` says, writing the run directory; resolves with the final result
 * (evaluated with spike statistics on the test set).
 */
export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  checkFieldRules(config);
  const pg = opts.processGroup ?? localProcessGroup();
  if (config.initFrom !== undefined && pg.worldSize > 1)
    throw new ConfigError('--init-from runs on one process (launch a conversion with --nproc 1)');
  // only the writing rank (rank 0) locks, checks and writes the run directory
  const record = openRun(opts.runDir, config, {
    resume: opts.resume,
    worldSize: pg.worldSize,
    writer: pg.rank === 0,
    onNotice: opts.hooks?.onNotice,
  });
  try {
    return await trainOpened(record, config, pg, opts);
  } catch (e) {
    if (e instanceof NumericalError) e.message += `; ${record.leftBehind()}`;
    throw e;
  } finally {
    record.close();
  }
}

/**
 * The run's life once it is opened (`record`, for `config`): the ranks agree on how it starts,
 * the data and the model are set up, the network converted from an ANN or restored from its
 * checkpoint, the run begun, its epochs trained and committed, and finished with the final
 * evaluation.
 */
async function trainOpened(
  record: RunRecord,
  config: TrainConfig,
  pg: ProcessGroup,
  opts: TrainOptions,
): Promise<TrainResult> {
  const lrOverride = opts.resume ? opts.lrOverride : undefined;
  await agreeOnStart(pg, config, opts.resume ? { startEpoch: record.startEpoch, lrOverride } : undefined);
  const training = await setUpTraining(config, pg, opts.backend);
  try {
    const { net, sgd } = training;
    const hooks = opts.hooks;
    // a run that starts from an ANN is converted before anything is written (a source that
    // cannot be converted leaves no run behind); a resumed one has its checkpoint
    const conversion =
      config.initFrom !== undefined && !record.hasCheckpoint
        ? await convertRun(net, config.initFrom, training.trainLoader, hooks?.onNotice)
        : undefined;
    // every check has passed (configuration, data, checkpoint, log): only now is the run written
    const model = {
      net,
      sgd,
      normalization: training.normalization,
      classNames: training.trainSet.classNames,
    };
    record.begin(model, { provenance: training.provenance, beforeWrite: opts.beforeWrite });
    const end = await trainEpochs({ config, record, training, pg, hooks, lrOverride });
    hooks?.onEvalStart?.('spike statistics');
    const final = await evaluate(net, training.testLoader, { spikeStats: true });
    return record.finish({ ...end, params: net.parameterCount(), backend: opts.backend, final, conversion });
  } finally {
    await training.close();
  }
}
