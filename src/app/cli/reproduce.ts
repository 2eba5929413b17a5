/**
 * `stcsnn reproduce EXPERIMENT [--scale paper|cpu|smoke]`: one of the paper's experiments as one
 * command (runs resumably through `src/app/runs/`, then writes the report beside the paper's
 * numbers); `stcsnn reproduce --list`: every experiment, its cost per scale and its data.
 */
import { backendLabel } from '../../lib/engine/backend.js';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { pct } from '../analysis/format.js';
import { GRADIENT_MASKS, LEARN_THETA_MODES } from '../../lib/core/config.js';
import { datasetInfo } from '../../lib/data/registry.js';
import { trainConfigSchema } from '../config/config.js';
import { duration, estimateCost, MEASURED_THROUGHPUTS } from '../reproduce/cost.js';
import {
  DATA_SOURCES,
  EXPERIMENTS,
  findExperiment,
  SCALES,
  type Experiment,
  type Scale,
} from '../reproduce/experiments.js';
import { defaultOut, experimentDir, reportFile } from '../reproduce/layout.js';
import { rerenderReport, writeExperimentReport, type ReportFile } from '../reproduce/report.js';
import {
  annFromReport,
  protocolOf,
  runExperiment,
  sweepSource,
  type ProtocolOverride,
  type ReproduceEvent,
} from '../reproduce/runner.js';
import { withRunDir } from '../rundir/dirs.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { isUserError, UsageError } from './errors.js';
import { labelledEpochProgress, makeProgress, notice, printJson, table } from './output.js';
import { parseChoice, parseInteger } from './options.js';

/** The schema's bound on a run's epochs. */
const MAX_EPOCHS = trainConfigSchema.shape.epochs.removeDefault().maxValue ?? Number.MAX_SAFE_INTEGER;

interface ReproduceFlags extends CommonFlags {
  scale: string;
  list?: boolean;
  dataDir?: string;
  out?: string;
  reportOnly?: boolean;
  png?: boolean;
  gradient?: string;
  learnTheta?: string;
  epochs?: string;
  seeds?: string;
  annFrom?: string;
  acceptTwinMismatch?: boolean;
  fromJson?: string;
  printConfig?: boolean;
}

/** Prints a report's tables, verdicts and notes (or, with --json, the report). */
function printReport(report: ReportFile, dir: string, json: boolean): void {
  const md = reportFile(dir, 'markdown');
  if (json) {
    printJson({ dir, report: md, ...report });
    return;
  }
  for (const t of report.tables) {
    console.log(`\n${t.title}\n`);
    console.log(table([[...t.header], ...t.rows.map((r) => [...r])]));
  }
  console.log('\nverdicts:');
  for (const v of report.verdicts) console.log(`  - ${v.claim}: ${v.text}`);
  for (const n of report.notes) console.log(`  note: ${n}`);
  console.log(`\nreport: ${md}`);
}

function listExperiments(json: boolean, dataDir: string | undefined): void {
  const rows = EXPERIMENTS.map((e) => {
    const scales = SCALES.flatMap((s) => {
      const p = e.scales[s];
      if (!p) return [];
      const c = estimateCost(e, p);
      let found: boolean;
      try {
        found = datasetInfo(p.dataset).locate?.(dataDir) != null;
      } catch {
        found = false;
      }
      return [
        {
          scale: s,
          dataset: p.dataset,
          data_found: found,
          runs: c.runs,
          estimated_seconds: Math.round(c.seconds),
          estimated_images_per_second: Math.round(c.imagesPerSecond),
          protocol: p,
        },
      ];
    });
    const from = e.kind === 'stats-T' ? sweepSource(e).id : undefined;
    return {
      id: e.id,
      title: e.title,
      source: e.source,
      kind: e.kind,
      from,
      data: DATA_SOURCES[e.dataset],
      scales,
    };
  });
  if (json) {
    printJson({ measured_throughputs: MEASURED_THROUGHPUTS, experiments: rows });
    return;
  }
  console.log(
    table([
      ['experiment', 'source', ...SCALES.map((s) => `${s} (runs, est. time)`), 'data'],
      ...rows.map((r) => [
        r.id,
        r.source,
        ...SCALES.map((s) => {
          const x = r.scales.find((q) => q.scale === s);
          if (!x) return '-';
          const shared = r.from ? ` (runs of ${r.from})` : '';
          return `${x.runs}, ~${duration(x.estimated_seconds)}${shared}`;
        }),
        [...new Set(r.scales.map((x) => `${x.dataset}${x.data_found ? ' (found)' : ''}`))].join(', '),
      ]),
    ]),
  );
  console.log('\ndata sets and where to get them:');
  for (const d of [...new Set(EXPERIMENTS.flatMap((e) => Object.values(e.scales).map((p) => p.dataset)))])
    console.log(`  ${d}: ${DATA_SOURCES[d]}`);
  const how = new Set(MEASURED_THROUGHPUTS.map((r) => r.measured));
  const shared = how.size === 1 ? ` (each: ${[...how][0]})` : '';
  console.log(
    `\ntimes are estimates, scaled by each network's MACs from these measured throughputs${shared}:`,
  );
  for (const r of MEASURED_THROUGHPUTS)
    console.log(
      `  ${r.arch} width ${r.width} on ${r.dataset} at T = ${r.T}: ${r.imagesPerSecond} training images/s${shared ? '' : ` (${r.measured})`}`,
    );
}

