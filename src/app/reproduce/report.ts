/**
 * The report of a reproduction: `report.md` (our numbers beside the paper's, the difference, a
 * plain verdict per claim computed from our data, the protocol, command, machine and wall time
 * per run), `report.json` (the same tables and verdicts, and the measured data they come from:
 * `runs` and `measured`, see `measured.ts`) and `figures/*.svg` (`figures.ts`).
 *
 * Tables, verdicts and notes are a pure function of report.json's data ({@link renderReport});
 * the rules are in `rules.ts`. So a report renders again from its report.json alone
 * ({@link rerenderReport}, `stcsnn reproduce EXP --from-json PATH`), its figures kept.
 *
 * Words: "best over seeds" is the highest final test accuracy among a row's seeds (the paper's
 * "best" of 5 runs); "best epoch" is a run's highest test accuracy over its epochs. Nothing else
 * is called best.
 */
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { writeFigure, type WrittenFigure } from '../analysis/charts.js';
import { inputRange, pct, pctOrDash, joules, si } from '../analysis/format.js';
import { readRunDir } from '../analysis/rundir.js';
import { readEpochLog } from '../rundir/log-file.js';
import { ConfigError } from '../../lib/core/config.js';
import { saturatedFraction } from '../../lib/nn/stats.js';
import { writeFileAtomic, writeJsonAtomic } from '../../lib/util/atomic.js';
import { makeDirs } from '../../lib/util/fs.js';
import { findExperiment, NOT_IN_TEXT, PAPER_STCB_INPUT_RANGE, type Experiment } from './experiments.js';
import { figures, pointResult } from './figures.js';
import { REPORT_FILES, reportFile } from './layout.js';
import type { LearnTheta } from '../../lib/core/config.js';
import { stcbEpochs, thresholdWords, type Measured, type ReportRun, type StcbEpoch } from './measured.js';
import { readReportFile, REPORT_FORMAT, type ReportFile, type ReportTable } from './report-file.js';
import {
  aboveVerdict,
  collapseVerdict,
  meanStd,
  paperAccuracyVerdict,
  PAPER_RUNS,
  RULES,
  runawayNote,
  signed,
  statsVerdicts,
  twinGapVerdict,
  type AxisPoint,
  type Verdict,
} from './rules.js';
import type { ExperimentData, RunRow } from './runner.js';

export { NOT_IN_TEXT } from './experiments.js';
export { RUNAWAY_FACTOR, type Verdict } from './rules.js';
export type { ReportFile, ReportTable } from './report-file.js';

/** Where and how the reproduction ran. */
export interface ReportContext {
  /** The command that produced the report, as typed. */
  readonly command: string;
  /** The backend of this invocation. */
  readonly backend: string;
  /** Wall time of this invocation in seconds (training of the runs it trained, plus reading). */
  readonly wallSeconds: number;
  /** Write PNG beside SVG where a renderer is available. */
  readonly png?: boolean;
}

