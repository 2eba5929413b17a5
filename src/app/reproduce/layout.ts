/**
 * The layout of a reproduction, written once (every reader and writer of `stcsnn reproduce`
 * takes its paths from here; the run, repeat-group and sweep directories inside follow
 * `src/app/rundir/layout.ts`):
 *
 * ```
 * <out>/                              --out (default reproduce/<experiment>-<scale>/)
 *   <experiment>/                     one experiment
 *     stc/, ann/                      Table 2 twins: a repeat group each (seed-<n>/ run
 *                                     directories; one seed: the group folder is the run)
 *     sweep-<gradient>/               Fig. 5 studies: a sweep directory per gradient mask
 *     report.md, report.json          the report (ours beside the paper's) and its data
 *     figures/<name>.svg              the report's figures
 *   <from>/sweep-<gradient>/          a stats-T experiment reads the sweep of its `from`
 *                                     experiment here (run first when missing)
 * ```
 *
 * Adopting runs made elsewhere: move or symlink a run directory to `<out>/<experiment>/stc`
 * (one seed) or `<out>/<experiment>/stc/seed-<n>` (several), a sweep directory to
 * `<out>/<experiment>/sweep-<gradient>`; finished runs and points are never retrained.
 */
import { join, resolve } from 'node:path';

/** The files of an experiment's directory. */
export const REPORT_FILES = {
  markdown: 'report.md',
  json: 'report.json',
  figures: 'figures',
} as const;

/**
 * Where `stcsnn reproduce` writes when no `--out` is given: `reproduce/<experiment>-<scale>/`,
 * `...-<gradient>/` when `--gradient` picks a mask, `...-theta-<mode>/` when `--learn-theta`
 * picks a threshold mode (its STC runs differ from the protocol's), `...-e<epochs>/` and
 * `...-s<seeds>/` when `--epochs` and `--seeds` change the budget.
 */
export function defaultOut(
  experiment: string,
  scale: string,
  over: {
    readonly gradient?: string;
    readonly learnTheta?: string;
    readonly epochs?: number;
    readonly seeds?: number;
  } = {},
): string {
  const g = over.gradient === undefined ? '' : `-${over.gradient}`;
  const t = over.learnTheta === undefined ? '' : `-theta-${over.learnTheta}`;
  const e = over.epochs === undefined ? '' : `-e${over.epochs}`;
  const s = over.seeds === undefined ? '' : `-s${over.seeds}`;
  return resolve('reproduce', `${experiment}-${scale}${g}${t}${e}${s}`);
}

/** The directory of an experiment under `out`. */
export function experimentDir(out: string, experiment: string): string {
  return join(out, experiment);
}

/** A twin's repeat group (`stc` or `ann`) under an experiment's directory. */
export function twinDir(expDir: string, mode: 'stc' | 'ann'): string {
  return join(expDir, mode);
}

/** A sweep directory for one equivalent-gradient mask under an experiment's directory. */
export function sweepDirOf(expDir: string, gradient: string): string {
  return join(expDir, `sweep-${gradient}`);
}

/** A file of an experiment's report. */
export function reportFile(expDir: string, file: keyof typeof REPORT_FILES): string {
  return join(expDir, REPORT_FILES[file]);
}
