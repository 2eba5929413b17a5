/**
 * The verdicts and notes of an experiment report: the rules of `rules.ts` applied to report.json's
 * data alone (`runs`, `measured`; the numbers from `report-numbers.ts`). Pure: no file is read, so a
 * report judges the same whether written from its run directories or rendered again from its
 * report.json (`stcsnn reproduce EXP --from-json PATH`).
 */
import { PAPER_STCB_INPUT_RANGE, type Experiment } from './experiments.js';
import { thresholdWords, type ReportRun } from './measured.js';
import type { RenderInput } from './report-file.js';
import {
  aboveVerdict,
  collapseVerdict,
  paperAccuracyVerdict,
  runawayNote,
  statsVerdicts,
  twinGapVerdict,
  type Verdict,
} from './rules.js';
import { accuracies, accuraciesBySeed, axisPoints, tStudyRuns } from './report-numbers.js';

/** A Table 2 row: STC reaches its twin (the gap rule), and the paper's accuracy where it applies. */
function twinVerdicts(e: Experiment, r: RenderInput): Verdict[] {
  const paper = e.paper;
  const stc = accuracies(r.runs, 'stc');
  const verdicts = [
    twinGapVerdict({
      claim: e.claim,
      stc: accuraciesBySeed(r.runs, 'stc'),
      ann: accuraciesBySeed(r.runs, 'ann'),
      paper: paper ?? undefined,
    }),
  ];
  if (paper) {
    const v = paperAccuracyVerdict({
      stc,
      paper: paper.stc,
      scale: r.scale,
      budget: `width ${r.protocol.width}, ${r.protocol.epochs} epoch(s), ${r.protocol.dataset}`,
    });
    if (v) verdicts.push(v);
  }
  return verdicts;
}

/** A Fig. 5 study: per mask the collapse below the edge, and the claim above the reference. */
function sweepVerdicts(e: Experiment, r: RenderInput): Verdict[] {
  const axis = e.kind === 'sweep-theta0' ? 'theta0' : 'T';
  return r.protocol.gradients.flatMap((g) => {
    const pts = axisPoints(r.runs, g, axis);
    const spec = { axis, tag: `${g} mask` } as const;
    const above = aboveVerdict(pts, spec);
    return [collapseVerdict(pts, spec), ...(above ? [above] : [])];
  });
}

/** The Fig. 6-9 claims per mask over its finished, measured T. */
function statsVerdictsOf(r: RenderInput): Verdict[] {
  return r.protocol.gradients.flatMap((g) =>
    statsVerdicts(
      tStudyRuns(r, g).flatMap((x) => (x.result ? [{ T: x.T, r: x.result }] : [])),
      `${g} mask`,
    ),
  );
}

/**
 * The verdicts of a report, in the order report.md lists them.
 * @param e the experiment `r.experiment` names
 */
export function experimentVerdicts(e: Experiment, r: RenderInput): Verdict[] {
  return e.kind === 'twin'
    ? twinVerdicts(e, r)
    : e.kind === 'stats-T'
      ? statsVerdictsOf(r)
      : sweepVerdicts(e, r);
}

function runHow(r: ReportRun | undefined): string {
  if (!r) return 'mask and threshold mode not recorded';
  const th = r.learn_theta === null ? 'threshold mode not recorded' : thresholdWords(r.learn_theta);
  return `${r.gradient ?? 'unrecorded'} mask, ${th}`;
}

/** A Table 2 row's notes: the method where it is not the paper's, adopted runs, a runaway. */
function twinNotes(e: Experiment, r: RenderInput): string[] {
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
  const test = r.measured.stcb_test;
  const logRun = r.measured.stcb_log;
  const noteRun = test?.run ?? logRun?.run;
  if (noteRun) {
    const note = runawayNote({
      run: noteRun,
      test: test?.layers ?? [],
      epochs: logRun?.run === noteRun ? logRun.epochs : [],
      range: PAPER_STCB_INPUT_RANGE[e.dataset],
      how: runHow(r.runs.find((x) => x.label === noteRun)),
    });
    if (note) notes.push(note);
  }
  return notes;
}

/**
 * The notes of a report, in the order report.md lists them: runs that differ from the protocol,
 * the experiment's own notes (a Table 2 row's method, adopted runs and runaway), then the runs
 * that diverged and those that have not finished.
 * @param e the experiment `r.experiment` names
 */
export function experimentNotes(e: Experiment, r: RenderInput): string[] {
  const notes = [...r.measured.protocol_diffs, ...(e.kind === 'twin' ? twinNotes(e, r) : [])];
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
  return notes;
}

/**
 * What a reader must know before a Table 2 row's figures, stated in the report's first lines:
 * a twin taken although it differs (`--accept-twin-mismatch`, each difference), runs made by
 * more than one build, on more than one processor or from different data, and runs that
 * recorded none of this (so that one build cannot be shown). Empty for other experiments.
 */
export function experimentCautions(kind: string | undefined, runs: readonly ReportRun[]): string[] {
  if (kind !== 'twin') return [];
  const out: string[] = [];
  const mismatched = runs.flatMap((r) => r.twin_mismatch ?? []);
  if (mismatched.length)
    out.push(`the ANN twin was taken although it differs (--accept-twin-mismatch): ${mismatched.join('; ')}`);
  const started = runs.filter((r) => r.status !== 'missing');
  const unrecorded = started.filter((r) => !r.provenance);
  if (unrecorded.length)
    out.push(
      `${unrecorded.length} of ${started.length} runs recorded no code version, machine or data (${unrecorded.map((r) => r.label).join(', ')}): that STC and ANN were trained by one build on the same data cannot be shown`,
    );
  const recorded = started.filter((r) => r.provenance);
  const kinds = (f: (r: ReportRun) => string) => new Set(recorded.map(f)).size;
  if (kinds((r) => r.provenance!.dist_sha256 ?? 'unknown') > 1)
    out.push('the runs were trained by more than one build (see "code of the runs" below)');
  if (kinds((r) => r.provenance!.precision) > 1)
    out.push(
      `the runs were trained in more than one precision (${[...new Set(recorded.map((r) => r.provenance!.precision))].join(', ')})`,
    );
  if (kinds((r) => `${r.provenance!.data_files_sha256} ${r.provenance!.labels_sha256}`) > 1)
    out.push('the runs read different data (see "data the runs read" below)');
  if (kinds((r) => r.provenance!.cpu) > 1)
    out.push('the runs were trained on more than one processor: their training times do not compare');
  return out;
}