/** The command line as typed, for the report. */
function commandLine(argv: readonly string[]): string {
  const i = argv.indexOf('reproduce');
  const args = i >= 0 ? argv.slice(i) : argv.slice(2);
  return [
    'stcsnn',
    ...args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)),
  ].join(' ');
}

/** The experiment `id` names, refused with the known ones when there is none. */
function experimentNamed(id: string | undefined): Experiment {
  if (id === undefined) throw new UsageError('name an experiment (stcsnn reproduce --list shows them)');
  const exp = findExperiment(id);
  if (!exp)
    throw new UsageError(`unknown experiment '${id}'; known: ${EXPERIMENTS.map((e) => e.id).join(', ')}`);
  return exp;
}

/** `--from-json`: renders the report of `exp` again from a report.json alone and prints it. */
function rerender(exp: Experiment, flags: ReproduceFlags & { fromJson: string }, json: boolean): void {
  if (flags.printConfig)
    throw new UsageError('--from-json renders a report and trains nothing; drop --print-config');
  const path = resolve(flags.fromJson);
  const report = rerenderReport(path, exp.id, commandLine(process.argv));
  printReport(report, dirname(path), json);
}

/** The scale `--scale` names, refused when `exp` does not define it. */
function scaleOf(exp: Experiment, flags: ReproduceFlags): Scale {
  const scale: Scale = parseChoice('--scale', flags.scale, SCALES);
  if (!exp.scales[scale]) {
    throw new UsageError(
      `experiment ${exp.id} does not define scale '${scale}' (it defines: ${Object.keys(exp.scales).join(', ')})`,
    );
  }
  return scale;
}

/** The protocol fields the flags give (`--gradient`, `--learn-theta`, `--epochs`, `--seeds`), checked. */
function overrideOf(flags: ReproduceFlags): ProtocolOverride {
  const gradient =
    flags.gradient === undefined ? undefined : parseChoice('--gradient', flags.gradient, GRADIENT_MASKS);
  const learnTheta =
    flags.learnTheta === undefined
      ? undefined
      : parseChoice('--learn-theta', flags.learnTheta, LEARN_THETA_MODES);
  const epochs =
    flags.epochs === undefined ? undefined : parseInteger('--epochs', flags.epochs, 1, MAX_EPOCHS);
  const seeds = flags.seeds === undefined ? undefined : parseInteger('--seeds', flags.seeds, 1);
  return {
    ...(gradient === undefined ? {} : { gradient }),
    ...(learnTheta === undefined ? {} : { learnTheta }),
    ...(epochs === undefined ? {} : { epochs }),
    ...(seeds === undefined ? {} : { seeds }),
  };
}

/** What a reproduction would run, as `--print-config` shows it. */
interface ReproducePlan {
  readonly exp: Experiment;
  readonly scale: Scale;
  readonly override: ProtocolOverride;
  readonly out: string;
}

/**
 * `--print-config`: the protocol after the flags, runs and estimated time, output directory and
 * where the data is (or why it is not found), as a table or one JSON object.
 */
