#!/usr/bin/env node
// The comparison that sets the trainer's default training method, stated before it is run.
//
// Three settings (data set, network, budget), three methods (the ANN twin, the clipped mask with
// fixed thresholds, the clipped mask with thresholds learned per channel), seeds 0, 1, 2, every
// run by `stcsnn train` of ONE build (--stcsnn points at it) at --threads 1, JOBS side by side.
// The rule (RULE below, rendered into rule.md and summary.md) decides from the runs' final test
// accuracies, paired by seed. The paper's ReLU mask is not a candidate (it runs away on CIFAR-10:
// docs/results/table2-cifar10-vgg16); per-layer thresholds stay an option, not a candidate.
//
//   node bench/method-choice.mjs rule                          writes docs/results/method-choice/rule.md
//   node bench/method-choice.mjs run --cifar10 DIR --fmnist DIR [--stcsnn MAIN_JS] [--out DIR] [--jobs 2] [--only SETTING]
//   node bench/method-choice.mjs summary [--out DIR] [--json]  writes docs/results/method-choice/
//   node bench/method-choice.mjs table2 --cifar10 DIR --learn-theta MODE [--out DIR]
//       the CIFAR-10 settings as Table 2 rows: the MODE runs (the chosen default) and their ANN twins
//       linked into `stcsnn reproduce`'s layout and reported there (--report-only), the reports
//       copied to docs/results/table2-cifar10-<arch>-clipped-theta-<MODE>-e<epochs>-s<seeds>/
//
// `run` is resumable: a finished run (result.json) is kept, a started one resumed.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../scripts/script-cli.mjs';
import { publishSummary, runRow, SEEDS, runCommand, SETTINGS, studyArgs, summaryHead } from './study.mjs';

const { opt, command, settings, out, dest } = studyArgs(import.meta.url, {
  script: 'method-choice.mjs',
  name: 'method-choice',
  commands: {
    rule: 'write the decision rule (docs/results/method-choice/rule.md)',
    run: 'train every setting x method x seed that has not finished (resumable)',
    summary:
      "the runs table, paired differences, the rule and the decision (docs/results/method-choice/summary.md, summary.json, each run's config/result/log)",
    table2:
      'the CIFAR-10 settings as Table 2 rows (STC with --learn-theta M, and the ANN twins), reported by stcsnn reproduce --report-only into docs/results/',
  },
  extraUsage: `
  --learn-theta M  table2: the threshold mode of the STC runs reported (off or channel)
  --bench FILE     summary: the npm run bench JSON (--out) whose learned/fixed ratios decide (b)`,
  extraOptions: { 'learn-theta': { type: 'string' }, bench: { type: 'string' } },
});

/** The methods, by name, with the flags that select each (the ANN twin first). */
const METHODS = [
  { id: 'ann', name: 'ANN twin', flags: ['--mode', 'ann'] },
  {
    id: 'clipped-off',
    name: 'clipped mask, fixed thresholds',
    flags: ['--gradient', 'clipped', '--learn-theta', 'off'],
  },
  {
    id: 'clipped-channel',
    name: 'clipped mask, thresholds per channel',
    flags: ['--gradient', 'clipped', '--learn-theta', 'channel'],
  },
];
/** The candidate (learned per-channel thresholds) and what it must beat (fixed thresholds). */
const CANDIDATE = 'clipped-channel';
const BASELINE = 'clipped-off';
/** Standard errors the mean paired gain must exceed. */
const SE_FACTOR = 2;
/** Settings (of SETTINGS.length) in which it must. */
const SETTINGS_NEEDED = 2;
/** The most a learned-threshold step may cost over a fixed-threshold step (npm run bench). */
const MAX_STEP_COST = 1.05;

const RULE = [
  `For each setting, d_s = accuracy(${CANDIDATE}) - accuracy(${BASELINE}) on seed s (final test accuracy, points),`,
  `mean d, standard error se = sd(d) / sqrt(n), 95 % interval mean +- t(0.975, n-1) se.`,
  `Thresholds learned per channel are the trainer's default only if (a) the mean gain exceeds ${SE_FACTOR} se in at`,
  `least ${SETTINGS_NEEDED} of the ${SETTINGS.length} settings and falls below -${SE_FACTOR} se in none, and (b) \`npm run bench\``,
  `measures their step at most ${MAX_STEP_COST}x the fixed-threshold step on VGG16 and ResNet18. Otherwise the default is`,
  `the clipped mask with fixed thresholds (fewer parameters, the cheaper step). Every setting needs ${SEEDS.length} seeds of`,
  `both methods for a decision; with fewer the decision is "not decided".`,
];

