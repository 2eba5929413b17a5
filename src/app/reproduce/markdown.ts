/**
 * `report.md` of an experiment report, from its report.json content: the protocol, the result
 * tables, the verdicts and the rules behind them, the figures, the runs and the notes. Pure: the
 * file is written by `report.ts` (temp and rename).
 */
import { pct } from '../analysis/format.js';
import { mdTable } from '../analysis/markdown.js';
import type { LearnTheta } from '../../lib/core/config.js';
import { findExperiment } from './experiments.js';
import { thresholdWords, type ReportRun } from './measured.js';
import type { ReportFile } from './report-file.js';
import { RULES } from './rules.js';

const accPct = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : pct(v);

/** The threshold modes and masks of the STC runs, in words. */
function stcHow(runs: readonly ReportRun[]): string {
  const stc = runs.filter((r) => r.mode === 'stc');
  const masks = [...new Set(stc.flatMap((r) => (r.gradient === null ? [] : [r.gradient])))];
  const modes = [...new Set(stc.flatMap((r) => (r.learn_theta === null ? [] : [r.learn_theta])))];
  const th = modes.length ? modes.map((m) => thresholdWords(m)).join(' / ') : 'threshold mode not recorded';
  return `${masks.length ? `${masks.join(', ')} mask` : 'mask not recorded'}, ${th}`;
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
    ...r.tables.flatMap((t) => [`**${t.title}**`, '', mdTable(t.header, t.rows), '']),
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
    mdTable(
      [
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
      r.runs.map((x) => [
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
    ),
    '',
    ...(r.notes.length ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
