/** The report of one run directory: configuration, results, curves, the runaway monitor, spikes, energy. */
import { RUNAWAY_P999_FACTOR, type StcbFigures } from '../../lib/train/monitor.js';
import { curvePoints, trainingCurves } from './charts.js';
import { pct } from './format.js';
import { mdTable, type MarkdownDoc } from './markdown.js';
import { describe, spikeSection, tryEnergySection, type EnergyOptions } from './report-sections.js';
import type { RunDir } from './rundir.js';
import { MONITOR_COLUMNS, MONITOR_STYLE, stcbCells, stcbHeader } from '../../lib/analysis/stcb-rows.js';
import { mostSaturated } from './summary.js';

function configTable(run: RunDir): string {
  const c = run.config;
  const stc = (c.stc ?? {}) as Record<string, unknown>;
  const keys: [string, unknown][] = [
    ['dataset', c.dataset],
    ['architecture', c.arch],
    ['mode', c.mode],
    ['width', c.width],
    ['T', stc.T ?? c.T],
    ['theta0', stc.theta0 ?? c.theta0],
    ['tau', stc.tau ?? c.tau],
    ['threshold schedule', stc.schedule ?? c.schedule],
    ['epochs', c.epochs],
    ['batch size', c.batchSize],
    ['learning rate', c.lr],
    ['lr schedule', c.lrSchedule],
    ['seed', c.seed],
  ];
  return mdTable(
    ['setting', 'value'],
    [...keys.filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])],
  );
}

/**
 * The runaway monitor's section of a run report (log.jsonl `stcb`, `warning`): the run's warning,
 * the last epoch's figures per STCB layer, and per epoch the layer with the largest
 * `p99.9 / S`; "not recorded" for logs written before the monitor.
 */
function monitorSection(b: MarkdownDoc, run: RunDir): void {
  b.push('## Saturation of the STCB inputs (runaway monitor)', '');
  const epochs = run.log.filter(
    (m): m is typeof m & { stcb: StcbFigures[] } => Array.isArray(m.stcb) && m.stcb.length > 0,
  );
  if (!epochs.length) {
    b.push('Not recorded (the log predates the runaway monitor, or no epoch has finished).', '');
    return;
  }
  const warned = run.log.find((m) => typeof m.warning === 'string');
  b.push(
    warned
      ? `**Warning (epoch ${warned.epoch + 1}):** ${warned.warning}`
      : `No runaway: no layer's STEB input reached ${RUNAWAY_P999_FACTOR} x S at its 99.9th percentile in any epoch.`,
    '',
  );
  const last = epochs[epochs.length - 1];
  b.push(
    `Per STCB layer at the end of epoch ${last.epoch + 1}, on the first ${last.stcb[0].samples} test samples (docs/reliability.md, "Saturation runaway"): the STEB input's max and 99.9th percentile against the saturation level \`S = sum_t theta(t)\` (in units of theta0 for learned thresholds), its shares at or above S and at or below 0, the fire rate, and the batch norm that feeds the layer with its mean and max |gamma|.`,
    '',
    mdTable(
      stcbHeader(MONITOR_COLUMNS),
      last.stcb.map((f) => stcbCells(f, MONITOR_COLUMNS, MONITOR_STYLE)),
    ),
    '',
  );
  if (epochs.length > 1) {
    const worstColumns = MONITOR_COLUMNS.filter(([c]) =>
      ['layer', 'p999_over_S', 'saturated', 'bn', 'gamma_max'].includes(c),
    );
    b.push(
      'Per epoch, the layer with the largest 99.9th percentile against S:',
      '',
      mdTable(
        ['epoch', ...stcbHeader(worstColumns)],
        epochs.map((m) => [
          String(m.epoch + 1),
          ...stcbCells(mostSaturated(m.stcb), worstColumns, MONITOR_STYLE),
        ]),
      ),
      '',
    );
  }
}

/**
 * Writes a run's report into `b`.
 * @returns the run's directory when it has not finished, else nothing
 */
export function runReport(b: MarkdownDoc, run: RunDir, opts: EnergyOptions): string[] {
  b.push(`# Run report`, '', `\`${run.dir}\`: ${describe(run)}`, '');
  b.push('## Configuration', '', configTable(run), '');
  b.push('## Results', '');
  const missing: string[] = [];
  if (run.result) {
    const r = run.result;
    const rows = [
      ['final test accuracy', pct(r.test_accuracy)],
      [
        'best test accuracy',
        `${pct(r.best_test_accuracy ?? NaN)}${typeof r.best_epoch === 'number' ? ` (epoch ${r.best_epoch + 1})` : ''}`,
      ],
      ['epochs', String(run.log.length)],
    ];
    if (typeof r.train_seconds === 'number') rows.push(['training time', `${r.train_seconds.toFixed(1)} s`]);
    if (typeof r.params === 'number') rows.push(['parameters', r.params.toLocaleString('en-US')]);
    b.push(mdTable(['metric', 'value'], [...rows]), '');
  } else {
    missing.push(run.dir);
    b.push(
      `The run has not finished (no \`result.json\`): ${run.log.length} epoch(s) logged.${run.log.length ? ` Last test accuracy ${pct(run.log[run.log.length - 1].test_accuracy)}.` : ''}`,
      '',
    );
  }
  if (run.log.length) b.figure(trainingCurves(curvePoints(run.log, 'run'), describe(run)));
  if (run.summary.mode === 'stc') monitorSection(b, run);
  const stats = run.result?.spike_stats;
  if (Array.isArray(stats) && stats.length) {
    spikeSection(b, stats, describe(run));
    tryEnergySection(b, run, stats, opts, 'Spike counts recorded on the test set.', describe(run));
  } else if (run.result) {
    b.push('## Spike statistics', '', 'None recorded (an ANN run, or evaluated without statistics).', '');
  }
  return missing;
}
