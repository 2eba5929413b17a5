/** `stcsnn train`: train an STCSNN (or its ANN twin), with repeats, presets and resume. */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { stcConfig } from '../core/config.js';
import { datasetInfo, DATASET_NAMES } from '../data/registry.js';
import { ARCHS } from '../nn/models.js';
import { TRAIN_DEFAULTS, checkTrainConfig, paperPreset, type TrainConfig } from '../train/config.js';
import { LR_SCHEDULES } from '../train/lr-schedule.js';
import { agreeOnConfig, readRunConfig } from '../train/train.js';
import { initProcessGroup, type ProcessGroup } from '../distributed/process-group.js';
import { pct } from '../analysis/format.js';
import { energySummaryOfRun } from '../run/energy.js';
import { runRepeats } from '../run/repeats.js';
import { freshRunDir, prepareRunDir, resumableRunDir } from '../run/rundir.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { UsageError } from './errors.js';
import { processGroupOptions, withDistFlags, type DistFlags } from './launch.js';
import { makeProgress, notice, printJson, table } from './output.js';
import { parseChoice, parseInteger, parseNumber } from './options.js';

interface TrainFlags extends CommonFlags, DistFlags {
  dataset?: string;
  dataDir?: string;
  arch?: string;
  mode?: string;
  width?: string;
  T?: string;
  theta0?: string;
  tau?: string;
  schedule?: string;
  fire?: string;
  gradient?: string;
  path?: string;
  epochs?: string;
  batchSize?: string;
  lr?: string;
  momentum?: string;
  weightDecay?: string;
  nesterov?: boolean;
  lrSchedule?: string;
  augment?: string;
  seed?: string;
  repeats?: string;
  limitTrain?: string;
  limitTest?: string;
  timeBudget?: string;
  preset?: string;
  labels?: string;
  frames?: string;
  resize?: string;
  channels?: string;
  testFraction?: string;
  cacheDir?: string;
  out?: string;
  resume?: string;
  force?: boolean;
}

/** The data-set options on the command line: flag, the data sets it applies to. */
const DATASET_FLAGS: readonly [flag: keyof TrainFlags, name: string, datasets: readonly string[]][] = [
  ['labels', '--labels', ['cifar100']],
  ['frames', '--frames', ['cifar10-dvs']],
  ['resize', '--resize', ['cifar10-dvs', 'imagefolder']],
  ['channels', '--channels', ['imagefolder']],
  ['testFraction', '--test-fraction', ['cifar10-dvs', 'imagefolder']],
  ['cacheDir', '--cache-dir', ['cifar10', 'cifar100', 'cifar10-dvs']],
];

/** Flags that change the run's configuration (refused with --resume). */
const CONFIG_FLAGS: readonly (keyof TrainFlags)[] = [
  'dataset',
  'dataDir',
  'arch',
  'mode',
  'width',
  'T',
  'theta0',
  'tau',
  'schedule',
  'fire',
  'gradient',
  'path',
  'epochs',
  'batchSize',
  'lr',
  'momentum',
  'weightDecay',
  'nesterov',
  'lrSchedule',
  'augment',
  'seed',
  'repeats',
  'limitTrain',
  'limitTest',
  'timeBudget',
  'preset',
  ...DATASET_FLAGS.map(([flag]) => flag),
  'out',
];

