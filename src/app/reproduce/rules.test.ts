/**
 * The report rules, each alone on hand-made data: the Table 2 gap against the paper's gap and the
 * seeds' spread; the paper's accuracy; a diverged run is `diverged`, never a collapse; the
 * claims above the reference; the Fig. 6-9 claims; the runaway note states only what was measured.
 * Then the rules applied to report.json's data alone (`verdicts.ts`): hand-made runs, and every
 * committed report, whose verdicts and notes they give again.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { findExperiment } from './experiments.js';
import {
  parseStcbEntry,
  stcbEpochs,
  type Measured,
  type ReportRun,
  type RunStatus,
  type StcbEpoch,
} from './measured.js';
import { REPORT_FORMAT, type RenderInput, type ReportFile } from './report-file.js';
import {
  aboveVerdict,
  collapseVerdict,
  paperAccuracyVerdict,
  runawayNote,
  statsVerdicts,
  twinGapVerdict,
} from './rules.js';
import { meanStd, t975, type AxisPoint } from './report-numbers.js';
import { experimentNotes, experimentVerdicts } from './verdicts.js';

const paperFmnist = {
  stc: { mean: 95.05, stddev: 0.26, best: 95.32 },
  ann: { mean: 95.18, stddev: 0.21, best: 95.32 },
};

/** Accuracies by seed 0, 1, ... */
const bySeed = (xs: readonly number[]) => new Map(xs.map((x, i) => [i, x] as [number, number]));

test('Table 2 gap: paired by seed, a -0.92 gap whose interval reaches below -1 cannot say', () => {
  const v = twinGapVerdict({
    claim: 'c',
    stc: bySeed([88.87, 89.16, 89.46]),
    ann: bySeed([90.16, 90.21, 89.89]),
    paper: paperFmnist,
  });
  // d = -1.29, -1.05, -0.43: mean -0.923, sd 0.443, se 0.256, t(2) 4.303 -> [-2.03, +0.18]
  assert.equal(v.outcome, 'cannot say', v.text);
  assert.equal(v.agrees, null);
  assert.match(
    v.text,
    /^cannot say: STC - ANN = -0\.92 points, 95 % interval \[-2\.03, \+0\.18\] over 3 seeds paired by seed \(the paper's: -0\.13\); the interval reaches both sides of -1 point/,
  );
});

test('Table 2 gap: agrees only when the whole interval is above -1; disagrees when wholly below; one seed never agrees', () => {
  const near = twinGapVerdict({
    claim: 'c',
    stc: bySeed([90.0, 90.2, 89.8]),
    ann: bySeed([90.1, 90.3, 89.9]),
    paper: paperFmnist,
  });
  assert.equal(near.outcome, 'agrees', near.text);
  const far = twinGapVerdict({
    claim: 'c',
    stc: bySeed([85.0, 85.3, 84.9]),
    ann: bySeed([90.1, 90.3, 89.9]),
    paper: paperFmnist,
  });
  assert.equal(far.outcome, 'disagrees', far.text);
  const one = twinGapVerdict({ claim: 'c', stc: bySeed([91]), ann: bySeed([90]), paper: paperFmnist });
  assert.equal(one.outcome, 'cannot say');
  assert.match(
    one.text,
    /on one seed \(seed 0; the paper's: -0\.13\); one seed cannot tell a gap from seed-to-seed noise/,
  );
  const none = twinGapVerdict({ claim: 'c', stc: new Map(), ann: bySeed([90]), paper: paperFmnist });
  assert.match(none.text, /^cannot say: the STC or the ANN runs have not finished/);
  const unpaired = twinGapVerdict({
    claim: 'c',
    stc: new Map([[1, 90]]),
    ann: bySeed([90]),
    paper: paperFmnist,
  });
  assert.match(unpaired.text, /^cannot say: the STC and ANN runs share no seed to pair/);
});

test('Table 2 gap (property): the outcome follows the paired interval; lowering STC never turns a verdict into agrees', () => {
  const acc = fc.double({ min: 50, max: 99, noNaN: true });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(acc, acc), { minLength: 2, maxLength: 6 }),
      fc.double({ min: 0, max: 5, noNaN: true }),
      (pairs, drop) => {
        const stc = bySeed(pairs.map((p) => p[0]));
        const ann = bySeed(pairs.map((p) => p[1]));
        const v = twinGapVerdict({ claim: 'c', stc, ann, paper: paperFmnist });
        const d = pairs.map(([a, b]) => a - b);
        const m = meanStd(d);
        const h = t975(d.length - 1) * (m.std / Math.sqrt(d.length));
        const want = m.mean - h >= -1 ? 'agrees' : m.mean + h < -1 ? 'disagrees' : 'cannot say';
        assert.equal(v.outcome, want, v.text);
        const lower = twinGapVerdict({
          claim: 'c',
          stc: bySeed(pairs.map((p) => p[0] - drop)),
          ann,
          paper: paperFmnist,
        });
        if (v.outcome !== 'agrees') assert.notEqual(lower.outcome, 'agrees');
      },
    ),
  );
});

