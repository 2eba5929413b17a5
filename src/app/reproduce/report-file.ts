/**
 * `report.json`, read back: its schema, and the conversion of a report written before the rules'
 * inputs were kept in it (no `format`), so that `stcsnn reproduce EXP --from-json PATH` renders
 * any committed report with the current rules when the run directories are gone.
 *
 * What an older report.json holds: every run's status, final and best-epoch test accuracy (exact);
 * the STC run's STCB inputs on the test set only as a printed table (range to 2 decimals or 3
 * significant digits, fire rate to 4 decimals: read back at that precision); no per-epoch STCB
 * figures; the Fig. 6-9 figures only rounded (a stats-T report of that age cannot be re-rendered:
 * its per-layer spikes are not in it).
 */
import { z } from 'zod';
import { ConfigError, LEARN_THETA_MODES } from '../../lib/core/config.js';
import { issueText } from '../config/config.js';
import type { ScaleProtocol } from './experiments.js';
import { readJsonFile } from '../rundir/json.js';
import { sweepPointResultSchema } from '../rundir/sweep-file.js';
import { stcbEpochLayerSchema, type Measured, type ReportRun, type StcbTestLayer } from './measured.js';
import type { Verdict } from './rules.js';

/** A table of the report: a header and rows of cells (already formatted). */
export interface ReportTable {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** The version of `report.json` written now. */
export const REPORT_FORMAT = 2;

/** `report.json`. */
export interface ReportFile {
  /** {@link REPORT_FORMAT}; absent in reports written before it. */
  readonly format: number;
  readonly experiment: string;
  readonly title: string;
  readonly source: string;
  readonly scale: string;
  readonly claim: string;
  readonly protocol: ScaleProtocol;
  readonly data: string;
  /** The command that ran (or adopted) the runs and wrote the report first. */
  readonly command: string;
  /** The command that rendered this report from an earlier report.json, when one did. */
  readonly rerendered_by?: string;
  readonly machine: { cores: number; cpu: string; platform: string; node: string; backend: string };
  readonly wall_seconds: number;
  readonly tables: ReportTable[];
  readonly verdicts: Verdict[];
  readonly figures: { name: string; caption: string; svg: string }[];
  readonly runs: ReportRun[];
  readonly measured: Measured;
  readonly notes: string[];
}

/**
 * What the tables, verdicts and notes of a report are computed from: report.json's identifying
 * fields and its measured data (`report-numbers.ts`, `verdicts.ts`, `tables.ts`, `render.ts`).
 */
export type RenderInput = Pick<ReportFile, 'experiment' | 'scale' | 'protocol' | 'runs' | 'measured'>;

const num = z.number();
const nullNum = z.number().nullable();
const table = z.object({
  title: z.string(),
  header: z.array(z.string()),
  rows: z.array(z.array(z.string())),
});
const common = {
  experiment: z.string().min(1),
  title: z.string(),
  source: z.string(),
  scale: z.string(),
  claim: z.string(),
  protocol: z
    .object({
      arch: z.string(),
      width: num,
      epochs: num,
      lrSchedule: z.string(),
      seeds: num,
      gradients: z.array(z.string()).min(1),
      dataset: z.string(),
    })
    .loose(),
  data: z.string(),
  command: z.string(),
  rerendered_by: z.string().optional(),
  machine: z.object({
    cores: num,
    cpu: z.string(),
    platform: z.string(),
    node: z.string(),
    backend: z.string(),
  }),
  wall_seconds: num,
  tables: z.array(table),
  figures: z.array(z.object({ name: z.string(), caption: z.string(), svg: z.string() })),
  notes: z.array(z.string()),
};
const runBase = {
  label: z.string(),
  dir: z.string(),
  test_accuracy: nullNum,
  best_test_accuracy: nullNum,
  epochs: nullNum,
  train_seconds: nullNum,
  backend: z.string().nullable(),
  error: z.string().optional(),
  from: z.string().optional(),
  provenance: z
    .object({
      commit: z.string().nullable(),
      modified: z.boolean().nullable(),
      dist_sha256: z.string().nullable(),
      cpu: z.string(),
      backend: z.string(),
      threads: z.number().nullable(),
      precision: z.string().default('fp32'),
      data_files_sha256: z.string().nullable(),
      labels_sha256: z.string(),
      changed_since_start: z.array(z.string()),
    })
    .nullable()
    .optional(),
  training: z.record(z.string(), z.unknown()).nullable().optional(),
  twin_mismatch: z.array(z.string()).optional(),
};
/** A sweep point's result as `sweep.json` holds it (other keys kept). */
const pointResult = sweepPointResultSchema.loose();
const verdictSchema = z.object({
  claim: z.string(),
  outcome: z.enum(['agrees', 'disagrees', 'diverged', 'cannot say']),
  agrees: z.boolean().nullable(),
  text: z.string(),
});
const currentSchema = z.object({
  ...common,
  format: z.literal(REPORT_FORMAT),
  verdicts: z.array(verdictSchema),
  runs: z.array(
    z.object({
      ...runBase,
      status: z.enum(['done', 'diverged', 'missing']),
      mode: z.enum(['stc', 'ann']).nullable(),
      gradient: z.string().nullable(),
      learn_theta: z.enum(LEARN_THETA_MODES).nullable(),
      T: nullNum,
      theta0: nullNum,
    }),
  ),
  measured: z.object({
    stcb_test: z
      .object({
        run: z.string(),
        layers: z.array(
          z.object({
            layer: z.string(),
            input_min: num,
            input_max: num,
            saturated_share: nullNum,
            fire_rate: num,
            printed_range: z.string().optional(),
          }),
        ),
      })
      .nullable(),
    stcb_log: z
      .object({
        run: z.string(),
        epochs: z.array(z.object({ epoch: num, layers: z.array(stcbEpochLayerSchema) })),
      })
      .nullable(),
    points: z.array(z.object({ run: z.string(), result: pointResult })),
    protocol_diffs: z.array(z.string()),
  }),
});
const legacySchema = z.object({
  ...common,
  verdicts: z.array(z.object({ claim: z.string(), agrees: z.boolean().nullable(), text: z.string() })),
  runs: z.array(z.object({ ...runBase, status: z.enum(['done', 'failed', 'missing']) })),
});
type Legacy = z.infer<typeof legacySchema>;

/** `-5.03e+6 .. 6.44e+6` -> [-5.03e6, 6.44e6]. */
function parseRange(cell: string, where: string): [number, number] {
  const m = /^(\S+) \.\. (\S+)$/.exec(cell);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new ConfigError(`${where}: '${cell}' is not a range`);
  return [a, b];
}

/** The STCB test-set table of an older Table 2 report, read back at its printed precision. */
function legacyStcbTest(r: Legacy, where: string): Measured['stcb_test'] {
  const t = r.tables.find((x) => /^STCB inputs/.test(x.title));
  if (!t) return null;
  const run = /\(([^,]+), test set\)/.exec(t.title)?.[1] ?? 'stc seed-0';
  const col = (name: RegExp) => t.header.findIndex((h) => name.test(h));
  const [cl, cr, cs, cf] = [col(/^layer$/), col(/^input range/), col(/^saturated/), col(/^fire rate/)];
  if ([cl, cr, cs, cf].some((c) => c < 0))
    throw new ConfigError(`${where}: the STCB table has no ${t.header.join('|')}`);
  const layers: StcbTestLayer[] = t.rows.map((row) => {
    const [input_min, input_max] = parseRange(row[cr], where);
    const sat = row[cs] === '-' ? null : Number(`${row[cs].replace(/%$/, '')}e-2`);
    return {
      layer: row[cl],
      input_min,
      input_max,
      saturated_share: sat,
      fire_rate: Number(row[cf]),
      printed_range: row[cr],
    };
  });
  return { run, layers };
}

/** An older report.json's runs, in the current shape (a `failed` sweep point diverged). */
function legacyRuns(r: Legacy, where: string): ReportRun[] {
  return r.runs.map((x) => {
    const sweep = /^sweep-(\w+) T([\d.]+)_theta0-([\d.]+)$/.exec(x.label);
    const twin = /^(stc|ann) seed-\d+$/.exec(x.label);
    if (!sweep && !twin)
      throw new ConfigError(`${where}: run label '${x.label}' is neither 'stc|ann seed-N' nor a sweep point`);
    const mode = sweep ? 'stc' : (twin![1] as 'stc' | 'ann');
    return {
      ...x,
      status: x.status === 'failed' ? 'diverged' : x.status,
      mode,
      gradient: sweep ? sweep[1] : mode === 'stc' ? (r.protocol.gradients[0] ?? null) : null,
      learn_theta: null,
      T: sweep ? Number(sweep[2]) : null,
      theta0: sweep ? Number(sweep[3]) : null,
    };
  });
}

/**
 * Reads a `report.json` for re-rendering: the current format as is, an older one converted.
 * @throws ConfigError (one line naming the file) when it is missing, not JSON, of another
 *   experiment than `experiment`, not a report, or an older stats-T report
 */
export function readReportFile(path: string, experiment: string): ReportFile {
  const value = readJsonFile(path);
  const id = (value as { experiment?: unknown } | null)?.experiment;
  if (typeof id === 'string' && id !== experiment)
    throw new ConfigError(`${path} is the report of ${id}, not of ${experiment}`);
  const isLegacy = typeof value === 'object' && value !== null && !('format' in value);
  const parsed = (isLegacy ? legacySchema : currentSchema).safeParse(value);
  if (!parsed.success) {
    const { path: at, message } = issueText(parsed.error);
    throw new ConfigError(`${path} is not a report.json of stcsnn reproduce: ${at}: ${message}`);
  }
  if (!isLegacy) return parsed.data as unknown as ReportFile;
  const r = parsed.data as Legacy;
  if (r.tables.some((t) => /^Fig\. 6-9/.test(t.title)))
    throw new ConfigError(
      `${path} predates report.json format ${REPORT_FORMAT} and holds its Fig. 6-9 figures only rounded (no per-layer spikes): re-render it from the run directories`,
    );
  return {
    ...(r as Omit<Legacy, 'protocol'> & Pick<ReportFile, 'protocol'>),
    format: REPORT_FORMAT,
    verdicts: [],
    runs: legacyRuns(r, path),
    measured: {
      stcb_test: legacyStcbTest(r, path),
      stcb_log: null,
      points: [],
      protocol_diffs: r.notes.filter((n) => / differs from the protocol: /.test(n)),
    },
  };
}