/** Builds a {@link TrainConfig} from flags; `--preset paper` fills the paper's protocol first. */
export function configFromFlags(f: TrainFlags): { config: TrainConfig; repeats: number } {
  const d = TRAIN_DEFAULTS;
  const dataset = f.dataset ?? d.dataset;
  if (!(DATASET_NAMES as readonly string[]).includes(dataset)) {
    throw new UsageError(`--dataset must be one of ${DATASET_NAMES.join(', ')}; got '${dataset}'`);
  }
  const info = datasetInfo(dataset);
  const preset = f.preset === undefined ? undefined : parseChoice('--preset', f.preset, ['paper'] as const);
  const p = preset ? paperPreset(dataset) : undefined;
  const num = (flag: string, v: string | undefined, dflt: number) =>
    v === undefined ? dflt : parseNumber(flag, v);
  const int = (flag: string, v: string | undefined, dflt: number, min: number) =>
    v === undefined ? dflt : parseInteger(flag, v, min);
  for (const [key, flag, datasets] of DATASET_FLAGS) {
    if (f[key] !== undefined && !datasets.includes(dataset))
      throw new UsageError(`${flag} applies to ${datasets.join(', ')}, not ${dataset}`);
  }
  const datasetOptions: Record<string, string | number | boolean> = {};
  if (f.labels !== undefined)
    datasetOptions.labels = parseChoice('--labels', f.labels, ['fine', 'coarse'] as const);
  if (f.frames !== undefined) datasetOptions.frames = parseInteger('--frames', f.frames, 1, 64);
  if (f.resize !== undefined) datasetOptions.size = parseInteger('--resize', f.resize, 4, 1024);
  if (f.channels !== undefined)
    datasetOptions.channels = Number(parseChoice('--channels', f.channels, ['1', '3'] as const));
  if (f.testFraction !== undefined) {
    const v = parseNumber('--test-fraction', f.testFraction);
    if (!(v > 0 && v < 1)) throw new UsageError(`--test-fraction must be in (0, 1), got ${f.testFraction}`);
    datasetOptions.testFraction = v;
  }
  if (f.cacheDir !== undefined) datasetOptions.cacheDir = resolve(f.cacheDir);
  const config: TrainConfig = {
    dataset,
    dataDir: f.dataDir,
    datasetOptions,
    arch: parseChoice('--arch', f.arch ?? d.arch, ARCHS),
    mode: parseChoice('--mode', f.mode ?? d.mode, ['stc', 'ann'] as const),
    width: num('--width', f.width, d.width),
    stc: stcConfig({
      T: num('--T', f.T, d.stc.T),
      theta0: num('--theta0', f.theta0, p?.theta0 ?? info.theta0 ?? d.stc.theta0),
      tau: num('--tau', f.tau, d.stc.tau),
      schedule: parseChoice('--schedule', f.schedule ?? d.stc.schedule, ['exp', 'geometric'] as const),
      fire: parseChoice('--fire', f.fire ?? d.stc.fire, ['>=', '>'] as const),
      gradient: parseChoice('--gradient', f.gradient ?? d.stc.gradient, ['relu', 'clipped'] as const),
    }),
    path: parseChoice('--path', f.path ?? d.path, ['fused', 'spike-train'] as const),
    epochs: int('--epochs', f.epochs, p?.epochs ?? d.epochs, 1),
    batchSize: int('--batch-size', f.batchSize, d.batchSize, 1),
    lr: num('--lr', f.lr, d.lr),
    momentum: num('--momentum', f.momentum, d.momentum),
    weightDecay: num('--weight-decay', f.weightDecay, d.weightDecay),
    nesterov: f.nesterov ?? d.nesterov,
    lrSchedule: parseChoice('--lr-schedule', f.lrSchedule ?? p?.lrSchedule ?? d.lrSchedule, LR_SCHEDULES),
    stepEvery: d.stepEvery,
    stepGamma: d.stepGamma,
    augment: parseChoice('--augment', f.augment ?? d.augment, ['auto', 'none'] as const),
    seed: int('--seed', f.seed, d.seed, 0),
    limitTrain: f.limitTrain === undefined ? undefined : parseInteger('--limit-train', f.limitTrain, 1),
    limitTest: f.limitTest === undefined ? undefined : parseInteger('--limit-test', f.limitTest, 1),
    timeBudget: f.timeBudget === undefined ? undefined : parseNumber('--time-budget', f.timeBudget),
  };
  if (!(config.width > 0 && config.width <= 4))
    throw new UsageError(`--width must be in (0, 4], got ${config.width}`);
  if (!(config.lr > 0)) throw new UsageError(`--lr must be > 0, got ${config.lr}`);
  if (!(config.momentum >= 0 && config.momentum <= 1))
    throw new UsageError(`--momentum must be in [0, 1], got ${config.momentum}`);
  if (!(config.weightDecay >= 0))
    throw new UsageError(`--weight-decay must be >= 0, got ${config.weightDecay}`);
  const repeats = int('--repeats', f.repeats, p?.repeats ?? 1, 1);
  checkTrainConfig(config, 'train options'); // what config.json will hold must be resumable
  return { config, repeats };
}