test("the paper's accuracy: cannot say below paper scale; judged by the spread at paper scale", () => {
  const cpu = paperAccuracyVerdict({ stc: [89], paper: paperFmnist.stc, scale: 'cpu', budget: 'width 0.25' });
  assert.equal(cpu?.outcome, 'cannot say');
  const ok = paperAccuracyVerdict({
    stc: [95.0, 95.2, 94.9],
    paper: paperFmnist.stc,
    scale: 'paper',
    budget: '',
  });
  assert.equal(ok?.outcome, 'agrees');
  const off = paperAccuracyVerdict({
    stc: [94.0, 94.2, 93.9],
    paper: paperFmnist.stc,
    scale: 'paper',
    budget: '',
  });
  assert.equal(off?.outcome, 'disagrees');
});

const pts = (xs: [number, AxisPoint['status'], number | null][]): AxisPoint[] =>
  xs.map(([value, status, accuracy]) => ({ value, status, accuracy }));

test('collapse: a diverged run is `diverged`, never a collapse (the old rule counted it as 0 and agreed)', () => {
  const onlyDiverged = collapseVerdict(
    pts([
      [2, 'diverged', null],
      [4, 'done', 84.02],
      [8, 'done', 86.94],
    ]),
    { axis: 'T', tag: 'relu mask' },
  );
  assert.equal(onlyDiverged.outcome, 'diverged');
  assert.equal(onlyDiverged.agrees, null);
  assert.match(onlyDiverged.text, /^diverged \(relu mask\): the run at T = 2 diverged/);
  assert.doesNotMatch(onlyDiverged.text, /0\.00%/);
  const mixed = collapseVerdict(
    pts([
      [0.1, 'diverged', null],
      [0.6, 'done', 79.81],
      [0.8, 'done', 86.94],
    ]),
    { axis: 'theta0', tag: 'relu mask' },
  );
  assert.equal(mixed.outcome, 'diverged');
  assert.match(
    mixed.text,
    /highest accuracy of the finished runs at theta0 < 0\.8 \(0\.6\) is 79\.81%, -7\.13 points/,
  );
  const refDiverged = collapseVerdict(
    pts([
      [2, 'done', 80],
      [8, 'diverged', null],
    ]),
    { axis: 'T', tag: 'm' },
  );
  assert.equal(refDiverged.outcome, 'diverged');
});

test('collapse: judged on the highest finished accuracy below the edge; missing runs cannot say', () => {
  const clipped = pts([
    [0.1, 'done', 10],
    [0.2, 'done', 10],
    [0.6, 'done', 87.88],
    [0.8, 'done', 88.53],
  ]);
  const v = collapseVerdict(clipped, { axis: 'theta0', tag: 'clipped mask' });
  assert.equal(v.outcome, 'disagrees');
  assert.match(v.text, /is 87\.88%, -0\.65 points against 88\.53%/);
  const collapsed = collapseVerdict(
    pts([
      [2, 'done', 70],
      [8, 'done', 88],
    ]),
    { axis: 'T', tag: 'm' },
  );
  assert.equal(collapsed.outcome, 'agrees');
  assert.equal(collapseVerdict(pts([[2, 'done', 70]]), { axis: 'T', tag: 'm' }).outcome, 'cannot say');
  assert.equal(
    collapseVerdict(
      pts([
        [2, 'missing', null],
        [8, 'done', 88],
      ]),
      { axis: 'T', tag: 'm' },
    ).outcome,
    'cannot say',
  );
});

