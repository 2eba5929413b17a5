/**
 * The verdict rules of the reproduction reports: pure functions of measured data (accuracies in
 * percent, sweep points, STCB figures; `report-numbers.ts` derives them from report.json, `verdicts.ts`
 * applies these rules to a whole report.json), each tested alone (`rules.test.ts`). A verdict's text
 * starts with its outcome: `agrees`, `disagrees`, `diverged` (a run stopped on a non-finite loss
 * or gradient: a training failure, never counted as an accuracy) or `cannot say`.
 *
 * Rules (points are percentage points of test accuracy):
 * - Table 2 gap: `d_s = STC_s - ANN_s` over the seeds both finished (paired by seed), mean `d`,
 *   95 % interval `d +- t(0.975, n - 1) * sd(d) / sqrt(n)`. STC reaches its twin (agrees) when
 *   the whole interval lies above `-TWIN_TOLERANCE` (1 point), disagrees when it lies below;
 *   otherwise, and always with one seed (no spread of its own: the paper's is never borrowed),
 *   cannot say. The paper's gap is stated beside ours, not judged against.
 * - The paper's STC accuracy (paper scale only): `|mean - p| <= 2 * sqrt(s^2 / n + sp^2 / 5)`
 *   with our seeds' std `s` (cannot say with one seed).
 * - Collapse below an edge (theta0 < 0.8, T < 4): the highest accuracy of the finished runs
 *   below the edge is >= {@link COLLAPSE_POINTS} under the run at the reference (0.8, T = 8).
 *   When a run below the edge diverged, the outcome is `diverged` (the finished runs' figure is
 *   still stated); a diverged reference run: `diverged`.
 * - theta0 above 1: every finished theta0 >= 1 within {@link COLLAPSE_POINTS} of theta0 = 0.8.
 * - T above 8: the highest accuracy at T > 8 at most {@link GAIN_POINTS} over T = 8.
 *   (Both: `diverged` when a run in the range diverged.)
 * - Fig. 6-9: spikes per image grow with T when the largest T has more than the smallest and no
 *   step to the next T falls by more than 1 % (each T is a separately trained network); fire
 *   rate grows when the largest T's is at least the smallest T's; FLOPs (ACs + MACs) below the
 *   ANN's MACs at exactly the T < 6; energy below the ANN's at every T.
 * - Runaway note: an STCB layer's inputs reach {@link RUNAWAY_FACTOR} times the range the paper
 *   gives (§4.4.1), on the test set or, where recorded, in the last training epoch; the note
 *   states only the measured figures.
 */
import { decimal, inputRange, pct, si, signed } from '../analysis/format.js';
import type { SweepPointResult } from '../rundir/sweep-file.js';
import type { ExperimentKind, PaperAccuracy } from './experiments.js';
import type { StcbEpoch, StcbTestLayer } from './measured.js';
import { meanStd, pairedDifference, type AxisPoint } from './report-numbers.js';

/** Significant accuracy drop, in points (theta0 and T collapses). */
export const COLLAPSE_POINTS = 5;
/** A significant gain above T = 8, in points. */
export const GAIN_POINTS = 1;
/** Standard errors an absolute accuracy may differ by (the paper's STC accuracy, paper scale). */
export const GAP_STANDARD_ERRORS = 2;
/** Table 2: STC reaches its twin when the paired gap's 95 % interval lies above minus this many points. */
export const TWIN_TOLERANCE = 1;
/** Runs behind each of the paper's Table 2 figures. */
export const PAPER_RUNS = 5;
/** An STCB input beyond this many times the paper's range is a runaway. */
export const RUNAWAY_FACTOR = 100;