export function trainCommand(): Command {
  const cmd = new Command('train').description(
    'train an STCSNN (or its ANN twin) and evaluate it every epoch; without flags: VGG11 (width 0.25) on the embedded Fashion-MNIST subset',
  );
  cmd
    .option('--dataset <name>', `data set: ${DATASET_NAMES.join(', ')}`, TRAIN_DEFAULTS.dataset)
    .option('--data-dir <dir>', 'where the data set files are')
    .option('--arch <name>', `architecture: ${ARCHS.join(', ')}`, TRAIN_DEFAULTS.arch)
    .option('--mode <mode>', 'stc (spiking) or ann (the ReLU twin)', TRAIN_DEFAULTS.mode)
    .option(
      '--width <w>',
      'channel width multiplier, e.g. 0.25 for CPU-sized runs',
      String(TRAIN_DEFAULTS.width),
    )
    .option('--T <n>', 'spike-train length T (1..64)', '8')
    .option('--theta0 <v>', 'initial threshold (default: 0.8; 2 for DVS data)')
    .option('--tau <v>', 'threshold time constant', '2')
    .option('--schedule <name>', 'threshold schedule: exp or geometric', 'exp')
    .option('--fire <test>', "firing test: '>=' or '>'", '>=')
    .option(
      '--gradient <mask>',
      'equivalent-gradient mask: relu (the paper: 1[x>0]) or clipped (1[0<x<sum theta], zero where STEB saturates)',
      'relu',
    )
    .option('--path <path>', 'STCB forward path: fused or spike-train', 'fused')
    .option('--epochs <n>', 'epochs', String(TRAIN_DEFAULTS.epochs))
    .option('--batch-size <n>', 'batch size', String(TRAIN_DEFAULTS.batchSize))
    .option('--lr <v>', 'initial learning rate', String(TRAIN_DEFAULTS.lr))
    .option('--momentum <v>', 'SGD momentum', String(TRAIN_DEFAULTS.momentum))
    .option('--weight-decay <v>', 'weight decay', String(TRAIN_DEFAULTS.weightDecay))
    .option('--nesterov', 'Nesterov momentum')
    .option(
      '--lr-schedule <name>',
      'cosine (per step, to 0), step (x0.5 every 20 epochs) or constant',
      'cosine',
    )
    .option('--augment <mode>', "auto (the data set's crop/flip) or none", 'auto')
    .option('--seed <n>', 'seed for initialisation, shuffling and augmentation', '0')
    .option('--repeats <n>', 'train N seeds (seed, seed+1, ...) and report mean, stddev and best')
    .option('--limit-train <n>', 'use the first N training samples')
    .option('--limit-test <n>', 'use the first N test samples')
    .option('--time-budget <s>', 'stop at the end of the epoch that would exceed this many seconds')
    .addOption(
      new Option(
        '--preset <name>',
        "the paper's protocol for the data set (epochs, lr schedule, theta0, 5 repeats)",
      ).choices(['paper']),
    )
    .option('--labels <kind>', 'CIFAR-100 labels: fine or coarse')
    .option('--frames <F>', 'CIFAR10-DVS: frames per sample (stacked as channels)')
    .option('--resize <n>', 'CIFAR10-DVS frames or imagefolder images: resize to n x n')
    .option('--channels <n>', 'imagefolder: 3 (RGB) or 1 (BT.601 luminance)')
    .option(
      '--test-fraction <f>',
      'imagefolder, CIFAR10-DVS: share of each class in the test split (no train/test folders)',
    )
    .option(
      '--cache-dir <dir>',
      'CIFAR archives extracted, CIFAR10-DVS frames: where (default $STCSNN_CACHE or ~/.cache/stcsnn)',
    )
    .option('--out <dir>', 'run directory (default: a fresh name under runs/)')
    .option('--resume <dir>', 'continue the run in DIR from its last checkpoint with its saved configuration')
    .option(
      '--force',
      "allow --out to name a non-empty directory (an earlier run's files there are removed first)",
    );
  withCommon(cmd);
  withDistFlags(cmd);
  cmd.action(async (flags: TrainFlags, command: Command) => {
    let config: TrainConfig;
    let repeats: number;
    let runDir: string;
    const resume = flags.resume !== undefined;
    const dist = processGroupOptions(flags);
    if (resume) {
      const given = CONFIG_FLAGS.filter((k) => command.getOptionValueSource(k) === 'cli');
      if (given.length)
        throw new UsageError(`--resume reuses the saved configuration; drop --${given.join(', --')}`);
      runDir = resumableRunDir(flags.resume as string);
      config = readRunConfig(runDir);
      repeats = 1;
    } else {
      ({ config, repeats } = configFromFlags(flags));
      runDir = flags.out ? resolve(flags.out) : freshRunDir(config);
    }
    if (dist && repeats > 1)
      throw new UsageError('--repeats with --world-size > 1: run one seed per distributed job');
    const info = await backendFor(flags);
    // Data-parallel: join the group and agree on the configuration before anything is written.
    let pg: ProcessGroup | undefined;
    if (dist) {
      pg = await initProcessGroup(dist, info.name);
      try {
        await agreeOnConfig(pg, config);
      } catch (e) {
        pg.destroy();
        throw e;
      }
    }
    try {
      await trainAndReport(flags, config, repeats, runDir, resume, info, pg);
    } finally {
      pg?.destroy();
    }
  });
  return cmd;
}

