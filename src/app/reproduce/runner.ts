/**
 * Running one of the paper's experiments at a scale (`stcsnn reproduce`): the Table 2 twins
 * through the repeat loop (`runRepeats`, STC and ANN), the Fig. 5 studies through the sweep
 * driver (`trainSweep`, one sweep per gradient mask), the Fig. 6-9 statistics from the T study's
 * sweep (run first when missing). Everything is resumable: finished runs and sweep points are
 * kept and skipped, an interrupted run continues from its last checkpoint (or restarts when it
 * had none). Then the results are read back from disk ({@link readExperiment}), so that runs
 * adopted from elsewhere (see `layout.ts`) are reported the same way.
 */
import { existsSync } from 'node:fs';
import { readRegularText } from '../../lib/util/fs.js';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, type GradientMask, type LearnTheta } from '../../lib/core/config.js';
import { DEFAULT_ENERGY } from '../../lib/analysis/energy.js';
import { datasetInfo } from '../../lib/data/registry.js';
import { prepareRunDir } from '../rundir/dirs.js';
import { runFile, seedDirName } from '../rundir/layout.js';
import { meanStdBest, type RepeatSummary } from '../rundir/repeats-file.js';
import { readSweep, type SweepFile, type SweepGrid } from '../rundir/sweep-file.js';
import { runRepeats } from '../runs/repeats.js';
import { trainSweep } from '../runs/sweep.js';
import type { TrainHooks } from '../train/train.js';
import { trainConfigFor } from './run-config.js';
import { resolveData, type ResolvedData } from './resolve-data.js';
import { findExperiment, type Experiment, type Scale, type ScaleProtocol } from './experiments.js';
import { experimentDir, sweepDirOf, twinDir } from './layout.js';
import { isTwinField, learnThetaOf, type ReportRun, type RunProvenance } from './measured.js';
import { flattenConfig, trainConfigSchema } from '../config/config.js';
import { provenanceOf } from '../rundir/provenance.js';
import { buildInfo } from '../../lib/util/build-info.js';
import { dataFingerprint } from '../../lib/data/fingerprint.js';
import { activeBackend } from '../../lib/engine/backend.js';
import { openDataset } from '../../lib/data/registry.js';
import type { TrainConfig } from '../config/config.js';
import { readReportFile } from './report-file.js';

/**
 * What a `reproduce` invocation changes of the protocol: the STC runs' training method
 * (`--gradient`, `--learn-theta`: e.g. a Table 2 row with the clipped mask, or with learned
 * thresholds) and the budget (`--epochs`, `--seeds`: e.g. a Table 2 row over 3 seeds of 8 epochs).
 * The report's `protocol` records the result.
 */
export interface ProtocolOverride {
  /** Run the STC networks with this equivalent-gradient mask only. */
  readonly gradient?: GradientMask;
  /** The STC networks' threshold mode. */
  readonly learnTheta?: LearnTheta;
  /** Epochs of every run (STC and ANN). */
  readonly epochs?: number;
  /** Seeds per configuration (Table 2 rows: of the STC and of the ANN twin). */
  readonly seeds?: number;
}

/**
 * The protocol of `exp` at `scale`, with `over`'s mask, threshold mode, epochs and seeds where given.
 * @throws ConfigError when the experiment does not define the scale
 */
export function protocolOf(exp: Experiment, scale: Scale, over: ProtocolOverride = {}): ScaleProtocol {
  const p = exp.scales[scale];
  if (!p) {
    const defined = Object.keys(exp.scales).join(', ');
    throw new ConfigError(`experiment ${exp.id} does not define scale '${scale}' (it defines: ${defined})`);
  }
  return {
    ...p,
    ...(over.gradient === undefined ? {} : { gradients: [over.gradient] }),
    ...(over.learnTheta === undefined ? {} : { learnTheta: over.learnTheta }),
    ...(over.epochs === undefined ? {} : { epochs: over.epochs }),
    ...(over.seeds === undefined ? {} : { seeds: over.seeds }),
  };
}

