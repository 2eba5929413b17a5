/**
 * The measured data of an experiment's run directories, as report.json keeps it (`runs` and
 * `measured`, see `measured.ts`): read from `result.json`, `log.jsonl` and the sweeps' results.
 */
import { relative } from 'node:path';
import { readRunDir } from '../analysis/rundir.js';
import { readEpochLog } from '../rundir/log-file.js';
import { saturatedFraction } from '../../lib/nn/stats.js';
import { pointResult } from './figures.js';
import { stcbEpochs, type Measured } from './measured.js';
import type { ExperimentData, RunRow } from './runner.js';

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