const runDir = (s, m, seed) => join(out, s.id, m.id, `seed-${seed}`);

function ruleMarkdown() {
  return [
    '# The rule that sets the default training method (stated before the runs)',
    '',
    `Written by \`node bench/method-choice.mjs rule\` (its constants are the rule's one home).`,
    '',
    `Settings (width 0.25, T 8, cosine schedule, full training sets, batch 32, lr 0.1, seeds ${SEEDS.join(', ')}):`,
    ...SETTINGS.map((s) => `- ${s.name}: \`stcsnn train ${s.flags.join(' ')} --seed S --threads 1\``),
    '',
    'Methods:',
    ...METHODS.map((m) => `- ${m.name}: \`${m.flags.join(' ')}\``),
    '',
    ...RULE,
    '',
  ].join('\n');
}

/** The learned-per-channel / fixed step ratios of the --bench file, per network; null without one. */
function benchCost() {
  if (opt.bench === undefined) return null;
  const b = JSON.parse(readFileSync(resolve(opt.bench), 'utf8'));
  const rows = (b.ratios ?? []).filter(
    (r) => r.variant === 'channel' && /\/ stc clipped \(fixed\) train ms$/.test(r.name),
  );
  if (!rows.length) throw new UsageError(`--bench ${opt.bench}: no per-channel / fixed train ratio in it`);
  return rows.map((r) => ({ arch: r.arch, value: r.value, cpu: b.machine?.cpu ?? 'processor not recorded' }));
}

async function summary() {
  const { pairedDifference } = await import('../dist/app/reproduce/report-numbers.js');
  const rows = [];
  const decisions = [];
  for (const s of SETTINGS) {
    const acc = {};
    for (const m of METHODS) {
      acc[m.id] = new Map();
      for (const seed of SEEDS) {
        const row = { setting: s.id, method: m.id, seed, ...runRow(runDir(s, m, seed)) };
        if (row.test_accuracy !== null) acc[m.id].set(seed, row.test_accuracy);
        rows.push(row);
      }
    }
    const gain = pairedDifference(acc[CANDIDATE], acc[BASELINE]);
    const gap = Object.fromEntries(METHODS.slice(1).map((m) => [m.id, pairedDifference(acc[m.id], acc.ann)]));
    decisions.push({ setting: s.id, name: s.name, gain, gap_to_ann: gap });
  }
  const complete = decisions.every((d) => d.gain.n === SEEDS.length);
  const above = decisions.filter((d) => d.gain.se !== null && d.gain.mean > SE_FACTOR * d.gain.se).length;
  const below = decisions.filter((d) => d.gain.se !== null && d.gain.mean < -SE_FACTOR * d.gain.se).length;
  const accuracyPart = above >= SETTINGS_NEEDED && below === 0;
  const cost = benchCost();
  const costPart = cost === null ? null : cost.every((c) => c.value <= MAX_STEP_COST);
  const costText =
    cost === null
      ? '(b) not measured (no --bench file)'
      : `(b) ${costPart ? 'holds' : 'fails'}: per-channel / fixed step ${cost.map((c) => `${c.value.toFixed(3)} (${c.arch})`).join(', ')} in ${opt.bench} (${cost[0].cpu})`;
  const aText = `(a) ${accuracyPart ? 'holds' : 'fails'}: ${above} of ${SETTINGS.length} settings above ${SE_FACTOR} se, ${below} below -${SE_FACTOR} se`;
  const decision = !complete
    ? 'not decided: a setting lacks seeds'
    : accuracyPart && costPart
      ? `${aText}; ${costText}: the default is the clipped mask with thresholds learned per channel`
      : accuracyPart && costPart === null
        ? `${aText}; ${costText}: not decided`
        : `${aText}; ${costText}: the default is the clipped mask with fixed thresholds`;
  const f = (v, d = 2) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const md = [
    ...summaryHead({
      title: 'Which training method is the default: the comparison',
      script: 'method-choice.mjs',
      rows,
      rule: RULE,
    }),
    '| setting | per-channel - fixed: mean | se | 95 % interval | fixed - ANN | per-channel - ANN |',
    '| --- | --- | --- | --- | --- | --- |',
    ...decisions.map((d) => {
      const g = d.gain;
      const iv = (p) => (p.mean === null ? '-' : `${f(p.mean)} [${f(p.low)}, ${f(p.high)}]`);
      return `| ${d.name} | ${f(g.mean)} | ${f(g.se)} | ${g.low === null ? '-' : `[${f(g.low)}, ${f(g.high)}]`} | ${iv(d.gap_to_ann[BASELINE])} | ${iv(d.gap_to_ann[CANDIDATE])} |`;
    }),
    '',
    `**Decision (computed):** ${decision}.`,
    '',
    'Training time (train seconds, summed over epochs) of each STC run against its ANN twin of the same seed, the runs',
    'two side by side (the first Fashion-MNIST and VGG16 runs shared the machine with development work: README.md beside this file says which):',
    '',
    ...SETTINGS.flatMap((s) =>
      METHODS.slice(1).map((m) => {
        const r = SEEDS.flatMap((seed) => {
          const a = rows.find((x) => x.setting === s.id && x.method === 'ann' && x.seed === seed);
          const b = rows.find((x) => x.setting === s.id && x.method === m.id && x.seed === seed);
          return a?.train_seconds && b?.train_seconds ? [b.train_seconds / a.train_seconds] : [];
        });
        return `- ${s.name}, ${m.name}: ${r.length ? r.map((x) => `${x.toFixed(2)}x`).join(', ') : '-'} the ANN's`;
      }),
    ),
    '',
    '## Runs',
    '',
    '| setting | method | seed | test accuracy (%) | train seconds |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| ${r.setting} | ${r.method} | ${r.seed} | ${f(r.test_accuracy)} | ${f(r.train_seconds, 0)} |`,
    ),
    '',
  ].join('\n');
  const dirOf = (r) => [
    SETTINGS.find((x) => x.id === r.setting),
    METHODS.find((x) => x.id === r.method),
    r.seed,
  ];
  publishSummary({
    dest,
    rows,
    armKey: 'method',
    from: (r) => runDir(...dirOf(r)),
    md,
    json: {
      rule: RULE.join(' '),
      decision,
      accuracy_part_holds: complete ? accuracyPart : null,
      settings: decisions,
      runs: rows,
    },
    printJson: opt.json,
  });
}

