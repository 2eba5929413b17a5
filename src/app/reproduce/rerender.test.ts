/**
 * Rendering a report again from its report.json alone (`stcsnn reproduce EXP --from-json PATH`):
 * an older report.json (no `format`) is converted and judged by the current rules with its
 * measured data unchanged; a current one renders to itself; bad input is one line and exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { renderReport } from './render.js';
import { rerenderReport, type ReportFile } from './report.js';
import { runCli } from '../cli/cli-run.test-support.js';

const root = mkdtempSync(join(tmpdir(), 'stcsnn-rerender-'));
after(() => rmSync(root, { recursive: true, force: true }));

const head = {
  source: 's',
  scale: 'cpu',
  claim: 'c',
  data: 'fashion-mnist',
  command: 'stcsnn reproduce X --scale cpu',
  machine: { cores: 2, cpu: 'x', platform: 'linux-x64', node: 'v20', backend: 'wasm' },
  wall_seconds: 1,
  figures: [{ name: 'f', caption: 'a figure', svg: 'figures/f.svg' }],
};
const run = (label: string, status: string, acc: number | null, extra: Record<string, unknown> = {}) => ({
  label,
  dir: label.replace(' ', '/'),
  status,
  test_accuracy: acc,
  best_test_accuracy: acc,
  epochs: acc === null ? null : 2,
  train_seconds: acc === null ? null : 10,
  backend: acc === null ? null : 'libtorch',
  ...extra,
});

/** An older Table 2 report.json, as the committed ones were written. */
const legacyTwin = {
  experiment: 'table2-fmnist-resnet18',
  title: 'old title',
  ...head,
  protocol: {
    arch: 'resnet18',
    width: 0.25,
    epochs: 2,
    lrSchedule: 'cosine',
    seeds: 3,
    gradients: ['relu'],
    dataset: 'fashion-mnist',
  },
  tables: [
    { title: 'Table 2 row', header: ['quantity', 'ours', 'paper', 'd'], rows: [] },
    {
      title: 'STCB inputs of the STC network (stc seed-0, test set) beside the range the paper gives',
      header: ['layer', 'input range (ours)', 'saturated, x >= S (ours)', 'fire rate (ours)', 'paper'],
      rows: [
        ['l1', '-279.30 .. 320.31', '-', '0.2578', '-1 .. 1'],
        ['l2', '-1.58e+10 .. 1.56e+10', '3.07%', '0.0307', '-1 .. 1'],
        ['l3', '-3565.67 .. -0.00', '-', '0.0000', '-1 .. 1'],
      ],
    },
  ],
  verdicts: [{ claim: 'c', agrees: true, text: 'agrees: STC is within 0.92 points of its ANN twin' }],
  runs: [
    run('stc seed-0', 'done', 0.8887),
    run('stc seed-1', 'done', 0.8916),
    run('stc seed-2', 'done', 0.8946),
    run('ann seed-0', 'done', 0.9016),
    run('ann seed-1', 'done', 0.9021),
    run('ann seed-2', 'done', 0.8989),
  ],
  notes: ['the STC network ran away. The batch-norm scale before such a layer grows'],
};

/** An older Fig. 5 T report.json with a diverged (`failed`) point. */
const legacySweep = {
  experiment: 'fig5-T-fmnist',
  title: 'old',
  ...head,
  protocol: { ...legacyTwin.protocol, arch: 'vgg11', seeds: 1, gradients: ['relu'] },
  tables: [],
  verdicts: [{ claim: 'collapse', agrees: true, text: 'agrees (relu mask): ... (diverged runs count as 0)' }],
  runs: [
    run('sweep-relu T2_theta0-0.8', 'failed', null, { error: 'non-finite gradient' }),
    run('sweep-relu T4_theta0-0.8', 'done', 0.8402),
    run('sweep-relu T8_theta0-0.8', 'done', 0.8694),
    run('sweep-relu T16_theta0-0.8', 'done', 0.8884),
  ],
  notes: [],
};

function put(name: string, value: unknown): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, 'report.json');
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