/** The experiment whose sweeps a `stats-T` experiment reads (itself for the others). */
export function sweepSource(exp: Experiment): Experiment {
  if (exp.kind !== 'stats-T') return exp;
  const from = exp.from === undefined ? undefined : findExperiment(exp.from);
  if (!from) throw new ConfigError(`experiment ${exp.id}: its source experiment '${exp.from}' is unknown`);
  return from;
}

/** The sweep grid of a sweep experiment at a protocol. */
export function sweepGrid(exp: Experiment, p: ScaleProtocol): SweepGrid {
  const values = [...(p.grid ?? exp.grid ?? [])];
  if (exp.kind === 'sweep-theta0') return { theta0: values, T: [8] };
  return { theta0: [datasetInfo(p.dataset).theta0], T: values };
}

/** How many training runs an experiment has at a protocol (its sweep source's for `stats-T`). */
export function runCount(exp: Experiment, p: ScaleProtocol): number {
  const src = sweepSource(exp);
  if (src.kind === 'twin') return 2 * p.seeds;
  const g = sweepGrid(src, p);
  return p.gradients.length * g.theta0.length * g.T.length;
}

/** One run of an experiment, as read from disk (`report.json` keeps it without `config`). */
export interface RunRow extends ReportRun {
  /** The run's `config.json` (null when the run has not started). */
  readonly config: Record<string, unknown> | null;
}

/** Where a run sits in its experiment (known from the layout, also for a run not yet started). */
export interface RunPlace {
  readonly mode: 'stc' | 'ann';
  /** The STC run's equivalent-gradient mask (null for ANN). */
  readonly gradient: string | null;
  /** The sweep point's T and theta0 (null for a twin's runs). */
  readonly T: number | null;
  readonly theta0: number | null;
}

/** A twin's repeat group, read. */
export interface GroupData {
  readonly mode: 'stc' | 'ann';
  readonly dir: string;
  readonly runs: RunRow[];
  /** Over the finished runs' final test accuracy (fractions); null when none finished. */
  readonly summary: RepeatSummary | null;
}

/** A sweep, read. */
export interface SweepData {
  readonly gradient: string;
  readonly dir: string;
  /** `sweep.json`, or null when the sweep has not started. */
  readonly sweep: SweepFile | null;
  readonly grid: SweepGrid;
  readonly runs: RunRow[];
}

/** Everything a report needs. */
export interface ExperimentData {
  readonly experiment: Experiment;
  readonly scale: Scale;
  readonly protocol: ScaleProtocol;
  readonly data: ResolvedData;
  readonly dir: string;
  readonly twin?: { readonly stc: GroupData; readonly ann: GroupData };
  readonly sweeps?: SweepData[];
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readRegularText(path)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** One run directory as a {@link RunRow}. */
export function readRunRow(label: string, dir: string, place: RunPlace): RunRow {
  const config = readJson(runFile(dir, 'config'));
  const r = existsSync(runFile(dir, 'result')) ? readJson(runFile(dir, 'result')) : null;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    label,
    dir,
    status: r && n(r.test_accuracy) !== null ? 'done' : 'missing',
    test_accuracy: n(r?.test_accuracy),
    best_test_accuracy: n(r?.best_test_accuracy),
    epochs: n(r?.epochs),
    train_seconds: n(r?.train_seconds),
    backend: typeof r?.backend === 'string' ? r.backend : null,
    ...place,
    learn_theta: config && place.mode === 'stc' ? learnThetaOf(config) : null,
    provenance: runProvenance(r, config),
    training: config ? twinTraining(config) : null,
    config,
  };
}

