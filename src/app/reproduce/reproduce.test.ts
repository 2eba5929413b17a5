/**
 * `stcsnn reproduce`: every experiment at smoke scale writes a report whose tables hold our
 * numbers beside the paper's and whose figures exist; a run killed after its first finished run
 * resumes (keeping that run) and ends with the same tables as an uninterrupted one; bad input is
 * one line and exit 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { EXPERIMENTS, findExperiment, PAPER_STCB_INPUT_RANGE } from './experiments.js';
import { isImageFolderCopy, resolveData } from './resolve-data.js';
import { defaultOut, experimentDir, reportFile } from './layout.js';
import {
  NOT_IN_TEXT,
  RUNAWAY_FACTOR,
  rerenderReport,
  writeExperimentReport,
  type ReportFile,
} from './report.js';
import { annFromReport, protocolOf, runExperiment } from './runner.js';
import { reportMarkdown } from './report-markdown.js';
import { experimentCautions } from './verdicts.js';
import { TRAIN_DEFAULTS } from '../config/config.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'stcsnn-reproduce-'));
const shared = join(root, 'all');

before(async () => {
  await initBackend(backend);
});
after(() => rmSync(root, { recursive: true, force: true }));

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
}

/** Runs the CLI; with `killAfterFirstRun`, SIGKILL as soon as the first run reports done. */
function runCli(args: readonly string[], killAfterFirstRun = false): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killAfterFirstRun && /: done, test accuracy/.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout }));
  });
}

const reports = new Map<string, ReportFile>();

test('every experiment at smoke scale: tables with ours and the paper, verdicts, figures', async () => {
  for (const exp of EXPERIMENTS) {
    const data = await runExperiment({ experiment: exp, scale: 'smoke', out: shared, backend });
    const report = await writeExperimentReport(data, { command: 'test', backend, wallSeconds: 0 });
    reports.set(exp.id, report);
    const dir = experimentDir(shared, exp.id);
    const md = readFileSync(reportFile(dir, 'markdown'), 'utf8');
    assert.ok(report.tables.length > 0, exp.id);
    for (const t of report.tables) {
      assert.ok(
        t.header.some((h) => /\bours\b/.test(h)),
        `${exp.id}: a column of ours in ${t.header.join('|')}`,
      );
      const paperCol = t.header.indexOf('paper');
      assert.ok(paperCol >= 0, `${exp.id}: a paper column in ${t.header.join('|')}`);
      assert.ok(t.rows.length > 0, `${exp.id}: rows`);
      for (const r of t.rows) assert.equal(r.length, t.header.length);
      if (exp.paper && t === report.tables[0])
        assert.ok(t.rows.some((r) => r[paperCol] === `${exp.paper!.stc.mean!.toFixed(2)}%`));
      else if (exp.paper) {
        // the twin's further tables: the STC run's STCB inputs per layer (test set), its
        // per-epoch STCB figures (log.jsonl) and the first layer over the epochs, beside the
        // paper's range
        assert.match(t.title, /^(STCB (inputs|figures)|The first STCB layer)/);
        const [lo, hi] = PAPER_STCB_INPUT_RANGE[exp.dataset];
        const want = /^The first/.test(t.title) ? `inputs ${lo} .. ${hi}` : `${lo} .. ${hi}`;
        assert.ok(t.rows.length > 0 && t.rows.every((r) => r[paperCol] === want));
        if (/^STCB inputs/.test(t.title))
          assert.ok(
            t.rows.every((r) => /^\d+\.\d\d%$/.test(r[2])),
            'the saturated share is recorded',
          );
      } else
        assert.ok(
          t.rows.every((r) => r[paperCol] === NOT_IN_TEXT),
          exp.id,
        );
      assert.ok(md.includes(`| ${t.header.join(' | ')} |`), `${exp.id}: the table is in report.md`);
    }
    assert.ok(report.verdicts.length > 0, exp.id);
    for (const v of report.verdicts) {
      assert.match(v.text, /^(agrees|disagrees|diverged|cannot say)/);
      assert.ok(v.text.startsWith(v.outcome), v.text);
    }
    assert.ok(report.figures.length > 0, exp.id);
    if (exp.kind === 'twin') {
      assert.ok(
        report.tables.length >= 3,
        `${exp.id}: the accuracy table, the STC run's inputs and its per-epoch STCB figures`,
      );
      // the training curves of every run of the twin (STC and ANN), one series per run
      const curves = report.figures.find((f) => f.name === 'training-curves');
      assert.ok(curves, `${exp.id}: training curves`);
      const svg = readFileSync(join(dir, curves.svg), 'utf8');
      for (const r of report.runs) assert.ok(svg.includes(r.label), `${exp.id}: ${r.label} in the curves`);
    }
    for (const f of report.figures) {
      const p = join(dir, f.svg);
      assert.ok(statSync(p).size > 1000, `${p} written`);
      assert.match(readFileSync(p, 'utf8').slice(0, 200), /<svg/);
      assert.ok(md.includes(f.svg));
    }
    assert.ok(
      report.runs.every((r) => r.status === 'done'),
      `${exp.id}: all runs done`,
    );
    // report.json alone renders the same report (what --from-json does when the runs are gone)
    const again = rerenderReport(reportFile(dir, 'json'), exp.id, 'again');
    assert.deepEqual(
      { tables: again.tables, verdicts: again.verdicts, notes: again.notes },
      JSON.parse(JSON.stringify({ tables: report.tables, verdicts: report.verdicts, notes: report.notes })),
      `${exp.id}: rendered again from report.json`,
    );
  }
  // the statistics read the T study's sweep instead of training their own
  assert.ok(!existsSync(join(experimentDir(shared, 'fig6-9-fmnist'), 'sweep-relu')));
  assert.deepEqual(
    reports.get('fig6-9-fmnist')!.runs.map((r) => r.test_accuracy),
    reports.get('fig5-T-fmnist')!.runs.map((r) => r.test_accuracy),
  );
});