/** The CIFAR-10 settings as Table 2 rows, reported by `stcsnn reproduce --report-only` (see the usage). */
async function table2() {
  const mode = opt['learn-theta'];
  const method = METHODS.find((m) => m.id === `clipped-${mode}`);
  if (!method) throw new UsageError(`--learn-theta must be off or channel, got '${mode ?? ''}'`);
  if (opt.cifar10 === undefined) throw new UsageError('--cifar10 is required for table2');
  const ann = METHODS.find((m) => m.id === 'ann');
  const reportOut = join(out, 'table2');
  for (const s of SETTINGS.filter((x) => x.data === 'cifar10')) {
    const exp = `table2-cifar10-${s.arch}`;
    for (const [m, side] of [
      [method, 'stc'],
      [ann, 'ann'],
    ]) {
      const group = join(reportOut, exp, side);
      mkdirSync(group, { recursive: true });
      for (const seed of SEEDS) {
        const link = join(group, `seed-${seed}`);
        rmSync(link, { force: true, recursive: false });
        symlinkSync(runDir(s, m, seed), link);
      }
    }
    const cli = resolve('dist/app/cli/main.js');
    const args = [
      ...['reproduce', exp, '--scale', 'cpu', '--gradient', 'clipped', '--learn-theta', mode],
      ...['--epochs', String(s.epochs), '--seeds', String(SEEDS.length), '--data-dir', resolve(opt.cifar10)],
      ...['--out', reportOut, '--report-only'],
    ];
    await new Promise((ok, fail) => {
      const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
      p.on('close', (code) =>
        code === 0 ? ok() : fail(new Error(`stcsnn ${args.join(' ')}: exit ${code}`)),
      );
    });
    const to = resolve(`docs/results/${exp}-clipped-theta-${mode}-e${s.epochs}-s${SEEDS.length}`);
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { recursive: true });
    for (const f of ['report.md', 'report.json', 'figures'])
      cpSync(join(reportOut, exp, f), join(to, f), { recursive: true });
    console.log(`method-choice: ${exp}: ${to}`);
  }
}

await runCommand(command, {
  dest,
  rule: ruleMarkdown,
  study: { opt, settings, arms: METHODS, runDir, tag: 'method-choice' },
  more: { summary, table2 },
});