const pp = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(2)}%`);
const accPct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : pct(v);
const big = (v: number) => (Math.abs(v) >= 1e4 || !Number.isFinite(v) ? v.toExponential(2) : v.toFixed(2));

/** The measured data of an experiment's run directories (see `measured.ts`). */
export function measureExperiment(d: ExperimentData): { runs: RunRow[]; measured: Measured } {
  const runs = d.twin ? [...d.twin.stc.runs, ...d.twin.ann.runs] : (d.sweeps ?? []).flatMap((s) => s.runs);
  let stcbTest: Measured['stcb_test'] = null;
  let stcbLog: Measured['stcb_log'] = null;
  const stc = d.twin?.stc.runs.find((r) => r.status === 'done');
  if (stc) {
    const stats = readRunDir(stc.dir).result?.spike_stats ?? [];
    if (stats.length)
      stcbTest = {
        run: stc.label,
        layers: stats.map((s) => ({
          layer: s.layer,
          input_min: s.inputMin,
          input_max: s.inputMax,
          saturated_share: saturatedFraction(s),
          fire_rate: s.fireRate,
        })),
      };
    const epochs = stcbEpochs(readEpochLog(stc.dir));
    if (epochs.length) stcbLog = { run: stc.label, epochs };
  }
  const points = (d.experiment.kind === 'stats-T' ? (d.sweeps ?? []) : []).flatMap((s) =>
    s.runs.flatMap((r) => {
      const res = r.theta0 !== null && r.T !== null ? pointResult(s, r.theta0, r.T) : null;
      return res ? [{ run: r.label, result: res }] : [];
    }),
  );
  return {
    runs,
    measured: { stcb_test: stcbTest, stcb_log: stcbLog, points, protocol_diffs: protocolDiffs(d, runs) },
  };
}

/** Runs whose configuration differs from the experiment's protocol (adopted runs), one line each. */
function protocolDiffs(d: ExperimentData, runs: readonly RunRow[]): string[] {
  const p = d.protocol;
  const want: Record<string, unknown> = {
    arch: p.arch,
    width: p.width,
    epochs: p.epochs,
    lrSchedule: p.lrSchedule,
    dataset: d.data.dataset,
    limitTrain: p.limitTrain,
    limitTest: p.limitTest,
  };
  const notes: string[] = [];
  for (const r of runs) {
    if (!r.config) continue;
    const diffs = Object.entries(want)
      .filter(([k, v]) => JSON.stringify(r.config![k]) !== JSON.stringify(v))
      .map(
        ([k, v]) =>
          `${k} ${JSON.stringify(r.config![k]) ?? 'unset'} (protocol: ${JSON.stringify(v) ?? 'unset'})`,
      );
    if (diffs.length)
      notes.push(
        `${r.label} (${relative(d.dir, r.dir) || '.'}) differs from the protocol: ${diffs.join(', ')}`,
      );
  }
  return notes;
}

/** What {@link renderReport} reads: report.json's identifying fields and measured data. */
export type RenderInput = Pick<ReportFile, 'experiment' | 'scale' | 'protocol' | 'runs' | 'measured'>;

/** Tables, verdicts and notes of a report. */
export interface Rendered {
  readonly tables: ReportTable[];
  readonly verdicts: Verdict[];
  readonly notes: string[];
}

const accuracies = (runs: readonly ReportRun[], mode: 'stc' | 'ann') =>
  runs.flatMap((r) =>
    r.mode === mode && r.status === 'done' && r.test_accuracy !== null ? [100 * r.test_accuracy] : [],
  );

/** The threshold modes and masks of the STC runs, in words. */
function stcHow(runs: readonly ReportRun[]): string {
  const stc = runs.filter((r) => r.mode === 'stc');
  const masks = [...new Set(stc.flatMap((r) => (r.gradient === null ? [] : [r.gradient])))];
  const modes = [...new Set(stc.flatMap((r) => (r.learn_theta === null ? [] : [r.learn_theta])))];
  const th = modes.length ? modes.map((m) => thresholdWords(m)).join(' / ') : 'threshold mode not recorded';
  return `${masks.length ? `${masks.join(', ')} mask` : 'mask not recorded'}, ${th}`;
}

function runHow(r: ReportRun | undefined): string {
  if (!r) return 'mask and threshold mode not recorded';
  const th = r.learn_theta === null ? 'threshold mode not recorded' : thresholdWords(r.learn_theta);
  return `${r.gradient ?? 'unrecorded'} mask, ${th}`;
}

function twinRender(e: Experiment, r: RenderInput): Rendered {
  const paper = e.paper;
  const stc = accuracies(r.runs, 'stc');
  const ann = accuracies(r.runs, 'ann');
  const rows: string[][] = [];
  for (const [name, xs, a] of [
    ['STC', stc, paper?.stc],
    ['ANN', ann, paper?.ann],
  ] as const) {
    const m = xs.length ? meanStd(xs) : null;
    const ours = {
      mean: m?.mean ?? null,
      stddev: m && m.n > 1 ? m.std : null,
      best: m ? Math.max(...xs) : null,
    };
    for (const k of ['mean', 'stddev', 'best'] as const) {
      const o = ours[k];
      const p = a?.[k] ?? null;
      rows.push([
        `${name} ${k === 'stddev' ? 'std' : k === 'best' ? 'best over seeds' : k}`,
        pp(o),
        p === null ? NOT_IN_TEXT : pp(p),
        o !== null && p !== null ? signed(o - p) : '-',
      ]);
    }
  }
  const gap = stc.length && ann.length ? meanStd(stc).mean - meanStd(ann).mean : null;
  const paperGap =
    paper?.stc.mean != null && paper?.ann.mean != null ? paper.stc.mean - paper.ann.mean : null;
  rows.push([
    'STC - ANN (mean)',
    gap === null ? '-' : signed(gap),
    paperGap === null ? NOT_IN_TEXT : signed(paperGap),
    gap !== null && paperGap !== null ? signed(gap - paperGap) : '-',
  ]);
  const tables: ReportTable[] = [
    {
      title: `Table 2 row: test accuracy at T = 8 over ${Math.max(stc.length, ann.length)} of ${r.protocol.seeds} seed(s) (ours) and ${PAPER_RUNS} runs (paper)`,
      header: ['quantity', 'ours', 'paper', 'ours - paper (points)'],
      rows,
    },
  ];
  const [lo, hi] = PAPER_STCB_INPUT_RANGE[e.dataset];
  const range = `${lo} .. ${hi}`;
  const test = r.measured.stcb_test;
  if (test)
    tables.push({
      title: `STCB inputs of the STC network (${test.run}, test set) beside the range the paper gives for every STCB (§4.4.1)`,
      header: ['layer', 'input range (ours)', 'saturated, x >= S (ours)', 'fire rate (ours)', 'paper'],
      rows: test.layers.map((l) => [
        l.layer,
        l.printed_range ?? inputRange(l.input_min, l.input_max),
        pctOrDash(l.saturated_share),
        l.fire_rate.toFixed(4),
        range,
      ]),
    });
  tables.push(...stcbLogTables(r.measured, range));
  const verdicts: Verdict[] = [twinGapVerdict({ claim: e.claim, stc, ann, paper: paper ?? undefined })];
  if (paper) {
    const v = paperAccuracyVerdict({
      stc,
      paper: paper.stc,
      scale: r.scale,
      budget: `width ${r.protocol.width}, ${r.protocol.epochs} epoch(s), ${r.protocol.dataset}`,
    });
    if (v) verdicts.push(v);
  }
  const notes: string[] = [];
  const mask = r.protocol.gradients[0];
  if (mask !== 'relu')
    notes.push(
      `the STC runs used the ${mask} equivalent-gradient mask (--gradient ${mask}), not the paper's ReLU gradient (docs/semantics.md §1.4)`,
    );
  const learned = r.protocol.learnTheta ?? 'off';
  if (learned !== 'off')
    notes.push(
      `the STC runs learned their thresholds per ${learned} (--learn-theta ${learned}), not the paper's fixed theta0 (docs/semantics.md §1.5)`,
    );
  for (const run of r.runs)
    if (run.from !== undefined)
      notes.push(
        `${run.label} was not trained for this report: it is the run of the same experiment and protocol in ${run.from} (--ann-from), measured there`,
      );
  const logRun = r.measured.stcb_log;
  const noteRun = test?.run ?? logRun?.run;
  if (noteRun) {
    const note = runawayNote({
      run: noteRun,
      test: test?.layers ?? [],
      epochs: logRun?.run === noteRun ? logRun.epochs : [],
      range: [lo, hi],
      how: runHow(r.runs.find((x) => x.label === noteRun)),
    });
    if (note) notes.push(note);
  }
  return { tables, verdicts, notes };
}