test('a twin whose STC inputs ran away gets a note naming the layer and only its measured figures', async () => {
  const exp = findExperiment('table2-cifar10-vgg16')!;
  assert.ok(!reports.get(exp.id)!.notes.some((n) => /ran away/.test(n)), 'the smoke run did not run away');
  const out = join(root, 'runaway');
  cpSync(experimentDir(shared, exp.id), experimentDir(out, exp.id), { recursive: true });
  const stcDir = join(experimentDir(out, exp.id), 'stc');
  const resultPath = join(stcDir, 'result.json');
  const result = JSON.parse(readFileSync(resultPath, 'utf8')) as { spike_stats: { inputMax: number }[] };
  result.spike_stats[0].inputMax = RUNAWAY_FACTOR * 1e3;
  writeFileSync(resultPath, JSON.stringify(result));
  // first as a log written before the trainer recorded per-epoch STCB figures
  const oldLog = join(stcDir, 'log.jsonl');
  writeFileSync(
    oldLog,
    readFileSync(oldLog, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const { stcb: _stcb, warning: _warning, ...rest } = JSON.parse(l) as Record<string, unknown>;
        return `${JSON.stringify(rest)}\n`;
      })
      .join(''),
  );
  const report = async () => {
    const data = await runExperiment({ experiment: exp, scale: 'smoke', out, backend, reportOnly: true });
    return writeExperimentReport(data, { command: 'test', backend, wallSeconds: 0 });
  };
  const before = await report();
  const note = before.notes.find((n) => /ran away/.test(n));
  assert.ok(note, before.notes.join('\n'));
  assert.match(note, /blocks\.0\.conv reached .*1\.00e\+5/);
  assert.match(note, /--gradient clipped/);
  // nothing about batch norm was measured in this log: the note says so and claims nothing of it
  assert.match(note, /per-epoch training figures \(log\.jsonl `stcb`\): not recorded/);
  assert.doesNotMatch(note, /gamma/);
  assert.ok(before.tables.some((t) => /in its last training epoch: not recorded/.test(t.title)));
  // the same run with per-epoch STCB figures in its log (the trainer's `stcb` key)
  const logPath = join(stcDir, 'log.jsonl');
  const lines = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const stcb = (gamma: number) => [
    {
      layer: 'blocks.0.conv',
      samples: 256,
      S: 2.5,
      input_max: 5e5,
      input_p999: 4e4,
      saturated_share: 0.25,
      nonpositive_share: 0.5,
      fire_rate: 0.3,
      bn: { layer: 'stem_bn', gamma_abs_mean: gamma, gamma_abs_max: 2 * gamma },
    },
  ];
  writeFileSync(
    logPath,
    lines
      .map((l, i) => JSON.stringify(typeof l.epoch === 'number' ? { ...l, stcb: stcb(10 ** (i + 1)) } : l))
      .join('\n') + '\n',
  );
  const after = await report();
  const note2 = after.notes.find((n) => /ran away/.test(n))!;
  assert.match(note2, /25\.00% at or above S, 50\.00% at or below 0/);
  assert.match(note2, /stem_bn mean \|gamma\|/);
  const last = after.tables.find((t) => /in its last training epoch \(epoch \d+, log\.jsonl\)/.test(t.title));
  assert.ok(last, after.tables.map((t) => t.title).join('\n'));
  assert.deepEqual(last.rows[0].slice(0, 7), [
    'blocks.0.conv',
    '5.00e+5',
    '4.00e+4',
    '25.00%',
    '50.00%',
    '0.3000',
    'stem_bn',
  ]);
  assert.ok(after.measured.stcb_log && after.measured.stcb_log.epochs.length === lines.length);
});

