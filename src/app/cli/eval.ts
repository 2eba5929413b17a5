/** `stcsnn eval`: accuracy, per-class accuracy, confusion matrix and spike statistics of a checkpoint. */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Command } from 'commander';
import { inputRange, pct, pctOrDash } from '../analysis/format.js';
import { saturatedFraction } from '../../lib/nn/stats.js';
import { DataLoader } from '../../lib/data/loader.js';
import type { Dataset } from '../../lib/data/types.js';
import { datasetInfo, normalizationFor, openDataset, DATASET_NAMES } from '../../lib/data/registry.js';
import { readModelFile, type ModelFile } from '../../lib/interop/model-file.js';
import { identityMismatch, identityOf, loadStateDict } from '../../lib/interop/state-dict.js';
import { buildNetwork } from '../../lib/nn/models.js';
import { TRAIN_META } from '../rundir/checkpoint.js';
import { checkTrainConfig, type TrainConfig } from '../config/config.js';
import { evaluate, type EvalResult } from '../train/evaluate.js';
import { stcbTable } from '../../lib/analysis/stcb-rows.js';
import { MONITOR_SAMPLES, findRunaway } from '../../lib/train/monitor.js';
import { runawayWarning } from '../train/runaway-warning.js';
import { MODEL_FILES, RUN_FILES, runFile } from '../rundir/layout.js';
import { readRunConfig } from '../rundir/config-file.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { UsageError } from './errors.js';
import { notice, printJson, table } from './output.js';
import { parseChoice, parseInteger } from './options.js';

interface EvalFlags extends CommonFlags {
  checkpoint: string;
  which: string;
  dataset?: string;
  dataDir?: string;
  limit?: string;
  batchSize: string;
}

/** The checkpoint file a `--checkpoint` value names (a run directory or a `.safetensors` file). */
export function checkpointFile(path: string, which: 'best' | 'last'): string {
  if (!existsSync(path)) throw new UsageError(`--checkpoint: ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    const f = runFile(path, which);
    if (!existsSync(f))
      throw new UsageError(`--checkpoint: ${path} has no ${RUN_FILES[which]} (is it a run directory?)`);
    return f;
  }
  return path;
}

/**
 * The run directory a checkpoint belongs to: the directory given, or the folder of a run's
 * `best`/`last` checkpoint that has a `config.json`; undefined for a loose model file.
 */
function runDirOfCheckpoint(arg: string, file: string): string | undefined {
  if (statSync(arg).isDirectory()) return arg;
  const dir = dirname(file);
  return (MODEL_FILES as readonly string[]).includes(basename(file)) && existsSync(runFile(dir, 'config'))
    ? dir
    : undefined;
}

/**
 * Refuses a checkpoint whose network is not the one its run's `config.json` describes (a file
 * copied over from another run): evaluating it would report another network under this run's name.
 */
function checkAgainstRun(arg: string, file: string, mf: { config: Parameters<typeof identityOf>[0] }): void {
  const dir = runDirOfCheckpoint(arg, file);
  if (dir === undefined || !existsSync(runFile(dir, 'config'))) return;
  let run;
  try {
    run = readRunConfig(dir);
  } catch (e) {
    notice(`${(e as Error).message}; the checkpoint is not compared with its run's configuration`);
    return;
  }
  const other = identityMismatch(
    file,
    identityOf(mf.config),
    { arch: run.arch, mode: run.mode, width: run.width, T: run.stc.T },
    `its run's ${RUN_FILES.config} says`,
  );
  if (other) throw new UsageError(other);
}

/**
 * The data set to evaluate on: `--dataset`, else the one the checkpoint's run trained on; refused
 * when unknown or when `--data-dir` is given for an embedded one.
 */
function evalDatasetName(flags: EvalFlags, file: string, trainConfig: TrainConfig | undefined): string {
  const dataset = flags.dataset ?? trainConfig?.dataset;
  if (!dataset) throw new UsageError(`${file} does not say which data set it was trained on; pass --dataset`);
  if (!(DATASET_NAMES as readonly string[]).includes(dataset)) {
    throw new UsageError(`--dataset must be one of ${DATASET_NAMES.join(', ')}; got '${dataset}'`);
  }
  if (flags.dataDir !== undefined && datasetInfo(dataset).embedded)
    throw new UsageError(
      `--data-dir does not apply to ${dataset} (it is embedded in the package and reads no directory)`,
    );
  return dataset;
}

/** The test split of `dataset` (with the run's options when it is the run's data set), checked against the model's input and classes. */
async function openTestSplit(
  dataset: string,
  limit: number | undefined,
  flags: EvalFlags,
  file: string,
  cfg: ModelFile['config'],
  trainConfig: TrainConfig | undefined,
): Promise<Dataset> {
  const ds = await openDataset(dataset, {
    split: 'test',
    dataDir: flags.dataDir ?? trainConfig?.dataDir,
    limit,
    ...(dataset === trainConfig?.dataset ? trainConfig.datasetOptions : {}),
  });
  if (ds.shape.join(',') !== cfg.inputShape.join(',') || ds.classes !== cfg.classes) {
    throw new UsageError(
      `${file} is a model for [${cfg.inputShape}] inputs and ${cfg.classes} classes; ${dataset} has [${ds.shape}] and ${ds.classes}`,
    );
  }
  return ds;
}

/** What `stcsnn eval` reports (its `--json` output). */
interface EvalReport {
  readonly checkpoint: string;
  readonly dataset: string;
  readonly cfg: ModelFile['config'];
  readonly backend: string;
  readonly r: EvalResult;
  readonly classNames: readonly string[];
  readonly warning?: string;
}