function printPlan(
  { exp, scale, override, out }: ReproducePlan,
  flags: ReproduceFlags,
  resolveData: ResolveData,
  json: boolean,
): void {
  const protocol = protocolOf(exp, scale, override);
  const cost = estimateCost(exp, protocol);
  let data: string;
  try {
    data = resolveData(exp, exp.scales[scale]!, flags.dataDir).copy;
  } catch (e) {
    if (!isUserError(e)) throw e;
    data = `not found: ${e.message}`;
  }
  const plan = {
    experiment: exp.id,
    kind: exp.kind,
    scale,
    protocol,
    runs: cost.runs,
    estimated_seconds: Math.round(cost.seconds),
    out: experimentDir(out, exp.id),
    report_only: flags.reportOnly === true,
    ann_from: flags.annFrom === undefined ? null : resolve(flags.annFrom),
    data,
  };
  if (json) {
    printJson(plan);
    return;
  }
  const text = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));
  console.log(
    table([
      ['field', 'value'],
      ['experiment', `${exp.id} (${exp.kind}) at ${scale} scale`],
      ...Object.entries(protocol).map(([k, v]) => [k, text(v)]),
      ['runs', `${cost.runs}, ~${duration(cost.seconds)} (estimated)`],
      ['out', plan.out],
      ...(plan.report_only ? [['report only', 'yes: trains nothing']] : []),
      ...(plan.ann_from === null ? [] : [['ann from', plan.ann_from]]),
      ['data', data],
    ]),
  );
}

/** The data-set check of `src/app/reproduce/resolve-data.ts` (loaded on demand). */
type ResolveData = (typeof import('../reproduce/resolve-data.js'))['resolveData'];

/** Writes one line on stderr. */
function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The line a run's event writes on stderr. */
function eventLine(e: ReproduceEvent): string {
  const at = `[${e.experiment} ${e.index}/${e.total}] ${e.label}`;
  if (e.kind === 'skip') return `${at}: finished before, kept`;
  if (e.kind === 'start') return `${at}: training`;
  if (e.kind === 'resume') return `${at}: resuming from its last checkpoint`;
  if (e.kind === 'restart') return `${at}: interrupted before, restarting`;
  if (e.kind === 'failed') return `${at}: diverged (${e.error}); going on`;
  return `${at}: done, test accuracy ${e.test_accuracy === undefined ? '-' : pct(e.test_accuracy)}`;
}

/**
 * Runs the experiment's runs resumably in its directory under `out` (held for the command's
 * life; an interrupt keeps the finished runs), then writes its report and prints it.
 */
async function reproduce({ exp, scale, override, out }: ReproducePlan, flags: ReproduceFlags): Promise<void> {
  const t0 = performance.now();
  const expDir = experimentDir(out, exp.id);
  const interrupted = (i: { signal: string }) =>
    log(
      `stcsnn: ${i.signal === 'SIGINT' ? 'interrupted' : `stopped (${i.signal})`}; finished runs are kept: rerun the same command to resume`,
    );
  const { data, report } = await withRunDir(
    expDir,
    { kind: 'keep', what: 'experiment directory', onNotice: notice, onInterrupt: interrupted },
    async () => {
      const info = flags.reportOnly ? { name: flags.backend } : await backendFor(flags);
      log(
        `stcsnn reproduce: ${exp.id} at ${scale} scale, backend ${backendLabel(info)}, into ${experimentDir(out, exp.id)}`,
      );
      const progress = makeProgress();
      const data = await runExperiment({
        experiment: exp,
        scale,
        out,
        dataDir: flags.dataDir,
        backend: info.name,
        reportOnly: flags.reportOnly === true,
        override,
        ...(flags.annFrom === undefined
          ? {}
          : { annFrom: flags.annFrom, acceptTwinMismatch: flags.acceptTwinMismatch === true }),
        onEvent: (e) => log(eventLine(e)),
        hooks: (_x, label) => labelledEpochProgress(progress, label),
      });
      const report = await writeExperimentReport(data, {
        command: commandLine(process.argv),
        backend: info.name,
        wallSeconds: (performance.now() - t0) / 1000,
        png: flags.png === true,
      });
      return { data, report };
    },
  );
  printReport(report, data.dir, flags.json === true);
}