test('above the reference: theta0 >= 1 within 5 points, T > 8 gains at most 1; a diverged run there is `diverged`', () => {
  const base: [number, AxisPoint['status'], number | null] = [8, 'done', 86.94];
  const gain = aboveVerdict(pts([base, [12, 'done', 88.77], [16, 'done', 88.84]]), { axis: 'T', tag: 'm' });
  assert.equal(gain?.outcome, 'disagrees');
  assert.match(gain!.text, /highest accuracy at T > 8 \(12, 16\) is 88\.84%, \+1\.90 points/);
  const flat = aboveVerdict(pts([base, [12, 'done', 87.5]]), { axis: 'T', tag: 'm' });
  assert.equal(flat?.outcome, 'agrees');
  const div = aboveVerdict(pts([base, [12, 'diverged', null]]), { axis: 'T', tag: 'm' });
  assert.equal(div?.outcome, 'diverged');
  const theta = aboveVerdict(
    pts([
      [0.8, 'done', 88],
      [1, 'done', 82],
    ]),
    { axis: 'theta0', tag: 'm' },
  );
  assert.equal(theta?.outcome, 'disagrees');
  assert.equal(aboveVerdict(pts([base]), { axis: 'T', tag: 'm' }), null);
});

test('Fig. 6-9 claims: spikes, fire rate, FLOPs below the ANN exactly for T < 6, energy', () => {
  const point = (T: number, spikes: number, rate: number, flops: number) => ({
    T,
    r: {
      test_accuracy: 0.9,
      best_test_accuracy: 0.9,
      mean_fire_rate: rate,
      spikes_per_image: spikes,
      layers: [{ layer: 'a', neurons: 1, fire_rate: rate, spikes_per_neuron: 1, spikes_per_image: spikes }],
      energy: {
        ann_macs: 6e6,
        snn_acs: flops,
        snn_macs: 0,
        ann_energy_pj: 2e7,
        snn_energy_pj: 1e6 * T,
        ratio: 20 / T,
      },
    },
  });
  const vs = statsVerdicts(
    [point(2, 5e3, 0.26, 3e6), point(4, 7e3, 0.18, 4e6), point(8, 12e3, 0.15, 7e6)],
    'm',
  );
  const by = (c: RegExp) => vs.find((v) => c.test(v.claim))!;
  assert.equal(by(/spikes/).outcome, 'agrees');
  assert.match(by(/spikes/).text, /1 of 1 layers spike more at T = 8 than at T = 2/);
  assert.equal(by(/fire rate/).outcome, 'disagrees');
  assert.equal(by(/FLOPs/).outcome, 'agrees');
  assert.equal(by(/energy/).outcome, 'agrees');
  const more = statsVerdicts([point(2, 5e3, 0.2, 3e6), point(6, 7e3, 0.2, 5e6)], 'm');
  assert.equal(more.find((v) => /FLOPs/.test(v.claim))!.outcome, 'disagrees');
  assert.equal(statsVerdicts([point(2, 1, 1, 1)], 'm')[0].outcome, 'cannot say');
});

const layer = (name: string, max: number, gamma: number | null) => ({
  layer: name,
  input_max: max,
  input_p999: max / 10,
  saturated_share: 0.5,
  nonpositive_share: 0.25,
  fire_rate: 0.1,
  bn: gamma === null ? null : { layer: `${name}.bn`, gamma_abs_mean: gamma, gamma_abs_max: 2 * gamma },
});

