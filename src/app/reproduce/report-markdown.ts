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
import { experimentCautions } from './verdicts.js';

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

/** `value (n runs)` for each distinct value, `not recorded (n runs)` for the runs without one. */
function distinct(runs: readonly ReportRun[], of: (r: ReportRun) => string | null): string {
  const counts = new Map<string, number>();
  for (const r of runs) {
    const v = of(r) ?? 'not recorded';
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts].map(([v, n]) => `${v} (${n} run${n === 1 ? '' : 's'})`).join('; ');
}

const short = (h: string | null) => (h === null ? 'none' : h.replace(/^sha256:/, '').slice(0, 12));

/**
 * The header lines of what made the runs, from the runs themselves (their recorded provenance,
 * `rundir/provenance.ts`): code version, machine, data, and training time per network (each
 * run's summed over its resumes). A run without a record says "not recorded".
 */
export function provenanceLines(runs: readonly ReportRun[]): string[] {
  const started = runs.filter((r) => r.status !== 'missing' || r.provenance);
  if (!started.length) return ['- runs: none has started'];
  const code = distinct(started, (r) =>
    r.provenance
      ? `${r.provenance.commit?.slice(0, 7) ?? 'no commit'}${r.provenance.modified ? '+modified' : ''} build ${short(r.provenance.dist_sha256)}`
      : null,
  );
  const machine = distinct(started, (r) =>
    r.provenance
      ? `${r.provenance.cpu}, backend ${r.provenance.backend}${r.provenance.threads === null ? '' : `, ${r.provenance.threads} thread(s)`}${r.provenance.precision === 'fp32' ? '' : `, ${r.provenance.precision}`}`
      : null,
  );
  const data = distinct(started, (r) =>
    r.provenance
      ? `files ${short(r.provenance.data_files_sha256)}, labels ${short(r.provenance.labels_sha256)}`
      : null,
  );
  const changed = started.filter((r) => r.provenance && r.provenance.changed_since_start.length);
  const time = (['stc', 'ann'] as const).flatMap((mode) => {
    const xs = started.filter((r) => r.mode === mode);
    if (!xs.length) return [];
    const t = xs.flatMap((r) => (r.train_seconds === null ? [] : [r.train_seconds]));
    const sum = t.reduce((a, b) => a + b, 0);
    return [
      t.length
        ? `${mode.toUpperCase()} ${sum.toFixed(0)} s over ${t.length} run(s) (mean ${(sum / t.length).toFixed(0)} s)${t.length < xs.length ? `, ${xs.length - t.length} not recorded` : ''}`
        : `${mode.toUpperCase()} not recorded`,
    ];
  });
  return [
    `- code of the runs: ${code}`,
    `- machine of the runs: ${machine}`,
    `- data the runs read: ${data}`,
    ...(changed.length
      ? [
          `- changed by a resume: ${changed.map((r) => `${r.label} (${r.provenance!.changed_since_start.join(', ')})`).join('; ')}`,
        ]
      : []),
    `- training time (each run's summed over its resumes): ${time.join('; ')}`,
  ];
}

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
    ...experimentCautions(kind, r.runs).map((c) => `> **Caution:** ${c}.\n`),
    `- scale: **${r.scale}** (${protocolLine})`,
    `- data: ${r.data}`,
    `- command: \`${r.command}\``,
    ...(r.rerendered_by
      ? [`- rendered again from report.json (same measured data, current rules): \`${r.rerendered_by}\``]
      : []),
    ...provenanceLines(r.runs),
    `- the invocation that wrote the report first: ${m.cores} cores (${m.cpu}), ${m.platform}, Node ${m.node}, backend ${m.backend}, ${r.wall_seconds.toFixed(1)} s wall (it trains nothing with --report-only)`,
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