/** The `--json` object of an evaluation. */
function evalJson({ checkpoint, dataset, cfg, backend, r, classNames, warning }: EvalReport): object {
  return {
    checkpoint,
    dataset,
    arch: cfg.arch,
    mode: cfg.mode,
    T: cfg.stc.T,
    backend,
    samples: r.count,
    accuracy: r.accuracy,
    loss: r.loss,
    per_class_accuracy: r.perClass.map((v) => (Number.isNaN(v) ? null : v)),
    class_names: [...classNames],
    confusion: r.confusion,
    fire_rates: (r.spikeStats ?? []).map((s) => ({ layer: s.layer, rate: s.fireRate })),
    spike_stats: r.spikeStats ?? [],
    ...(r.stcb ? { stcb: r.stcb } : {}),
    ...(warning ? { warning } : {}),
  };
}

/** An evaluation as text: accuracy, per-class accuracy, confusion matrix, spike statistics, the runaway monitor. */
function printEvaluation({ dataset, cfg, backend, r, classNames }: EvalReport): void {
  console.log(
    `${cfg.arch} (${cfg.mode}, T=${cfg.stc.T}) on ${dataset} test (${r.count} samples), backend ${backend}`,
  );
  console.log(`accuracy ${pct(r.accuracy)}, loss ${r.loss.toFixed(4)}\n`);
  console.log(
    table([['class', 'accuracy'], ...r.perClass.map((v, c) => [classNames[c] ?? String(c), pct(v, 1)])]),
  );
  console.log('\nconfusion matrix (rows: true class, columns: predicted):');
  console.log(
    table([
      ['', ...r.confusion.map((_, c) => String(c))],
      ...r.confusion.map((row, c) => [String(c), ...row.map(String)]),
    ]),
  );
  if (r.spikeStats?.length) {
    console.log('\nspike statistics per STCB layer:');
    console.log(
      table([
        ['layer', 'neurons', 'spikes/neuron', 'fire rate', 'input range', 'saturated'],
        ...r.spikeStats.map((s) => [
          s.layer,
          String(s.neurons),
          s.spikesPerNeuron.toFixed(3),
          s.fireRate.toFixed(4),
          inputRange(s.inputMin, s.inputMax),
          pctOrDash(saturatedFraction(s)),
        ]),
      ]),
    );
  }
  if (r.stcb?.length) {
    console.log(
      `\nSTEB inputs per STCB layer on the first ${r.stcb[0].samples} samples (the runaway monitor; docs/reliability.md):`,
    );
    console.log(table(stcbTable(r.stcb)));
  }
}

/** `stcsnn eval`: a checkpoint evaluated on a data set's test split. */
export function evalCommand(): Command {
  const cmd = new Command('eval').description(
    'evaluate a checkpoint: accuracy, per-class accuracy, confusion matrix and spike statistics per STCB layer',
  );
  cmd
    .requiredOption('--checkpoint <path>', 'a run directory or a .safetensors model file')
    .option('--which <ckpt>', 'in a run directory: best or last', 'best')
    .option('--dataset <name>', `data set (default: the one the run trained on): ${DATASET_NAMES.join(', ')}`)
    .option('--data-dir <dir>', 'where the data set files are')
    .option('--limit <n>', 'evaluate the first N test samples')
    .option('--batch-size <n>', 'batch size', '100');
  withCommon(cmd);
  cmd.action(async (flags: EvalFlags) => {
    const which = parseChoice('--which', flags.which, ['best', 'last'] as const);
    const file = checkpointFile(flags.checkpoint, which);
    const info = await backendFor(flags);
    const mf = await readModelFile(file);
    checkAgainstRun(flags.checkpoint, file, mf);
    const rawTrain = mf.metadata[TRAIN_META.config];
    const trainConfig = rawTrain
      ? checkTrainConfig(JSON.parse(rawTrain), `${file} (${TRAIN_META.config})`)
      : undefined;
    const dataset = evalDatasetName(flags, file, trainConfig);
    const cfg = mf.config;
    const limit = flags.limit === undefined ? undefined : parseInteger('--limit', flags.limit, 1);
    const ds = await openTestSplit(dataset, limit, flags, file, cfg, trainConfig);
    const net = buildNetwork(cfg, 0);
    const loader = new DataLoader(ds, {
      batchSize: parseInteger('--batch-size', flags.batchSize, 1),
      shuffle: false,
      augment: null,
      normalization: mf.normalization ?? normalizationFor(datasetInfo(dataset).normalization, ds.shape[2]),
      seed: 0,
      limit,
    });
    try {
      loadStateDict(net, mf.tensors, file);
      const r = await evaluate(net, loader, { spikeStats: true, monitorSamples: MONITOR_SAMPLES });
      const runaway = r.stcb ? findRunaway(r.stcb) : null;
      const warning = runaway ? runawayWarning(runaway, undefined, cfg.stc) : undefined;
      const report: EvalReport = {
        checkpoint: file,
        dataset,
        cfg,
        backend: info.name,
        r,
        classNames: ds.classNames,
        warning,
      };
      if (flags.json) {
        if (warning) notice(`warning: ${warning}`);
        printJson(evalJson(report));
        return;
      }
      printEvaluation(report);
      if (warning) notice(`warning: ${warning}`);
    } finally {
      net.dispose();
      await loader.close();
    }
  });
  return cmd;
}