test('runaway note: only the measured figures; none below 100x the range', () => {
  const test0 = [
    { layer: 'a', input_min: -2, input_max: 3, saturated_share: null, fire_rate: 0.2 },
    { layer: 'b', input_min: -1.5e10, input_max: 1.6e10, saturated_share: null, fire_rate: 0.03 },
  ];
  const base = {
    run: 'stc seed-0',
    range: [-1, 1] as const,
    how: 'relu mask, fixed thresholds (learnTheta off)',
  };
  const noLog = runawayNote({ ...base, test: test0, epochs: [] })!;
  assert.match(
    noLog,
    /^the STCB inputs of stc seed-0 \(relu mask, fixed thresholds \(learnTheta off\)\) ran away: b reached/,
  );
  assert.match(noLog, /-1\.50e\+10 \.\. 1\.60e\+10, share at or above S not recorded/);
  assert.match(noLog, /per-epoch training figures \(log\.jsonl `stcb`\): not recorded/);
  assert.doesNotMatch(noLog, /gamma|batch-norm scale|grows/);
  const epochs: StcbEpoch[] = [
    { epoch: 0, layers: [layer('a', 2, 1), layer('b', 1e3, 0.5)] },
    { epoch: 4, layers: [layer('a', 2, 1), layer('b', 1e6, 1.8e8)] },
  ];
  const withLog = runawayNote({ ...base, test: test0, epochs })!;
  assert.match(
    withLog,
    /in training epoch 5 \(log\.jsonl\): input max 1\.00e\+6, 99\.9th percentile 1\.00e\+5, 50\.00% at or above S, 25\.00% at or below 0, fire rate 0\.1000; b\.bn mean \|gamma\| 1\.80e\+8, max 3\.60e\+8 \(epoch 1: mean \|gamma\| 0\.50\)/,
  );
  // the log alone can show a runaway (no test-set statistics)
  assert.match(runawayNote({ ...base, test: [], epochs })!, /b reached 100x/);
  const calm = [{ layer: 'a', input_min: -2, input_max: 99, saturated_share: 0.01, fire_rate: 0.2 }];
  assert.equal(runawayNote({ ...base, test: calm, epochs: [] }), null);
});

test('log.jsonl `stcb` entries: parsed when of the shape, null (not recorded) otherwise', () => {
  const good = [layer('a', 1, 0.5), layer('b', 2, null)];
  assert.deepEqual(parseStcbEntry(good), good);
  assert.equal(parseStcbEntry(undefined), null);
  assert.equal(parseStcbEntry([{ layer: 'a' }]), null);
  assert.equal(parseStcbEntry([{ ...layer('a', 1, 1), bn: { layer: 'x' } }]), null);
  const eps = stcbEpochs([
    { epoch: 1, stcb: good },
    { epoch: 0, test_accuracy: 0.5 },
    { epoch: 0, stcb: good },
  ]);
  assert.deepEqual(
    eps.map((e) => e.epoch),
    [0, 1],
  );
});

/** A report.json's runs and measured data, hand-made: what `verdicts.ts` reads and nothing else. */
const reportRun = (label: string, over: Partial<ReportRun>): ReportRun => ({
  label,
  dir: label,
  status: 'done',
  test_accuracy: null,
  best_test_accuracy: null,
  epochs: 2,
  train_seconds: 1,
  backend: 'wasm',
  mode: 'stc',
  gradient: 'relu',
  learn_theta: 'off',
  T: null,
  theta0: null,
  ...over,
});
const noMeasured: Measured = { stcb_test: null, stcb_log: null, points: [], protocol_diffs: [] };
const protocolOf = (gradients: string[], extra: Record<string, unknown> = {}) =>
  ({
    arch: 'vgg11',
    width: 0.25,
    epochs: 2,
    lrSchedule: 'cosine',
    seeds: 3,
    gradients,
    dataset: 'fashion-mnist',
    ...extra,
  }) as unknown as RenderInput['protocol'];