/**
 * The per-epoch STCB figures of the STC run (log.jsonl `stcb`): its last epoch per layer, and the
 * course of the first STCB layer over the epochs; `-` and "not recorded" where the log has none.
 */
function stcbLogTables(m: Measured, range: string): ReportTable[] {
  const log = m.stcb_log;
  const header = [
    'layer',
    'input max (ours)',
    'input 99.9th percentile (ours)',
    'x >= S (ours)',
    'x <= 0 (ours)',
    'fire rate (ours)',
    'batch norm before it',
    'gamma, mean abs (ours)',
    'gamma, max abs (ours)',
    'paper',
  ];
  if (!log) {
    const layers = m.stcb_test?.layers.map((l) => l.layer) ?? [];
    if (!layers.length) return [];
    return [
      {
        title: `STCB figures of the STC network (${m.stcb_test!.run}) in its last training epoch: not recorded (its log.jsonl has no \`stcb\` figures)`,
        header,
        rows: layers.map((l) => [l, '-', '-', '-', '-', '-', '-', '-', '-', range]),
      },
    ];
  }
  const last: StcbEpoch = log.epochs[log.epochs.length - 1];
  const tables: ReportTable[] = [
    {
      title: `STCB figures of the STC network (${log.run}) in its last training epoch (epoch ${last.epoch + 1}, log.jsonl) beside the range the paper gives (§4.4.1)`,
      header,
      rows: last.layers.map((l) => [
        l.layer,
        big(l.input_max),
        big(l.input_p999),
        pct(l.saturated_share),
        pct(l.nonpositive_share),
        l.fire_rate.toFixed(4),
        l.bn?.layer ?? '-',
        l.bn ? big(l.bn.gamma_abs_mean) : '-',
        l.bn ? big(l.bn.gamma_abs_max) : '-',
        range,
      ]),
    },
  ];
  const first = log.epochs[0].layers[0]?.layer;
  if (first !== undefined)
    tables.push({
      title: `The first STCB layer (${first}) of ${log.run} over the training epochs (log.jsonl)`,
      header: [
        'epoch',
        'x >= S (ours)',
        'x <= 0 (ours)',
        'input max (ours)',
        'gamma, mean abs (ours)',
        'gamma, max abs (ours)',
        'paper',
      ],
      rows: log.epochs.map((ep) => {
        const l = ep.layers.find((x) => x.layer === first);
        return [
          String(ep.epoch + 1),
          l ? pct(l.saturated_share) : '-',
          l ? pct(l.nonpositive_share) : '-',
          l ? big(l.input_max) : '-',
          l?.bn ? big(l.bn.gamma_abs_mean) : '-',
          l?.bn ? big(l.bn.gamma_abs_max) : '-',
          `inputs ${range}`,
        ];
      }),
    });
  return tables;
}