/** `stcsnn reproduce`'s options and their help. */
function reproduceOptions(cmd: Command): Command {
  return cmd
    .argument('[experiment]', 'experiment id (see --list)')
    .option('--list', 'list every experiment, its cost at each scale and the data it needs')
    .option('--scale <scale>', `protocol scale: ${SCALES.join(', ')}`, 'cpu')
    .option(
      '--data-dir <dir>',
      'where the data set is (for CIFAR-10 also a JPEG folder copy: train/<class>/, test/<class>/)',
    )
    .option(
      '--gradient <mask>',
      `equivalent-gradient mask of the STC runs: ${GRADIENT_MASKS.join(' or ')} (default: the experiment's: relu, the paper's, for Table 2; both for the Fig. 5 studies at cpu scale)`,
    )
    .option(
      '--learn-theta <mode>',
      `threshold mode of the STC runs: ${LEARN_THETA_MODES.join(', ')} (default: the experiment's: off, the paper's fixed thresholds)`,
    )
    .option(
      '--epochs <n>',
      "epochs of every run, STC and ANN (default: the protocol's at --scale; see --list)",
    )
    .option(
      '--seeds <n>',
      "seeds per configuration (default: the protocol's; Table 2 rows: STC and ANN each)",
    )
    .option(
      '--out <dir>',
      'output directory (default: reproduce/<experiment>-<scale>[-<gradient>][-theta-<mode>][-e<epochs>][-s<seeds>]); rerun to resume',
    )
    .option(
      '--ann-from <report.json>',
      'Table 2 rows: take the ANN twin from an earlier report.json of the same experiment and protocol instead of training it (the twin does not depend on --gradient or --learn-theta); refused, naming the field, when its runs differ in a training option (lr, batch, momentum, weight decay, schedule, augmentation, limits, epochs), the code build or the data read; the report says where the twin came from',
    )
    .option(
      '--accept-twin-mismatch',
      'with --ann-from: take a twin that differs in training options, code or data; the report lists what differs in its first lines',
    )
    .option('--report-only', 'train nothing: report the runs already under --out')
    .option(
      '--from-json <path>',
      "render the report again from a report.json alone (the run directories may be gone): same measured data, current rules; rewrites report.md and report.json in that file's folder, keeps its figures (implies --report-only)",
    )
    .option('--png', 'also write PNG figures (where a renderer is available)')
    .option(
      '--print-config',
      'print what the command would run (the protocol after the flags, runs and estimated time, output directory, where the data is) and exit; trains and writes nothing',
    );
}

/**
 * `stcsnn reproduce`: lists the experiments (`--list`), renders a report again (`--from-json`),
 * shows what would run (`--print-config`), or runs an experiment and reports it.
 */
export function reproduceCommand(): Command {
  const cmd = reproduceOptions(
    new Command('reproduce').description(
      "run one of the paper's experiments (Table 2 rows, Fig. 5 studies, Fig. 6-9 statistics) at a scale, resumably, and write a report beside the paper's numbers; --list shows them all",
    ),
  );
  withCommon(cmd);
  cmd.action(async (id: string | undefined, flags: ReproduceFlags) => {
    const json = flags.json === true;
    if (flags.list) {
      listExperiments(json, flags.dataDir === undefined ? undefined : resolve(flags.dataDir));
      return;
    }
    const exp = experimentNamed(id);
    if (flags.fromJson !== undefined) {
      rerender(exp, { ...flags, fromJson: flags.fromJson }, json);
      return;
    }
    if (flags.annFrom !== undefined && exp.kind !== 'twin')
      throw new UsageError(
        `--ann-from applies to the Table 2 rows only; ${exp.id} is a ${exp.kind} experiment`,
      );
    const scale = scaleOf(exp, flags);
    const override = overrideOf(flags);
    const out = flags.out === undefined ? defaultOut(exp.id, scale, override) : resolve(flags.out);
    const plan: ReproducePlan = { exp, scale, override, out };
    // the data is checked before the backend starts, so that a missing data set fails at once
    const { resolveData } = await import('../reproduce/resolve-data.js');
    if (flags.printConfig) {
      printPlan(plan, flags, resolveData, json);
      return;
    }
    resolveData(exp, exp.scales[scale]!, flags.dataDir);
    if (flags.annFrom !== undefined)
      await annFromReport(flags.annFrom, exp, protocolOf(exp, scale, override), {
        dataDir: flags.dataDir,
        acceptMismatch: flags.acceptTwinMismatch === true,
      });
    await reproduce(plan, flags);
  });
  return cmd;
}
