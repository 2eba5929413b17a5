/**
 * The result tables of an experiment report, as cells (`ReportTable`; `report-markdown.ts` writes them
 * into report.md, the CLI prints them): our numbers (`report-numbers.ts`) beside the paper's. Pure, from
 * report.json's data alone.
 */
import { inputRange, joules, pctOrDash, REPORT_STYLE, si, signed } from '../analysis/format.js';
import { stcbCells, stcbHeader, type StcbColumnSpec } from '../../lib/analysis/stcb-rows.js';
import { NOT_IN_TEXT, PAPER_STCB_INPUT_RANGE, type Experiment } from './experiments.js';
import type { Measured, ReportRun } from './measured.js';
import type { RenderInput, ReportTable } from './report-file.js';
import { PAPER_RUNS } from './rules.js';
import { accuracies, axisPoints, seedSummary, tStudyRuns, twinGap } from './report-numbers.js';

/** Accuracy in percent with two decimals (`89.16%`), `-` where there is none. */
const pp = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${v.toFixed(2)}%`);

const statusCell = (s: ReportRun['status']) => (s === 'missing' ? 'not run' : s);

/** The Table 2 row: ours and the paper's mean, std and best over seeds per network, and the gap. */
function twinTable(e: Experiment, r: RenderInput): ReportTable {
  const paper = e.paper;
  const stc = accuracies(r.runs, 'stc');
  const ann = accuracies(r.runs, 'ann');
  const rows: string[][] = [];
  for (const [name, xs, a] of [
    ['STC', stc, paper?.stc],
    ['ANN', ann, paper?.ann],
  ] as const) {
    const ours = seedSummary(xs);
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
  const gap = twinGap(stc, ann);
  const paperGap =
    paper?.stc.mean != null && paper?.ann.mean != null ? paper.stc.mean - paper.ann.mean : null;
  rows.push([
    'STC - ANN (mean)',
    gap === null ? '-' : signed(gap),
    paperGap === null ? NOT_IN_TEXT : signed(paperGap),
    gap !== null && paperGap !== null ? signed(gap - paperGap) : '-',
  ]);
  return {
    title: `Table 2 row: test accuracy at T = 8 over ${Math.max(stc.length, ann.length)} of ${r.protocol.seeds} seed(s) (ours) and ${PAPER_RUNS} runs (paper)`,
    header: ['quantity', 'ours', 'paper', 'ours - paper (points)'],
    rows,
  };
}

/** The STCB inputs of the STC run on the test set (`measured.stcb_test`), beside the paper's range. */
function stcbTestTable(m: Measured, range: string): ReportTable[] {
  const test = m.stcb_test;
  if (!test) return [];
  return [
    {
      title: `STCB inputs of the STC network (${test.run}, test set) beside the range the paper gives for every STCB (§4.4.1)`,
      header: ['layer', 'input range (ours)', 'saturated, x >= S (ours)', 'fire rate (ours)', 'paper'],
      rows: test.layers.map((l) => [
        l.layer,
        l.printed_range ?? inputRange(l.input_min, l.input_max),
        pctOrDash(l.saturated_share),
        l.fire_rate.toFixed(4),
        range,
      ]),
    },
  ];
}

/** The last training epoch's STCB figures per layer (log.jsonl `stcb`). */
const LAST_EPOCH_COLUMNS: readonly StcbColumnSpec[] = [
  ['layer', 'layer'],
  ['input_max', 'input max (ours)'],
  ['input_p999', 'input 99.9th percentile (ours)'],
  ['saturated', 'x >= S (ours)'],
  ['nonpositive', 'x <= 0 (ours)'],
  ['fire_rate', 'fire rate (ours)'],
  ['bn', 'batch norm before it'],
  ['gamma_mean', 'gamma, mean abs (ours)'],
  ['gamma_max', 'gamma, max abs (ours)'],
];

/** The first STCB layer's figures over the epochs, after the epoch column. */
const COURSE_COLUMNS: readonly StcbColumnSpec[] = [
  ['saturated', 'x >= S (ours)'],
  ['nonpositive', 'x <= 0 (ours)'],
  ['input_max', 'input max (ours)'],
  ['gamma_mean', 'gamma, mean abs (ours)'],
  ['gamma_max', 'gamma, max abs (ours)'],
];

/**
 * The per-epoch STCB figures of the STC run (log.jsonl `stcb`): its last epoch per layer, and the
 * course of the first STCB layer over the epochs; `-` and "not recorded" where the log has none.
 */
function stcbLogTables(m: Measured, range: string): ReportTable[] {
  const log = m.stcb_log;
  const header = [...stcbHeader(LAST_EPOCH_COLUMNS), 'paper'];
  if (!log) {
    const layers = m.stcb_test?.layers.map((l) => l.layer) ?? [];
    if (!layers.length) return [];
    return [
      {
        title: `STCB figures of the STC network (${m.stcb_test!.run}) in its last training epoch: not recorded (its log.jsonl has no \`stcb\` figures)`,
        header,
        rows: layers.map((l) => [
          l,
          ...stcbCells(undefined, LAST_EPOCH_COLUMNS.slice(1), REPORT_STYLE),
          range,
        ]),
      },
    ];
  }
  const last = log.epochs[log.epochs.length - 1];
  const tables: ReportTable[] = [
    {
      title: `STCB figures of the STC network (${log.run}) in its last training epoch (epoch ${last.epoch + 1}, log.jsonl) beside the range the paper gives (§4.4.1)`,
      header,
      rows: last.layers.map((l) => [...stcbCells(l, LAST_EPOCH_COLUMNS, REPORT_STYLE), range]),
    },
  ];
  const first = log.epochs[0].layers[0]?.layer;
  if (first !== undefined)
    tables.push({
      title: `The first STCB layer (${first}) of ${log.run} over the training epochs (log.jsonl)`,
      header: ['epoch', ...stcbHeader(COURSE_COLUMNS), 'paper'],
      rows: log.epochs.map((ep) => [
        String(ep.epoch + 1),
        ...stcbCells(
          ep.layers.find((x) => x.layer === first),
          COURSE_COLUMNS,
          REPORT_STYLE,
        ),
        `inputs ${range}`,
      ]),
    });
  return tables;
}