/** The rules of each kind of experiment in words, as `report.md` states them under its verdicts. */
export const RULES: Readonly<Record<ExperimentKind, readonly string[]>> = {
  twin: [
    `STC reaches its ANN twin when the 95 % interval of STC - ANN, paired by seed (mean +- t(0.975, n-1) * sd / sqrt(n)), lies wholly above -${TWIN_TOLERANCE} point (agrees) or wholly below it (disagrees); otherwise, and with one seed, cannot say; the paper's gap is stated beside ours`,
    `the paper's STC accuracy is judged at paper scale only: |ours - paper| <= ${GAP_STANDARD_ERRORS} * sqrt(s^2 / n + s_p^2 / ${PAPER_RUNS}) (cannot say with one seed)`,
    `a runaway: an STCB layer's inputs reach ${RUNAWAY_FACTOR}x the paper's range (test set, or the last epoch in log.jsonl)`,
  ],
  'sweep-theta0': [
    `a collapse: the highest accuracy of the finished runs below the edge is >= ${COLLAPSE_POINTS} points under the reference run; a run below the edge that diverged makes the verdict diverged (a training failure, not an accuracy)`,
    `reasonable above 1: every finished theta0 >= 1 within ${COLLAPSE_POINTS} points of theta0 = 0.8`,
  ],
  'sweep-T': [
    `a collapse: the highest accuracy of the finished runs below the edge is >= ${COLLAPSE_POINTS} points under the reference run; a run below the edge that diverged makes the verdict diverged (a training failure, not an accuracy)`,
    `no significant gain: the highest accuracy at T > 8 at most ${GAIN_POINTS} point over T = 8`,
  ],
  'stats-T': [
    'spikes grow: the largest T has more spikes per image than the smallest and no step to the next T falls by more than 1 %',
    "FLOPs: the STCSNN's ACs + MACs are below the ANN's MACs at exactly the T < 6; energy: below the ANN's at every T",
  ],
};

/** What a verdict says about a claim. */
export type Outcome = 'agrees' | 'disagrees' | 'diverged' | 'cannot say';

/** A claim of the paper and what our data says about it. */
export interface Verdict {
  readonly claim: string;
  readonly outcome: Outcome;
  /** true: ours shows the claim; false: it does not; null: diverged, or our data cannot tell. */
  readonly agrees: boolean | null;
  /** Starts with the outcome. */
  readonly text: string;
}

/** A verdict whose text is `<outcome><rest>`. */
export function verdict(claim: string, outcome: Outcome, rest: string): Verdict {
  const agrees = outcome === 'agrees' ? true : outcome === 'disagrees' ? false : null;
  return { claim, outcome, agrees, text: `${outcome}${rest}` };
}

/** Inputs of the Table 2 gap rule: final test accuracies in percent by seed, of finished runs. */
export interface GapInput {
  readonly claim: string;
  readonly stc: ReadonlyMap<number, number>;
  readonly ann: ReadonlyMap<number, number>;
  readonly paper: { readonly stc: PaperAccuracy; readonly ann: PaperAccuracy } | undefined;
}

/** The paper's STC - ANN, `(the paper's: -0.22)`, or that it is not in its text. */
function paperGapText(p: GapInput['paper']): string {
  return p?.stc.mean == null || p.ann.mean == null
    ? "the paper's gap is not in its text"
    : `the paper's: ${signed(p.stc.mean - p.ann.mean)}`;
}

/** The Table 2 gap rule (see the module's doc). */
export function twinGapVerdict(i: GapInput): Verdict {
  const d = pairedDifference(i.stc, i.ann);
  if (d.n === 0 || d.mean === null)
    return verdict(
      i.claim,
      'cannot say',
      i.stc.size && i.ann.size
        ? ': the STC and ANN runs share no seed to pair'
        : ': the STC or the ANN runs have not finished',
    );
  const paper = paperGapText(i.paper);
  if (d.low === null || d.high === null)
    return verdict(
      i.claim,
      'cannot say',
      `: STC - ANN = ${signed(d.mean)} points on one seed (seed ${d.diffs[0].seed}; ${paper}); one seed cannot tell a gap from seed-to-seed noise`,
    );
  const iv = `STC - ANN = ${signed(d.mean)} points, 95 % interval [${signed(d.low)}, ${signed(d.high)}] over ${d.n} seeds paired by seed (${paper})`;
  if (d.low >= -TWIN_TOLERANCE)
    return verdict(i.claim, 'agrees', `: ${iv}; the whole interval is above -${TWIN_TOLERANCE} point`);
  if (d.high < -TWIN_TOLERANCE)
    return verdict(i.claim, 'disagrees', `: ${iv}; the whole interval is below -${TWIN_TOLERANCE} point`);
  return verdict(
    i.claim,
    'cannot say',
    `: ${iv}; the interval reaches both sides of -${TWIN_TOLERANCE} point, so ${d.n} seeds cannot tell`,
  );
}

/** Our spread of one network: its seeds' std; null for one seed (it has none of its own). */
function spread(xs: readonly number[]): { std: number; from: string } | null {
  return xs.length > 1 ? { std: meanStd(xs).std, from: `${xs.length} seeds` } : null;
}