/** The provenance of a run as a report keeps it: `result.json`'s, else `config.json`'s; null if none. */
export function runProvenance(
  result: Record<string, unknown> | null,
  config: Record<string, unknown> | null,
): RunProvenance | null {
  const p = (result && provenanceOf(result)) ?? (config && provenanceOf(config)) ?? undefined;
  if (!p) return null;
  return {
    commit: p.code.commit,
    modified: p.code.modified,
    dist_sha256: p.code.dist_sha256,
    cpu: p.machine.cpu,
    backend: p.machine.backend,
    threads: p.machine.threads,
    precision: p.machine.precision,
    data_files_sha256: p.data.files_sha256,
    labels_sha256: p.data.labels_sha256,
    changed_since_start: p.changed_since_start ?? [],
  };
}

/** A run configuration's training options that a twin must share, by dotted path (see `isTwinField`). */
export function twinTraining(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields = new Set(Object.keys(trainConfigSchema.shape));
  const flat = flattenConfig(
    Object.fromEntries(Object.entries(config).filter(([k]) => fields.has(k) && k !== 'stc')),
  );
  return Object.fromEntries(Object.entries(flat).filter(([k, v]) => v !== undefined && isTwinField(k)));
}

/** The run directory of seed index `r` of a group of `seeds` (the group itself for one seed). */
export function seedRunDir(group: string, seeds: number, seed: number): string {
  return seeds > 1 ? join(group, seedDirName(seed)) : group;
}

function readGroup(
  group: string,
  mode: 'stc' | 'ann',
  seeds: number,
  baseSeed: number,
  gradient: string,
): GroupData {
  const place: RunPlace = { mode, gradient: mode === 'stc' ? gradient : null, T: null, theta0: null };
  const runs = Array.from({ length: seeds }, (_, r) =>
    readRunRow(`${mode} seed-${baseSeed + r}`, seedRunDir(group, seeds, baseSeed + r), place),
  );
  const accs = runs.flatMap((r) => (r.test_accuracy === null ? [] : [r.test_accuracy]));
  return { mode, dir: group, runs, summary: accs.length ? meanStdBest(accs) : null };
}

function readSweepData(dir: string, gradient: string, grid: SweepGrid): SweepData {
  const sweep = existsSync(join(dir, 'sweep.json')) ? readSweep(dir) : null;
  const byId = new Map((sweep?.points ?? []).map((p) => [p.id, p]));
  const runs: RunRow[] = [];
  for (const theta0 of grid.theta0) {
    for (const T of grid.T) {
      const id = `T${T}_theta0-${theta0}`;
      const p = byId.get(id);
      const row = readRunRow(`sweep-${gradient} ${id}`, join(dir, p?.dir ?? join('points', id)), {
        mode: 'stc',
        gradient,
        T,
        theta0,
      });
      runs.push(
        p?.status === 'failed'
          ? { ...row, status: 'diverged', ...(p.error !== undefined ? { error: p.error } : {}) }
          : row,
      );
    }
  }
  return { gradient, dir, sweep, grid, runs };
}

/** Whether every point of `grid` in the sweep at `dir` is finished (done, or failed by divergence). */
export function sweepComplete(dir: string, grid: SweepGrid): boolean {
  if (!existsSync(join(dir, 'sweep.json'))) return false;
  const s = readSweep(dir);
  const ids = new Set(s.points.filter((p) => p.status === 'done' || p.status === 'failed').map((p) => p.id));
  return grid.theta0.every((theta0) => grid.T.every((T) => ids.has(`T${T}_theta0-${theta0}`)));
}

/** Reads what the runs of an experiment left on disk (nothing trains). */
export function readExperiment(
  exp: Experiment,
  scale: Scale,
  out: string,
  data: ResolvedData,
  over: ProtocolOverride = {},
): ExperimentData {
  const p = protocolOf(exp, scale, over);
  const dir = experimentDir(out, exp.id);
  const base = { experiment: exp, scale, protocol: p, data, dir };
  if (exp.kind === 'twin') {
    const seed = 0;
    return {
      ...base,
      twin: {
        stc: readGroup(twinDir(dir, 'stc'), 'stc', p.seeds, seed, p.gradients[0]),
        ann: readGroup(twinDir(dir, 'ann'), 'ann', p.seeds, seed, p.gradients[0]),
      },
    };
  }
  const src = sweepSource(exp);
  const srcDir = experimentDir(out, src.id);
  const grid = sweepGrid(src, protocolOf(src, scale, over));
  return {
    ...base,
    sweeps: p.gradients.map((g) => readSweepData(sweepDirOf(srcDir, g), g, grid)),
  };
}