test('an older Table 2 report.json: the same measured data, judged by the current rules', () => {
  const p = put('twin', legacyTwin);
  const r = rerenderReport(p, 'table2-fmnist-resnet18', 'cmd');
  assert.equal(r.format, 2);
  assert.equal(r.rerendered_by, 'cmd');
  assert.equal(r.command, legacyTwin.command);
  assert.deepEqual(r.figures, legacyTwin.figures);
  assert.deepEqual(
    r.runs.map((x) => [x.label, x.status, x.test_accuracy, x.mode, x.gradient]),
    legacyTwin.runs.map((x) => [
      x.label,
      'done',
      x.test_accuracy,
      x.label.slice(0, 3),
      x.label.startsWith('stc') ? 'relu' : null,
    ]),
  );
  assert.deepEqual(
    { ...r.measured.stcb_test, layers: r.measured.stcb_test!.layers.slice(0, 2) },
    {
      run: 'stc seed-0',
      layers: [
        {
          layer: 'l1',
          input_min: -279.3,
          input_max: 320.31,
          saturated_share: null,
          fire_rate: 0.2578,
          printed_range: '-279.30 .. 320.31',
        },
        {
          layer: 'l2',
          input_min: -1.58e10,
          input_max: 1.56e10,
          saturated_share: 0.0307,
          fire_rate: 0.0307,
          printed_range: '-1.58e+10 .. 1.56e+10',
        },
      ],
    },
  );
  // the gap is paired by seed: -0.92 with the 95 % interval [-2.03, +0.18] reaches both sides of
  // -1 point, so three seeds cannot say (the old rule, the paper's gap and spreads, said disagrees)
  assert.equal(r.verdicts[0].outcome, 'cannot say');
  assert.match(
    r.verdicts[0].text,
    /^cannot say: STC - ANN = -0\.92 points, 95 % interval \[-2\.03, \+0\.18\] over 3 seeds/,
  );
  // best over seeds is named as such; the printed test-set table reads as it did
  assert.ok(r.tables[0].rows.some((row) => row[0] === 'STC best over seeds' && row[1] === '89.46%'));
  assert.deepEqual(r.tables[1].rows, legacyTwin.tables[1].rows);
  assert.match(r.tables[2].title, /last training epoch: not recorded/);
  const note = r.notes.find((n) => /ran away/.test(n))!;
  assert.match(note, /l2 reached/);
  assert.doesNotMatch(note, /batch-norm scale/);
  const md = readFileSync(join(root, 'twin', 'report.md'), 'utf8');
  assert.match(md, /rendered again from report\.json .*`cmd`/);
  assert.match(md, /best epoch's test accuracy/);
  assert.doesNotMatch(md, /\| best \|/);
  // a current report.json renders to itself
  const again = rerenderReport(p, 'table2-fmnist-resnet18', 'cmd');
  assert.deepEqual(again, JSON.parse(JSON.stringify(r)));
  assert.deepEqual(renderReport(again), { tables: r.tables, verdicts: r.verdicts, notes: r.notes });
});

test('an older sweep report.json: a failed point is a diverged run and a diverged verdict', () => {
  const r = rerenderReport(put('sweep', legacySweep), 'fig5-T-fmnist', 'cmd');
  assert.equal(r.runs[0].status, 'diverged');
  assert.equal(r.runs[0].error, 'non-finite gradient');
  assert.deepEqual(
    r.tables[0].rows.map((row) => row.slice(0, 2)),
    [
      ['2', 'diverged'],
      ['4', '84.02%'],
      ['8', '86.94%'],
      ['16', '88.84%'],
    ],
  );
  const collapse = r.verdicts.find((v) => /collapses/.test(v.claim))!;
  assert.equal(collapse.outcome, 'diverged');
  assert.doesNotMatch(collapse.text, /count as 0/);
  assert.ok(r.notes.some((n) => /1 of 4 runs diverged/.test(n)));
});

test('--from-json: bad input is one line naming the file, exit 2', () => {
  const cases: [string, string, RegExp][] = [
    ['fig5-T-fmnist', join(root, 'nowhere', 'report.json'), /cannot read .*nowhere.*ENOENT/],
    ['fig5-T-fmnist', put('notjson', '{ nope'), /notjson.*report\.json is not valid JSON/],
    [
      'fig5-T-fmnist',
      put('foreign', legacyTwin),
      /is the report of table2-fmnist-resnet18, not of fig5-T-fmnist/,
    ],
    [
      'fig5-T-fmnist',
      put('partial', { experiment: 'fig5-T-fmnist', runs: 3 }),
      /is not a report\.json of stcsnn reproduce: /,
    ],
    [
      'fig6-9-fmnist',
      put('stats', {
        ...legacySweep,
        experiment: 'fig6-9-fmnist',
        tables: [{ title: 'Fig. 6-9: x', header: [], rows: [] }],
      }),
      /holds its Fig\. 6-9 figures only rounded/,
    ],
  ];
  for (const [exp, path, re] of cases) {
    const r = runCli(['reproduce', exp, '--from-json', path]);
    assert.equal(r.code, 2, `${path}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
  const ok = runCli(['reproduce', 'fig5-T-fmnist', '--from-json', put('ok', legacySweep), '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as ReportFile).verdicts[0].outcome, 'diverged');
});