/** A sweep's points along its axis, for one mask, in the runs' order. */
function axisPoints(runs: readonly ReportRun[], gradient: string, axis: 'theta0' | 'T'): AxisPoint[] {
  return runs
    .filter((r) => r.mode === 'stc' && r.gradient === gradient && r[axis] !== null)
    .map((r) => ({
      value: r[axis]!,
      status: r.status,
      accuracy: r.status === 'done' && r.test_accuracy !== null ? 100 * r.test_accuracy : null,
    }));
}

const statusCell = (s: ReportRun['status']) => (s === 'missing' ? 'not run' : s);

function sweepRender(e: Experiment, r: RenderInput): Rendered {
  const axis = e.kind === 'sweep-theta0' ? 'theta0' : 'T';
  const other = axis === 'theta0' ? 'T' : 'theta0';
  const gradients = r.protocol.gradients;
  const per = gradients.map((g) => ({ g, pts: axisPoints(r.runs, g, axis) }));
  const values = [...new Set(per.flatMap((x) => x.pts.map((p) => p.value)))];
  const fixedRun = r.runs.find((x) => x[other] !== null);
  const fixed = `${other} = ${fixedRun?.[other] ?? '-'}`;
  const table: ReportTable = {
    title: `Fig. 5: test accuracy against ${axis} (${fixed})`,
    header: [axis, ...gradients.map((g) => `ours (${g} mask)`), 'paper'],
    rows: values.map((v) => [
      String(v),
      ...per.map(({ pts }) => {
        const p = pts.find((q) => q.value === v);
        return !p ? 'not run' : p.accuracy !== null ? pp(p.accuracy) : statusCell(p.status);
      }),
      NOT_IN_TEXT,
    ]),
  };
  const verdicts = per.flatMap(({ g, pts }) => {
    const spec = { axis, tag: `${g} mask` } as const;
    const above = aboveVerdict(pts, spec);
    return [collapseVerdict(pts, spec), ...(above ? [above] : [])];
  });
  return { tables: [table], verdicts, notes: [] };
}