/** Progress of a reproduction, one event per run. */
export interface ReproduceEvent {
  readonly kind: 'skip' | 'start' | 'resume' | 'restart' | 'done' | 'failed';
  readonly experiment: string;
  /** The run's label (`stc seed-0`, `sweep-relu T8_theta0-0.8`). */
  readonly label: string;
  /** 1-based position of the run among the experiment's runs, and their number. */
  readonly index: number;
  readonly total: number;
  readonly test_accuracy?: number;
  readonly error?: string;
}

/** Options of {@link runExperiment}. */
export interface RunExperimentOptions {
  readonly experiment: Experiment;
  readonly scale: Scale;
  /** The `--out` directory (experiments go into `<out>/<id>/`). */
  readonly out: string;
  readonly dataDir?: string;
  /** The backend's name (initialised by the caller), recorded in each run. */
  readonly backend: string;
  /** Only read what is there and report it (no training). */
  readonly reportOnly?: boolean;
  /** The STC networks' mask and threshold mode, the epochs and seeds, where not the protocol's. */
  readonly override?: ProtocolOverride;
  /**
   * A Table 2 row's ANN twin taken from this earlier `report.json` of the same experiment and
   * protocol instead of trained (its twins do not depend on the STC runs' method).
   */
  readonly annFrom?: string;
  /** Take an `annFrom` twin that differs in training options, code or data (see `annFromReport`). */
  readonly acceptTwinMismatch?: boolean;
  readonly onEvent?: (e: ReproduceEvent) => void;
  /** Progress hooks of a run's training. */
  readonly hooks?: (experiment: string, label: string) => TrainHooks | undefined;
}

/**
 * Runs (or resumes) an experiment at a scale and returns what is on disk afterwards.
 * @throws ConfigError for a scale the experiment does not define; DataError for missing data
 */
export async function runExperiment(opts: RunExperimentOptions): Promise<ExperimentData> {
  const exp = opts.experiment;
  const p = protocolOf(exp, opts.scale, opts.override);
  const data = resolveData(exp, p, opts.dataDir);
  const dir = experimentDir(opts.out, exp.id);
  // checked before anything trains
  const annFrom =
    opts.annFrom === undefined
      ? undefined
      : await annFromReport(opts.annFrom, exp, p, {
          dataDir: opts.dataDir,
          acceptMismatch: opts.acceptTwinMismatch === true,
        });
  if (!opts.reportOnly) {
    if (exp.kind === 'twin') await runTwin(opts, p, data, dir, annFrom ? ['stc'] : ['stc', 'ann']);
    else {
      const src = sweepSource(exp);
      const srcP = protocolOf(src, opts.scale, opts.override);
      const srcDir = experimentDir(opts.out, src.id);
      const grid = sweepGrid(src, srcP);
      const complete = p.gradients.every((g) => sweepComplete(sweepDirOf(srcDir, g), grid));
      if (!complete) {
        if (src !== exp) await runExperiment({ ...opts, experiment: src });
        else await runSweeps(opts, p, data, dir, grid);
      }
    }
  }
  const read = readExperiment(exp, opts.scale, opts.out, data, opts.override);
  return annFrom && read.twin ? { ...read, twin: { ...read.twin, ann: annFrom } } : read;
}

/** The protocol fields that make two runs of a Table 2 row comparable. */
const TWIN_PROTOCOL = ['arch', 'width', 'epochs', 'lrSchedule', 'dataset', 'seeds'] as const;

/** Options of {@link annFromReport}. */
export interface AnnFromOptions {
  /** Where this invocation's data set is (`--data-dir`). */
  readonly dataDir?: string;
  /** Take a twin that differs in training options, code or data; the report then says so first. */
  readonly acceptMismatch?: boolean;
}