async function trainAndReport(
  flags: TrainFlags,
  config: TrainConfig,
  repeats: number,
  runDir: string,
  resume: boolean,
  info: Awaited<ReturnType<typeof backendFor>>,
  pg: ProcessGroup | undefined,
): Promise<void> {
  // Rank 0 alone writes the run directory and reports; the other ranks only train.
  const writer = (pg?.rank ?? 0) === 0;
  if (!resume && writer) prepareRunDir(runDir, flags.force === true);
  const worldSize = pg?.worldSize ?? 1;
  const json = flags.json === true;
  const progress = makeProgress({ quiet: !writer });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (!json && writer)
    log(
      `stcsnn train: ${config.dataset}, ${config.arch} (${config.mode}, width ${config.width}), T=${config.stc.T}, theta0=${config.stc.theta0}, backend ${info.name}${worldSize > 1 ? `, ${worldSize} ranks (global batch ${config.batchSize * worldSize})` : ''}, run ${runDir}`,
    );
  const { runs, summary } = await runRepeats(config, repeats, {
    runDir,
    backend: info.name,
    resume,
    processGroup: pg,
    hooks: (seed) => ({
      onEpochStart: (e, n, batches) =>
        progress.start(batches, `epoch ${e + 1}/${n}${repeats > 1 ? ` seed ${seed}` : ''}`),
      onBatch: (_e, b, s) =>
        progress.update(b, { rate: s.imagesPerSecond.toFixed(0), info: `loss ${s.loss.toFixed(4)}` }),
      onEpochEnd: (m) =>
        progress.stop(
          `epoch ${m.epoch + 1}: loss ${m.train_loss.toFixed(4)}, train ${pct(m.train_accuracy)}, test ${pct(m.test_accuracy)} (${m.seconds.toFixed(1)} s, ${m.images_per_second.toFixed(0)} img/s)`,
        ),
    }),
  });
  const last = runs[runs.length - 1];
  const out = {
    dataset: config.dataset,
    arch: config.arch,
    mode: config.mode,
    T: config.stc.T,
    theta0: config.stc.theta0,
    tau: config.stc.tau,
    epochs: last.epochs,
    params: last.params,
    backend: info.name,
    run_dir: runDir,
    world_size: worldSize,
    batch_size: config.batchSize,
    global_batch: config.batchSize * worldSize,
    test_accuracy: last.test_accuracy,
    best_test_accuracy: last.best_test_accuracy,
    final_loss: last.final_loss,
    train_seconds: last.train_seconds,
    images_per_second: last.images_per_second,
    data_fraction: last.data_fraction,
    fire_rates: last.fire_rates,
    repeats: runs.map((r) => ({
      seed: r.seed,
      test_accuracy: r.test_accuracy,
      best_test_accuracy: r.best_test_accuracy,
    })),
    ...(summary ? { mean: summary.mean, stddev: summary.stddev, best: summary.best } : {}),
  };
  if (!writer) return;
  if (json) {
    printJson(out);
    return;
  }
  console.log(
    `\n${config.arch} (${config.mode}) on ${config.dataset}: ${last.params.toLocaleString('en-US')} parameters, backend ${info.name}`,
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
}
