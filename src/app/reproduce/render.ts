/**
 * Tables, verdicts and notes of an experiment report: a pure function of report.json's data
 * ({@link renderReport}); the tables are `tables.ts`, the verdicts and notes `verdicts.ts` (the
 * rules: `rules.ts`). So a report renders again from its report.json alone.
 */
import { ConfigError } from '../../lib/core/config.js';
import { findExperiment } from './experiments.js';
import type { RenderInput, ReportTable } from './report-file.js';
import type { Verdict } from './rules.js';
import { experimentTables } from './tables.js';
import { experimentNotes, experimentVerdicts } from './verdicts.js';

export type { RenderInput } from './report-file.js';

/** Tables, verdicts and notes of a report. */
export interface Rendered {
  readonly tables: ReportTable[];
  readonly verdicts: Verdict[];
  readonly notes: string[];
}

/**
 * Tables, verdicts and notes of a report from report.json's data alone (no file is read).
 * @throws ConfigError for an experiment id that is not known
 */
export function renderReport(r: RenderInput): Rendered {
  const e = findExperiment(r.experiment);
  if (!e) throw new ConfigError(`unknown experiment '${r.experiment}'`);
  return { tables: experimentTables(e, r), verdicts: experimentVerdicts(e, r), notes: experimentNotes(e, r) };
}