/**
 * What differs between an adopted twin's runs and the runs this build would train beside them:
 * each training option (`isTwinField`), the code (the build's `dist_sha256`), the precision
 * (`activeBackend()`'s) and the data read (files and labels fingerprints), one
 * `field: theirs there, ours here` line each, in that order.
 */
export async function twinMismatches(runs: readonly ReportRun[], config: TrainConfig): Promise<string[]> {
  const ours = twinTraining(config as unknown as Record<string, unknown>);
  const here = buildInfo();
  const common = { dataDir: config.dataDir, ...config.datasetOptions };
  const [train, test] = await Promise.all([
    openDataset(config.dataset, { ...common, split: 'train', limit: config.limitTrain }),
    openDataset(config.dataset, { ...common, split: 'test', limit: config.limitTest }),
  ]);
  const data = dataFingerprint(train, test);
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  for (const r of runs) {
    if (!r.training)
      out.push(`${r.label}: training options not recorded (a report.json written before they were)`);
    else
      for (const k of [...new Set([...Object.keys(ours), ...Object.keys(r.training)])])
        if (JSON.stringify(r.training[k]) !== JSON.stringify(ours[k]))
          out.push(`${r.label}: ${k} is ${show(r.training[k])} there, ${show(ours[k])} here`);
    const p = r.provenance;
    if (!p) {
      out.push(`${r.label}: code version and data not recorded (a run made before they were)`);
      continue;
    }
    if (p.dist_sha256 !== here.dist_sha256)
      out.push(
        `${r.label}: code is build ${p.dist_sha256 ?? 'unknown'} (commit ${p.commit ?? 'unknown'}) there, build ${here.dist_sha256 ?? 'unknown'} (commit ${here.commit ?? 'unknown'}) here`,
      );
    const precision = activeBackend()?.precision ?? 'fp32';
    if (p.precision !== precision)
      out.push(`${r.label}: precision is ${p.precision} there, ${precision} here`);
    if (p.data_files_sha256 !== data.files_sha256)
      out.push(
        `${r.label}: data files are ${p.data_files_sha256 ?? 'none'} there, ${data.files_sha256 ?? 'none'} here`,
      );
    if (p.labels_sha256 !== data.labels_sha256)
      out.push(
        `${r.label}: data labels (samples in reader order) are ${p.labels_sha256} there, ${data.labels_sha256} here`,
      );
  }
  return out;
}

/**
 * The ANN twin of a Table 2 row from an earlier `report.json` of the same experiment and protocol
 * (`--ann-from`): its ANN runs as they were measured, marked with `from`. It must have been
 * trained with this row's training options, by this build, on the same data
 * ({@link twinMismatches}); with `acceptMismatch` a twin that was not is taken, each run marked
 * with what differs (`twin_mismatch`), which the report states in its first lines.
 * @throws ConfigError naming the file and the field when it is another experiment or protocol,
 *   holds no finished ANN run, or one whose test accuracy is outside [0, 1], or (without `acceptMismatch`) differs in a training option, the
 *   code or the data
 */