function statsRender(r: RenderInput): Rendered {
  const rows: string[][] = [];
  const verdicts: Verdict[] = [];
  const results = new Map(r.measured.points.map((p) => [p.run, p.result]));
  for (const g of r.protocol.gradients) {
    const runs = r.runs.filter((x) => x.mode === 'stc' && x.gradient === g && x.T !== null);
    const done = runs.flatMap((x) => {
      const res = results.get(x.label);
      return res && x.status === 'done' ? [{ T: x.T!, r: res }] : [];
    });
    for (const x of runs) {
      const res = results.get(x.label);
      if (!res || x.status !== 'done') {
        rows.push([g, String(x.T), statusCell(x.status), '-', '-', '-', '-', '-', NOT_IN_TEXT]);
        continue;
      }
      const en = res.energy;
      rows.push([
        g,
        String(x.T),
        res.mean_fire_rate.toFixed(4),
        si(res.spikes_per_image),
        en ? si(en.snn_acs + en.snn_macs) : '-',
        en ? si(en.ann_macs) : '-',
        en ? joules(en.snn_energy_pj) : '-',
        en ? joules(en.ann_energy_pj) : '-',
        NOT_IN_TEXT,
      ]);
    }
    verdicts.push(...statsVerdicts(done, `${g} mask`));
  }
  return {
    tables: [
      {
        title: 'Fig. 6-9: fire rate, spikes, FLOPs and energy per image against T',
        header: [
          'gradient',
          'T',
          'mean fire rate (ours)',
          'spikes/image (ours)',
          'STCSNN FLOPs, ACs+MACs (ours)',
          'ANN FLOPs, MACs (ours)',
          'STCSNN energy (ours)',
          'ANN energy (ours)',
          'paper',
        ],
        rows,
      },
    ],
    verdicts,
    notes: [],
  };
}

/**
 * Tables, verdicts and notes of a report from report.json's data alone (no file is read).
 * @throws ConfigError for an experiment id that is not known
 */
export function renderReport(r: RenderInput): Rendered {
  const e = findExperiment(r.experiment);
  if (!e) throw new ConfigError(`unknown experiment '${r.experiment}'`);
  const body =
    e.kind === 'twin' ? twinRender(e, r) : e.kind === 'stats-T' ? statsRender(r) : sweepRender(e, r);
  const notes = [...r.measured.protocol_diffs, ...body.notes];
  const diverged = r.runs.filter((x) => x.status === 'diverged');
  if (diverged.length)
    notes.push(
      `${diverged.length} of ${r.runs.length} runs diverged (stopped on a non-finite loss or gradient; no accuracy): ${diverged.map((x) => x.label).join(', ')}`,
    );
  const missing = r.runs.filter((x) => x.status === 'missing');
  if (missing.length)
    notes.push(
      `${missing.length} of ${r.runs.length} runs have not finished: ${missing.map((x) => x.label).join(', ')}`,
    );
  return { tables: body.tables, verdicts: body.verdicts, notes };
}

