/**
 * The report of a reproduction: `report.md` (our numbers beside the paper's, the difference, a
 * plain verdict per claim computed from our data, the protocol, command, machine and wall time
 * per run), `report.json` (the same tables and verdicts, and the measured data they come from:
 * `runs` and `measured`, see `measured.ts`) and `figures/*.svg` (`figures.ts`).
 *
 * This module reads the run directories (`measure.ts`) and writes the files (temp and rename).
 * Tables, verdicts and notes are a pure function of report.json's data (`render.ts`: the tables
 * `tables.ts`, the verdicts and notes `verdicts.ts` by the rules of `rules.ts`, the numbers
 * `report-numbers.ts`); report.md is `report-markdown.ts`. So a report renders again from its
 * report.json alone ({@link rerenderReport}, `stcsnn reproduce EXP --from-json PATH`), its
 * figures kept.
 *
 * Words: "best over seeds" is the highest final test accuracy among a row's seeds (the paper's
 * "best" of 5 runs); "best epoch" is a run's highest test accuracy over its epochs. Nothing else
 * is called best.
 */
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { writeFigure, type WrittenFigure } from '../analysis/charts.js';
import { ConfigError } from '../../lib/core/config.js';
import { writeFileAtomic, writeJsonAtomic } from '../../lib/util/atomic.js';
import { makeDirs } from '../../lib/util/fs.js';
import { escapeControl } from '../../lib/util/text.js';
import { findExperiment } from './experiments.js';
import { figures } from './figures.js';
import { REPORT_FILES, reportFile } from './layout.js';
import { reportMarkdown } from './report-markdown.js';
import { measureExperiment } from './measure.js';
import type { ReportRun } from './measured.js';
import { renderReport, type RenderInput } from './render.js';
import { readReportFile, REPORT_FORMAT, type ReportFile } from './report-file.js';
import type { ExperimentData } from './runner.js';

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

function write(dir: string, report: ReportFile): void {
  writeFileAtomic(reportFile(dir, 'markdown'), escapeControl(reportMarkdown(report), '\n'));
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