/** A Table 2 row's tables: the accuracies, then the STCB figures on the test set and in training. */
function twinTables(e: Experiment, r: RenderInput): ReportTable[] {
  const [lo, hi] = PAPER_STCB_INPUT_RANGE[e.dataset];
  const range = `${lo} .. ${hi}`;
  return [twinTable(e, r), ...stcbTestTable(r.measured, range), ...stcbLogTables(r.measured, range)];
}

/** A Fig. 5 study: accuracy against its axis, one column per mask. */
function sweepTable(e: Experiment, r: RenderInput): ReportTable {
  const axis = e.kind === 'sweep-theta0' ? 'theta0' : 'T';
  const other = axis === 'theta0' ? 'T' : 'theta0';
  const gradients = r.protocol.gradients;
  const per = gradients.map((g) => axisPoints(r.runs, g, axis));
  const values = [...new Set(per.flatMap((pts) => pts.map((p) => p.value)))];
  const fixedRun = r.runs.find((x) => x[other] !== null);
  const fixed = `${other} = ${fixedRun?.[other] ?? '-'}`;
  return {
    title: `Fig. 5: test accuracy against ${axis} (${fixed})`,
    header: [axis, ...gradients.map((g) => `ours (${g} mask)`), 'paper'],
    rows: values.map((v) => [
      String(v),
      ...per.map((pts) => {
        const p = pts.find((q) => q.value === v);
        return !p ? 'not run' : p.accuracy !== null ? pp(p.accuracy) : statusCell(p.status);
      }),
      NOT_IN_TEXT,
    ]),
  };
}

/** Fig. 6-9: per mask and T, fire rate, spikes, FLOPs and energy per image. */
function statsTable(r: RenderInput): ReportTable {
  const rows = r.protocol.gradients.flatMap((g) =>
    tStudyRuns(r, g).map(({ run, T, result: res }) => {
      if (!res) return [g, String(T), statusCell(run.status), '-', '-', '-', '-', '-', NOT_IN_TEXT];
      const en = res.energy;
      return [
        g,
        String(T),
        res.mean_fire_rate.toFixed(4),
        si(res.spikes_per_image),
        en ? si(en.snn_acs + en.snn_macs) : '-',
        en ? si(en.ann_macs) : '-',
        en ? joules(en.snn_energy_pj) : '-',
        en ? joules(en.ann_energy_pj) : '-',
        NOT_IN_TEXT,
      ];
    }),
  );
  return {
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
  };
}

/**
 * The result tables of a report, in the order report.md shows them.
 * @param e the experiment `r.experiment` names
 */
export function experimentTables(e: Experiment, r: RenderInput): ReportTable[] {
  return e.kind === 'twin' ? twinTables(e, r) : e.kind === 'stats-T' ? [statsTable(r)] : [sweepTable(e, r)];
}