test('reproduce killed after its first finished run resumes and ends with the same tables', async () => {
  const out = join(root, 'killed');
  const args = [
    'reproduce',
    'table2-fmnist-resnet18',
    '--scale',
    'smoke',
    '--out',
    out,
    '--backend',
    backend,
  ];
  const killed = await runCli(args, true);
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  const resumed = await runCli([...args, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /stc seed-0: finished before, kept/);
  const report = JSON.parse(resumed.stdout) as ReportFile;
  const want = reports.get('table2-fmnist-resnet18');
  assert.ok(want, 'the uninterrupted run of the first test');
  assert.deepEqual(report.tables, want.tables);
  assert.deepEqual(report.verdicts, want.verdicts);
});

test('--gradient clipped --learn-theta layer: a Table 2 row whose STC runs use that method, said in the report', async () => {
  const out = join(root, 'clipped');
  const r = await runCli([
    'reproduce',
    'table2-cifar10-vgg16',
    '--scale',
    'smoke',
    '--gradient',
    'clipped',
    '--learn-theta',
    'layer',
    '--ann-from',
    reportFile(experimentDir(shared, 'table2-cifar10-vgg16'), 'json'),
    '--out',
    out,
    '--backend',
    backend,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as ReportFile;
  assert.deepEqual(report.protocol.gradients, ['clipped']);
  assert.equal(report.protocol.learnTheta, 'layer');
  assert.ok(report.notes.some((n) => /the STC runs used the clipped equivalent-gradient mask/.test(n)));
  assert.ok(report.notes.some((n) => /the STC runs learned their thresholds per layer/.test(n)));
  const dir = experimentDir(out, 'table2-cifar10-vgg16');
  const configOf = (mode: string) =>
    JSON.parse(readFileSync(join(dir, mode, 'config.json'), 'utf8')) as {
      stc: { gradient: string; learnTheta: string };
    };
  assert.equal(configOf('stc').stc.gradient, 'clipped');
  assert.equal(configOf('stc').stc.learnTheta, 'layer');
  // the ANN twin was taken from the shared run's report, not trained, and the report says so
  assert.ok(!existsSync(join(dir, 'ann')), 'no ANN run trained');
  const ann = report.runs.find((x) => x.mode === 'ann');
  assert.equal(ann?.from, join('..', '..', 'all', 'table2-cifar10-vgg16', 'report.json'));
  assert.ok(report.notes.some((n) => /^ann seed-0 was not trained for this report/.test(n)));
  // ... which is right, since an ANN twin is the same for every method: the trainer's defaults
  // in its STC-only fields
  const sharedAnn = JSON.parse(
    readFileSync(join(experimentDir(shared, 'table2-cifar10-vgg16'), 'ann', 'config.json'), 'utf8'),
  ) as { stc: { gradient: string; learnTheta: string } };
  const { gradient, learnTheta } = sharedAnn.stc;
  assert.deepEqual(
    { gradient, learnTheta },
    { gradient: TRAIN_DEFAULTS.stc.gradient, learnTheta: TRAIN_DEFAULTS.stc.learnTheta },
  );
  // the paper's mask by default: the shared smoke run of the same row
  const dflt = JSON.parse(
    readFileSync(join(experimentDir(shared, 'table2-cifar10-vgg16'), 'stc', 'config.json'), 'utf8'),
  ) as { stc: { gradient: string } };
  assert.equal(dflt.stc.gradient, 'relu');
});

test('bad input: unknown experiment, undefined scale, missing data: one line, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['reproduce', 'table9-nothing'], /unknown experiment 'table9-nothing'; known: table2-fmnist-resnet18/],
    [
      ['reproduce', 'table2-cifar100-vgg16', '--scale', 'cpu'],
      /does not define scale 'cpu' \(it defines: paper, smoke\)/,
    ],
    [
      ['reproduce', 'table2-cifar10-vgg16', '--scale', 'cpu', '--data-dir', join(root, 'empty')],
      /needs cifar10, not found .*YoongiKim\/CIFAR-10-images/,
    ],
    [['reproduce', 'fig5-T-fmnist', '--scale', 'huge'], /--scale/],
    [['reproduce', 'fig5-T-fmnist', '--gradient', 'sideways'], /--gradient.*relu, clipped/],
    [['reproduce', 'fig5-T-fmnist', '--learn-theta', 'sideways'], /--learn-theta.*off, layer, channel/],
    [['reproduce', 'fig5-T-fmnist', '--ann-from', 'x.json'], /--ann-from applies to the Table 2 rows only/],
    [
      ['reproduce', 'fig5-T-fmnist', '--epochs', '0'],
      /^stcsnn: error: --epochs must be an integer in 1\.\.100000, got 0$/,
    ],
    [['reproduce', 'fig5-T-fmnist', '--seeds', 'two'], /^stcsnn: error: --seeds .*two/],
    [
      [
        'reproduce',
        'table2-cifar10-vgg16',
        '--scale',
        'smoke',
        '--ann-from',
        reportFile(experimentDir(shared, 'table2-fmnist-resnet18'), 'json'),
        '--out',
        join(root, 'ann-from-other'),
      ],
      /report.json is the report of table2-fmnist-resnet18, not of table2-cifar10-vgg16$/,
    ],
  ];
  mkdirSync(join(root, 'empty'), { recursive: true });
  for (const [args, re] of cases) {
    const r = await runCli([...args, '--backend', backend]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
});

test('--ann-from refuses a report of the same row at another protocol, naming the field', async () => {
  const exp = findExperiment('table2-cifar10-vgg16')!;
  const smoke = reportFile(experimentDir(shared, exp.id), 'json');
  await assert.rejects(
    () => annFromReport(smoke, exp, protocolOf(exp, 'cpu')),
    /^ConfigError: --ann-from .*report.json: protocol.arch is "vgg11" there, "vgg16" here$/,
  );
  assert.equal((await annFromReport(smoke, exp, protocolOf(exp, 'smoke'))).runs[0].from, smoke);
});

test('--ann-from refuses a twin trained with another lr, by another build or on other data, naming the field; --accept-twin-mismatch takes it and the report says so first', async () => {
  const exp = findExperiment('table2-cifar10-vgg16')!;
  const smoke = reportFile(experimentDir(shared, exp.id), 'json');
  const p = protocolOf(exp, 'smoke');
  const edit = (name: string, f: (run: Record<string, unknown>) => void): string => {
    const r = JSON.parse(readFileSync(smoke, 'utf8')) as { runs: Record<string, unknown>[] };
    for (const run of r.runs) if (run.mode === 'ann') f(run);
    const dir = join(root, `twin-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), JSON.stringify(r));
    return join(dir, 'report.json');
  };
  const lr = edit('lr', (run) => ((run.training as Record<string, unknown>).lr = 0.05));
  await assert.rejects(
    () => annFromReport(lr, exp, p),
    /: ann seed-0: lr is 0\.05 there, 0\.1 here; --accept-twin-mismatch/,
  );
  const code = edit(
    'code',
    (run) => ((run.provenance as Record<string, unknown>).dist_sha256 = 'sha256:other'),
  );
  await assert.rejects(
    () => annFromReport(code, exp, p),
    /: ann seed-0: code is build sha256:other \(commit /,
  );
  const data = edit(
    'data',
    (run) => ((run.provenance as Record<string, unknown>).labels_sha256 = 'sha256:other'),
  );
  await assert.rejects(
    () => annFromReport(data, exp, p),
    /: ann seed-0: data labels \(samples in reader order\) are sha256:other there/,
  );
  const old = edit('old', (run) => {
    delete run.training;
    delete run.provenance;
  });
  await assert.rejects(
    () => annFromReport(old, exp, p),
    /: ann seed-0: training options not recorded .* \(and 1 more\)/,
  );
  const taken = await annFromReport(lr, exp, p, { acceptMismatch: true });
  assert.deepEqual(taken.runs[0].twin_mismatch, ['ann seed-0: lr is 0.05 there, 0.1 here']);
  const cautions = experimentCautions('twin', taken.runs);
  assert.match(
    cautions[0],
    /^the ANN twin was taken although it differs \(--accept-twin-mismatch\): ann seed-0: lr is 0\.05 there/,
  );
  const md = reportMarkdown({
    ...reports.get(exp.id)!,
    runs: [...reports.get(exp.id)!.runs.filter((r) => r.mode === 'stc'), ...taken.runs],
  });
  const firstLines = md.split('\n').slice(0, 6).join('\n');
  assert.match(firstLines, /> \*\*Caution:\*\* the ANN twin was taken although it differs/);
});

test('--ann-from refuses a report whose ANN test accuracy is outside [0, 1] (issue 33, minor)', async () => {
  const exp = findExperiment('table2-cifar10-vgg16')!;
  const smoke = reportFile(experimentDir(shared, exp.id), 'json');
  for (const acc of [5, -1]) {
    const r = JSON.parse(readFileSync(smoke, 'utf8')) as { runs: Record<string, unknown>[] };
    for (const run of r.runs) if (run.mode === 'ann') run.test_accuracy = acc;
    const dir = join(root, `twin-accuracy-${acc}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'report.json'), JSON.stringify(r));
    await assert.rejects(
      () => annFromReport(join(dir, 'report.json'), exp, protocolOf(exp, 'smoke')),
      new RegExp(
        `^ConfigError: --ann-from .*report\\.json: run ann seed-0 has test_accuracy ${acc}, outside \\[0, 1\\]$`,
      ),
    );
  }
});

test('--epochs and --seeds change the protocol (and so what --ann-from accepts) and the default output folder', async () => {
  const exp = findExperiment('table2-cifar10-vgg16')!;
  const p = protocolOf(exp, 'cpu', { epochs: 8, seeds: 3, gradient: 'clipped' });
  assert.deepEqual([p.epochs, p.seeds, p.gradients], [8, 3, ['clipped']]);
  assert.equal(p.arch, protocolOf(exp, 'cpu').arch);
  assert.match(
    defaultOut(exp.id, 'cpu', { gradient: 'clipped', epochs: 8, seeds: 3 }),
    /table2-cifar10-vgg16-cpu-clipped-e8-s3$/,
  );
  const smoke = reportFile(experimentDir(shared, exp.id), 'json');
  await assert.rejects(
    () => annFromReport(smoke, exp, protocolOf(exp, 'smoke', { seeds: 2 })),
    /protocol.seeds is 1 there, 2 here$/,
  );
  const out = join(root, 'two-seeds');
  const r = await runCli([
    'reproduce',
    exp.id,
    '--scale',
    'smoke',
    '--seeds',
    '2',
    '--out',
    out,
    '--backend',
    backend,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as ReportFile;
  assert.equal(report.protocol.seeds, 2);
  assert.deepEqual(report.runs.map((x) => `${x.mode} ${x.dir}`).sort(), [
    'ann ann/seed-0',
    'ann ann/seed-1',
    'stc stc/seed-0',
    'stc stc/seed-1',
  ]);
});

test('a JPEG folder copy of CIFAR-10 is read with the imagefolder reader and named in the report', () => {
  const dir = join(root, 'cifar-jpeg');
  for (const split of ['train', 'test'])
    for (const c of ['airplane', 'cat']) mkdirSync(join(dir, split, c), { recursive: true });
  assert.ok(isImageFolderCopy(dir));
  const exp = findExperiment('table2-cifar10-vgg16')!;
  const d = resolveData(exp, exp.scales.cpu!, dir);
  assert.equal(d.dataset, 'imagefolder');
  assert.equal(d.dataDir, dir);
  assert.match(d.copy, /JPEG folder copy of CIFAR-10 .*YoongiKim/);
  assert.ok(!isImageFolderCopy(join(root, 'empty')));
});