test('report.json data -> verdicts and notes: a Table 2 row is judged by the gap rule from its runs alone', () => {
  const e = findExperiment('table2-fmnist-resnet18')!;
  const accs: [string, 'stc' | 'ann', number | null, RunStatus][] = [
    ['stc seed-0', 'stc', 0.8887, 'done'],
    ['stc seed-1', 'stc', 0.8916, 'done'],
    ['stc seed-2', 'stc', null, 'diverged'],
    ['ann seed-0', 'ann', 0.9016, 'done'],
    ['ann seed-1', 'ann', 0.9021, 'done'],
    ['ann seed-2', 'ann', null, 'missing'],
  ];
  const r: RenderInput = {
    experiment: e.id,
    scale: 'cpu',
    protocol: protocolOf(['clipped'], { learnTheta: 'channel' }),
    runs: accs.map(([label, mode, acc, status]) =>
      reportRun(label, { mode, test_accuracy: acc, status, gradient: mode === 'stc' ? 'clipped' : null }),
    ),
    measured: {
      ...noMeasured,
      protocol_diffs: ['ann seed-0 (ann/seed-0) differs from the protocol: epochs 3 (protocol: 2)'],
    },
  };
  const v = experimentVerdicts(e, r);
  const direct = twinGapVerdict({
    claim: e.claim,
    stc: bySeed([88.87, 89.16]),
    ann: bySeed([90.16, 90.21]),
    paper: e.paper!,
  });
  assert.equal(v[0].outcome, direct.outcome);
  assert.ok(Math.abs(Number(/STC - ANN = ([-+\d.]+)/.exec(v[0].text)![1]) - -1.17) < 1e-9);
  assert.deepEqual(
    v.map((x) => x.outcome),
    [direct.outcome, 'cannot say'],
  ); // the paper's accuracy is judged at paper scale only
  const notes = experimentNotes(e, r);
  assert.match(notes[0], /^ann seed-0 .* differs from the protocol/);
  assert.match(notes[1], /used the clipped equivalent-gradient mask/);
  assert.match(notes[2], /learned their thresholds per channel/);
  assert.match(notes[3], /^1 of 6 runs diverged .*: stc seed-2$/);
  assert.match(notes[4], /^1 of 6 runs have not finished: ann seed-2$/);
});

test('report.json data -> verdicts: a T study per mask, a diverged point never an accuracy', () => {
  const e = findExperiment('fig5-T-fmnist')!;
  const pts: [string, number, number | null, RunStatus][] = [
    ['relu', 2, null, 'diverged'],
    ['relu', 8, 0.87, 'done'],
    ['relu', 16, 0.89, 'done'],
    ['clipped', 2, 0.84, 'done'],
    ['clipped', 8, 0.885, 'done'],
  ];
  const r: RenderInput = {
    experiment: e.id,
    scale: 'cpu',
    protocol: protocolOf(['relu', 'clipped']),
    runs: pts.map(([g, T, acc, status]) =>
      reportRun(`sweep-${g} T${T}_theta0-0.8`, { gradient: g, T, theta0: 0.8, test_accuracy: acc, status }),
    ),
    measured: noMeasured,
  };
  assert.deepEqual(
    experimentVerdicts(e, r).map((v) => v.text.split(':')[0]),
    ['diverged (relu mask)', 'disagrees (relu mask)', 'disagrees (clipped mask)'],
  );
  assert.deepEqual(experimentNotes(e, r), [
    '1 of 5 runs diverged (stopped on a non-finite loss or gradient; no accuracy): sweep-relu T2_theta0-0.8',
  ]);
});

test('the committed reports: verdicts and notes are a function of their report.json data alone', () => {
  const results = new URL('../../../docs/results/', import.meta.url);
  let judged = 0;
  for (const dir of readdirSync(results)) {
    const path = new URL(`${dir}/report.json`, results);
    if (!existsSync(path)) continue;
    const r = JSON.parse(readFileSync(path, 'utf8')) as ReportFile;
    if (r.format !== REPORT_FORMAT) continue; // an older report keeps its first rendering
    const e = findExperiment(r.experiment)!;
    assert.deepEqual(experimentVerdicts(e, r), r.verdicts, dir);
    assert.deepEqual(experimentNotes(e, r), r.notes, dir);
    judged++;
  }
  assert.ok(judged >= 9, `${judged} reports of the current format`);
});