/** The paper's absolute STC accuracy: judged at paper scale only (see the module's doc). */
export function paperAccuracyVerdict(i: {
  readonly stc: readonly number[];
  readonly paper: PaperAccuracy;
  readonly scale: string;
  /** `width 0.25, 2 epoch(s), fashion-mnist` */
  readonly budget: string;
}): Verdict | null {
  const p = i.paper.mean;
  if (i.stc.length === 0 || p === null) return null;
  const o = meanStd(i.stc);
  const claim = `the paper's STC accuracy, ${p.toFixed(2)}% (mean of ${PAPER_RUNS})`;
  const where = `ours ${o.mean.toFixed(2)}% is ${Math.abs(o.mean - p).toFixed(2)} points ${o.mean < p ? 'below' : 'above'} the paper's`;
  if (i.scale !== 'paper')
    return verdict(
      claim,
      'cannot say',
      ` at ${i.scale} scale (${i.budget}: the absolute accuracy is not expected to match; the STC - ANN gap is the comparison): ${where}`,
    );
  const sd = spread(i.stc);
  if (!sd || i.paper.stddev === null)
    return verdict(
      claim,
      'cannot say',
      `: ${where}; ${sd ? "the paper's spread is not in its text" : 'one seed has no spread to judge it by'}`,
    );
  const tol = GAP_STANDARD_ERRORS * Math.sqrt(sd.std ** 2 / o.n + i.paper.stddev ** 2 / PAPER_RUNS);
  const ok = Math.abs(o.mean - p) <= tol;
  return verdict(claim, ok ? 'agrees' : 'disagrees', `: ${where} (tolerance ${tol.toFixed(2)} points)`);
}

/** Which study, and the reference value and edge of its claims. */
export interface AxisSpec {
  readonly axis: 'theta0' | 'T';
  /** `relu mask` */
  readonly tag: string;
}

const REF = { theta0: 0.8, T: 8 } as const;
const LOW_EDGE = { theta0: 0.8, T: 4 } as const;

function diverged(ps: readonly AxisPoint[], axis: string): string {
  return `the run${ps.length > 1 ? 's' : ''} at ${axis} = ${ps.map((p) => p.value).join(', ')} diverged (a training failure, not counted as an accuracy)`;
}

/** The collapse claim of a Fig. 5 study (see the module's doc). */
export function collapseVerdict(points: readonly AxisPoint[], spec: AxisSpec): Verdict {
  const { axis, tag } = spec;
  const ref = REF[axis];
  const edge = LOW_EDGE[axis];
  const claim = `accuracy collapses for ${axis} < ${edge}`;
  const base = points.find((p) => p.value === ref);
  const below = points.filter((p) => p.value < edge);
  const done = below.filter((p) => p.status === 'done');
  const div = below.filter((p) => p.status === 'diverged');
  if (base?.status === 'diverged')
    return verdict(claim, 'diverged', ` (${tag}): the reference run at ${axis} = ${ref} diverged`);
  if (base?.status !== 'done' || base.accuracy === null)
    return verdict(claim, 'cannot say', ` (${tag}): no finished run at ${axis} = ${ref}`);
  if (done.length === 0 && div.length === 0)
    return verdict(claim, 'cannot say', ` (${tag}): no finished run at ${axis} < ${edge}`);
  const parts: string[] = [];
  let collapsed: boolean | null = null;
  if (done.length) {
    const high = Math.max(...done.map((p) => p.accuracy!));
    const drop = base.accuracy - high;
    collapsed = drop >= COLLAPSE_POINTS;
    parts.push(
      `the highest accuracy of the finished runs at ${axis} < ${edge} (${done.map((p) => p.value).join(', ')}) is ${high.toFixed(2)}%, ${signed(-drop)} points against ${base.accuracy.toFixed(2)}% at ${axis} = ${ref} (a collapse is >= ${COLLAPSE_POINTS} points)`,
    );
  }
  if (div.length) {
    parts.unshift(diverged(div, axis));
    return verdict(claim, 'diverged', ` (${tag}): ${parts.join('; ')}`);
  }
  return verdict(claim, collapsed ? 'agrees' : 'disagrees', ` (${tag}): ${parts.join('; ')}`);
}