export async function annFromReport(
  path: string,
  exp: Experiment,
  p: ScaleProtocol,
  opts: AnnFromOptions = {},
): Promise<GroupData> {
  const file = resolve(path);
  const report = readReportFile(file, exp.id);
  const theirs = report.protocol as unknown as Record<string, unknown>;
  for (const k of TWIN_PROTOCOL)
    if (theirs[k] !== p[k])
      throw new ConfigError(
        `--ann-from ${path}: protocol.${k} is ${JSON.stringify(theirs[k])} there, ${JSON.stringify(p[k])} here`,
      );
  const base = dirname(file);
  const adopted = report.runs.filter((r) => r.mode === 'ann');
  if (adopted.length !== p.seeds || adopted.some((r) => r.status !== 'done' || r.test_accuracy === null))
    throw new ConfigError(
      `--ann-from ${path}: it holds no finished ANN run for each of the ${p.seeds} seed(s)`,
    );
  const outside = adopted.find(
    (r) => !((r.test_accuracy as number) >= 0 && (r.test_accuracy as number) <= 1),
  );
  if (outside)
    throw new ConfigError(
      `--ann-from ${path}: run ${outside.label} has test_accuracy ${outside.test_accuracy}, outside [0, 1]`,
    );
  const config = trainConfigFor(
    exp,
    p,
    { mode: 'ann', gradient: p.gradients[0] },
    resolveData(exp, p, opts.dataDir),
  );
  const mismatches = await twinMismatches(adopted, config);
  if (mismatches.length && !opts.acceptMismatch)
    throw new ConfigError(
      `--ann-from ${path}: ${mismatches[0]}${mismatches.length > 1 ? ` (and ${mismatches.length - 1} more)` : ''}; --accept-twin-mismatch takes it anyway, and the report says so first`,
    );
  const runs: RunRow[] = adopted.map((r) => ({
    ...r,
    dir: resolve(base, r.dir),
    from: file,
    config: null,
    ...(mismatches.length ? { twin_mismatch: mismatches.filter((m) => m.startsWith(`${r.label}: `)) } : {}),
  }));
  return {
    mode: 'ann',
    dir: resolve(base, 'ann'),
    runs,
    summary: meanStdBest(runs.map((r) => r.test_accuracy as number)),
  };
}

async function runTwin(
  opts: RunExperimentOptions,
  p: ScaleProtocol,
  data: ResolvedData,
  dir: string,
  modes: readonly ('stc' | 'ann')[],
): Promise<void> {
  const exp = opts.experiment;
  const total = modes.length * p.seeds;
  let index = 0;
  for (const mode of modes) {
    const config = trainConfigFor(exp, p, { mode, gradient: p.gradients[0] }, data);
    const group = twinDir(dir, mode);
    if (!existsSync(group)) prepareRunDir(group, false);
    const label = (seed: number) => `${mode} seed-${seed}`;
    await runRepeats(config, p.seeds, {
      runDir: group,
      backend: opts.backend,
      keepFinished: true,
      onSeed: (seed, what, result) => {
        if (what !== 'done') index++;
        opts.onEvent?.({
          kind: what,
          experiment: exp.id,
          label: label(seed),
          index,
          total,
          ...(result ? { test_accuracy: result.test_accuracy } : {}),
        });
      },
      hooks: (seed) => opts.hooks?.(exp.id, label(seed)),
    });
  }
}

async function runSweeps(
  opts: RunExperimentOptions,
  p: ScaleProtocol,
  data: ResolvedData,
  dir: string,
  grid: SweepGrid,
): Promise<void> {
  const exp = opts.experiment;
  const perSweep = grid.theta0.length * grid.T.length;
  const total = p.gradients.length * perSweep;
  let index = 0;
  for (const gradient of p.gradients) {
    const sdir = sweepDirOf(dir, gradient);
    const label = (id: string) => `sweep-${gradient} ${id}`;
    const ev = (kind: ReproduceEvent['kind'], id: string, extra: Partial<ReproduceEvent> = {}) =>
      opts.onEvent?.({ kind, experiment: exp.id, label: label(id), index, total, ...extra });
    await trainSweep({
      dir: sdir,
      config: trainConfigFor(exp, p, { mode: 'stc', gradient, T: grid.T[0], theta0: grid.theta0[0] }, data),
      grid,
      constants: DEFAULT_ENERGY,
      backend: opts.backend,
      onPointStart: (pt) => {
        index++;
        ev('start', pt.id);
      },
      hooks: (pt) => opts.hooks?.(exp.id, label(pt.id)),
      onEvent: (e) => {
        if (e.kind === 'skip') {
          index++;
          ev('skip', e.id);
        } else if (e.kind === 'restart') ev('restart', e.id);
        else if (e.kind === 'failed') ev('failed', e.id, { error: e.error });
        else ev('done', e.id, { test_accuracy: e.result?.test_accuracy });
      },
    });
  }
}