function mdTable(t: ReportTable): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${t.header.map(esc).join(' | ')} |`,
    `| ${t.header.map(() => '---').join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

const thresholdCell = (m: LearnTheta | null) =>
  m === null ? '-' : m === 'off' ? 'fixed' : `learned per ${m}`;

/** `report.md` of a report. */
export function reportMarkdown(r: ReportFile): string {
  const p = r.protocol;
  const protocolLine = `${p.arch}, width ${p.width}, ${p.epochs} epoch(s), ${p.lrSchedule} schedule, ${p.seeds} seed(s)${p.limitTrain ? `, first ${p.limitTrain} training / ${p.limitTest ?? 'all'} test images` : ''}${p.timeBudget ? `, time budget ${p.timeBudget} s per run` : ''}; STC runs: ${stcHow(r.runs)}`;
  const m = r.machine;
  const kind = findExperiment(r.experiment)?.kind;
  return [
    `# ${r.title}`,
    '',
    `${r.source}. The paper's claim: "${r.claim}".`,
    '',
    `- scale: **${r.scale}** (${protocolLine})`,
    `- data: ${r.data}`,
    `- command: \`${r.command}\``,
    ...(r.rerendered_by
      ? [`- rendered again from report.json (same measured data, current rules): \`${r.rerendered_by}\``]
      : []),
    `- machine: ${m.cores} cores (${m.cpu}), ${m.platform}, Node ${m.node}, backend ${m.backend} (each run's backend is in the runs table)`,
    `- wall time of the invocation that wrote the report first: ${r.wall_seconds.toFixed(1)} s`,
    '',
    '## Results',
    '',
    ...r.tables.flatMap((t) => [`**${t.title}**`, '', mdTable(t), '']),
    '## Verdicts',
    '',
    ...r.verdicts.map((v) => `- ${v.claim}: ${v.text}`),
    '',
    `Rules (\`src/app/reproduce/rules.ts\`): ${(kind ? RULES[kind] : []).join('; ')}.`,
    '',
    '## Figures',
    '',
    ...r.figures.flatMap((f) => [`![${f.caption}](${f.svg})`, '', `*${f.caption}*`, '']),
    '## Runs',
    '',
    mdTable({
      title: 'runs',
      header: [
        'run',
        'status',
        'test accuracy (final)',
        "best epoch's test accuracy",
        'epochs',
        'train time (s)',
        'mask',
        'thresholds',
        'backend',
        'directory',
      ],
      rows: r.runs.map((x) => [
        x.label,
        x.status,
        accPct(x.test_accuracy),
        accPct(x.best_test_accuracy),
        x.epochs === null ? '-' : String(x.epochs),
        x.train_seconds === null ? '-' : x.train_seconds.toFixed(1),
        x.gradient ?? '-',
        thresholdCell(x.learn_theta),
        x.backend ?? '-',
        x.dir,
      ]),
    }),
    '',
    ...(r.notes.length ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}

function write(dir: string, report: ReportFile): void {
  writeFileAtomic(reportFile(dir, 'markdown'), reportMarkdown(report));
  writeJsonAtomic(reportFile(dir, 'json'), report);
}

function machineNow(backend: string): ReportFile['machine'] {
  const cpu = cpus();
  return {
    cores: cpu.length,
    cpu: cpu[0]?.model ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    backend,
  };
}

/**
 * Writes `report.md`, `report.json` and `figures/*.svg` into the experiment's directory.
 * @returns the report's content
 */
export async function writeExperimentReport(d: ExperimentData, ctx: ReportContext): Promise<ReportFile> {
  const e = d.experiment;
  const { runs: rows, measured } = measureExperiment(d);
  const runs: ReportRun[] = rows.map(({ config: _c, ...r }) => ({
    ...r,
    dir: relative(d.dir, r.dir) || '.',
    ...(r.from === undefined ? {} : { from: relative(d.dir, r.from) }),
  }));
  const input: RenderInput = { experiment: e.id, scale: d.scale, protocol: d.protocol, runs, measured };
  const { tables, verdicts, notes } = renderReport(input);
  makeDirs(join(d.dir, REPORT_FILES.figures));
  const written: WrittenFigure[] = [];
  for (const f of figures(d))
    written.push(await writeFigure(join(d.dir, REPORT_FILES.figures), f, { png: ctx.png === true }));
  const report: ReportFile = {
    format: REPORT_FORMAT,
    experiment: e.id,
    title: e.title,
    source: e.source,
    scale: d.scale,
    claim: e.claim,
    protocol: d.protocol,
    data: d.data.copy,
    command: ctx.command,
    machine: machineNow(ctx.backend),
    wall_seconds: ctx.wallSeconds,
    tables,
    verdicts,
    figures: written.map((f) => ({ name: f.name, caption: f.caption, svg: relative(d.dir, f.svg) })),
    runs,
    measured,
    notes,
  };
  write(d.dir, report);
  return report;
}

/**
 * Renders a report again from its `report.json` alone (the run directories may be gone): the
 * same measured data, the current rules; `report.md` and `report.json` are rewritten beside it,
 * its figures kept. An older report.json is converted first (`report-file.ts`).
 * @throws ConfigError (one line naming the file) for a missing, malformed or foreign report.json
 */
export function rerenderReport(path: string, experiment: string, command: string): ReportFile {
  const old = readReportFile(path, experiment);
  const e = findExperiment(experiment);
  if (!e) throw new ConfigError(`unknown experiment '${experiment}'`);
  const { tables, verdicts, notes } = renderReport(old);
  const report: ReportFile = {
    format: REPORT_FORMAT,
    experiment: old.experiment,
    title: e.title,
    source: e.source,
    scale: old.scale,
    claim: e.claim,
    protocol: old.protocol,
    data: old.data,
    command: old.command,
    rerendered_by: command,
    machine: old.machine,
    wall_seconds: old.wall_seconds,
    tables,
    verdicts,
    figures: old.figures,
    runs: old.runs,
    measured: old.measured,
    notes,
  };
  write(dirname(path), report);
  return report;
}