/** The claim above the reference: reasonable accuracy for theta0 >= 1, or no gain for T > 8. */
export function aboveVerdict(points: readonly AxisPoint[], spec: AxisSpec): Verdict | null {
  const { axis, tag } = spec;
  const base = points.find((p) => p.value === REF[axis]);
  if (base?.status !== 'done' || base.accuracy === null) return null;
  const inRange = points.filter((p) => (axis === 'theta0' ? p.value >= 1 : p.value > 8));
  const done = inRange.filter((p) => p.status === 'done');
  const div = inRange.filter((p) => p.status === 'diverged');
  if (done.length === 0 && div.length === 0) return null;
  const claim =
    axis === 'theta0'
      ? 'reasonable accuracy for theta0 above 1'
      : 'accuracy does not increase significantly for T > 8';
  const values = done.map((p) => p.value).join(', ');
  let ok = true;
  let said = '';
  if (done.length && axis === 'theta0') {
    const worst = Math.min(...done.map((p) => p.accuracy!));
    ok = base.accuracy - worst <= COLLAPSE_POINTS;
    said = `the worst accuracy at theta0 >= 1 (${values}) is ${worst.toFixed(2)}%, ${signed(worst - base.accuracy)} points against theta0 = 0.8`;
  } else if (done.length) {
    const high = Math.max(...done.map((p) => p.accuracy!));
    ok = high - base.accuracy <= GAIN_POINTS;
    said = `the highest accuracy at T > 8 (${values}) is ${high.toFixed(2)}%, ${signed(high - base.accuracy)} points over T = 8 (significant: > ${GAIN_POINTS} point)`;
  }
  if (div.length)
    return verdict(claim, 'diverged', ` (${tag}): ${[diverged(div, axis), said].filter(Boolean).join('; ')}`);
  return verdict(claim, ok ? 'agrees' : 'disagrees', ` (${tag}): ${said}`);
}

/** A finished sweep point of the T study (Fig. 6-9). */
export interface StatsPoint {
  readonly T: number;
  readonly r: SweepPointResult;
}

/** The Fig. 6-9 claims for one mask's finished points in T order (see the module's doc). */
export function statsVerdicts(done: readonly StatsPoint[], tag: string): Verdict[] {
  if (done.length < 2)
    return [
      verdict(
        'fire rate and spikes per layer grow with T',
        'cannot say',
        ` (${tag}): fewer than two finished T`,
      ),
    ];
  const out: Verdict[] = [];
  const spikes = done.map((x) => x.r.spikes_per_image);
  const grows =
    spikes[spikes.length - 1] > spikes[0] && spikes.every((v, i) => i === 0 || v >= 0.99 * spikes[i - 1]);
  const first = done[0];
  const last = done[done.length - 1];
  const layersUp = last.r.layers.filter((l) => {
    const f = first.r.layers.find((q) => q.layer === l.layer);
    return f ? l.spikes_per_image > f.spikes_per_image : false;
  }).length;
  out.push(
    verdict(
      'spikes per layer grow with T',
      grows ? 'agrees' : 'disagrees',
      ` (${tag}): spikes per image ${spikes.map((v) => si(v)).join(' -> ')} over T = ${done.map((x) => x.T).join(', ')}; ${layersUp} of ${last.r.layers.length} layers spike more at T = ${last.T} than at T = ${first.T}`,
    ),
  );
  const up = last.r.mean_fire_rate >= first.r.mean_fire_rate;
  out.push(
    verdict(
      'fire rate grows with T',
      up ? 'agrees' : 'disagrees',
      ` (${tag}): mean fire rate ${first.r.mean_fire_rate.toFixed(4)} at T = ${first.T}, ${last.r.mean_fire_rate.toFixed(4)} at T = ${last.T}`,
    ),
  );
  const withE = done.filter((x) => x.r.energy);
  if (withE.length) {
    const flops = (x: StatsPoint) => x.r.energy!.snn_acs + x.r.energy!.snn_macs;
    const fewer = withE.filter((x) => flops(x) < x.r.energy!.ann_macs);
    const expected = withE.filter((x) => x.T < 6);
    const same = fewer.length === expected.length && fewer.every((x, i) => x.T === expected[i].T);
    const all = withE.map((x) => x.T).join(', ');
    out.push(
      verdict(
        'fewer FLOPs (ACs + MACs) than the ANN for T < 6',
        same ? 'agrees' : 'disagrees',
        ` (${tag}): fewer FLOPs than the ANN at T in {${fewer.map((x) => x.T).join(', ')}} of {${all}}`,
      ),
    );
    const lower = withE.filter((x) => x.r.energy!.snn_energy_pj < x.r.energy!.ann_energy_pj);
    const every = lower.length === withE.length;
    out.push(
      verdict(
        'less energy than the ANN at every T up to 16',
        every ? 'agrees' : 'disagrees',
        ` (${tag}): energy below the ANN's at T in {${lower.map((x) => x.T).join(', ')}} of {${all}}; ANN/SNN energy ratio ${withE.map((x) => `${x.r.energy!.ratio.toFixed(2)}x`).join(', ')}`,
      ),
    );
  }
  return out;
}

/** Inputs of the runaway note. */
export interface RunawayInput {
  /** The run's label (`stc seed-0`). */
  readonly run: string;
  readonly test: readonly StcbTestLayer[];
  /** Per-epoch figures from log.jsonl (empty: not recorded). */
  readonly epochs: readonly StcbEpoch[];
  /** The paper's STCB input range. */
  readonly range: readonly [number, number];
  /** The run's equivalent-gradient mask and threshold mode, in words (`the relu mask, fixed thresholds`). */
  readonly how: string;
}

/**
 * A note when an STCB layer's inputs reached {@link RUNAWAY_FACTOR} times the paper's range, on
 * the test set or in the last recorded training epoch; null otherwise. It states the measured
 * figures of the worst layer only (what was not recorded is said to be so).
 */
export function runawayNote(i: RunawayInput): string | null {
  const [lo, hi] = i.range;
  const bound = RUNAWAY_FACTOR * Math.max(Math.abs(lo), Math.abs(hi));
  const last = i.epochs.length ? i.epochs[i.epochs.length - 1] : null;
  const testSize = (l: StcbTestLayer) => Math.max(Math.abs(l.input_min), Math.abs(l.input_max));
  const worstTest = i.test.length ? i.test.reduce((a, l) => (testSize(l) > testSize(a) ? l : a)) : null;
  const worstLog = last?.layers.length
    ? last.layers.reduce((a, l) => (!(Math.abs(l.input_max) <= Math.abs(a.input_max)) ? l : a))
    : null;
  const testAway = worstTest !== null && !(testSize(worstTest) < bound);
  const logAway = worstLog !== null && !(Math.abs(worstLog.input_max) < bound);
  if (!testAway && !logAway) return null;
  const layer = testAway ? worstTest!.layer : worstLog!.layer;
  const parts: string[] = [];
  const t = i.test.find((l) => l.layer === layer);
  if (t)
    parts.push(
      `on the test set its inputs reached ${t.printed_range ?? inputRange(t.input_min, t.input_max)}, share at or above S ${t.saturated_share === null ? 'not recorded' : pct(t.saturated_share)}, fire rate ${t.fire_rate.toFixed(4)}`,
    );
  const e = last?.layers.find((l) => l.layer === layer);
  if (last && e) {
    const bn = e.bn
      ? `; ${e.bn.layer} mean |gamma| ${decimal(e.bn.gamma_abs_mean)}, max ${decimal(e.bn.gamma_abs_max)}`
      : '';
    const firstBn = i.epochs[0].layers.find((l) => l.layer === layer)?.bn;
    const course =
      e.bn && firstBn && i.epochs.length > 1
        ? ` (epoch ${i.epochs[0].epoch + 1}: mean |gamma| ${decimal(firstBn.gamma_abs_mean)})`
        : '';
    parts.push(
      `in training epoch ${last.epoch + 1} (log.jsonl): input max ${decimal(e.input_max)}, 99.9th percentile ${decimal(e.input_p999)}, ${pct(e.saturated_share)} at or above S, ${pct(e.nonpositive_share)} at or below 0, fire rate ${e.fire_rate.toFixed(4)}${bn}${course}`,
    );
  } else parts.push('per-epoch training figures (log.jsonl `stcb`): not recorded');
  return `the STCB inputs of ${i.run} (${i.how}) ran away: ${layer} reached ${RUNAWAY_FACTOR}x or more the paper's range ${lo} .. ${hi}; ${parts.join('; ')}. (docs/semantics.md §1.4 describes saturated inputs and \`--gradient clipped\`.)`;
}
