#!/usr/bin/env node
// Whether bf16 training is as accurate as fp32: the comparison that decides what
// `--precision auto` picks where bfloat16 is native (BF16_SHOWN_EQUAL in
// src/lib/engine/precision.ts), stated before it is run.
//
// The three settings of the method-choice study (bench/study.mjs), the trainer's default STC method
// (no --gradient or --learn-theta flag: the clipped mask with fixed thresholds), --precision fp32
// and --precision bf16, seeds 0, 1, 2, every run by `stcsnn train` of ONE build (--stcsnn points at
// it) at --threads 1, JOBS side by side. The rule (RULE below, rendered into rule.md and
// summary.md) decides from the runs' final test accuracies, paired by seed.
//
//   node bench/precision-choice.mjs rule                          writes docs/results/precision-choice/rule.md
//   node bench/precision-choice.mjs run --cifar10 DIR --fmnist DIR [--stcsnn MAIN_JS] [--out DIR] [--jobs 2] [--only SETTING]
//   node bench/precision-choice.mjs summary [--out DIR] [--json]  writes docs/results/precision-choice/
//
// `run` is resumable: a finished run (result.json) is kept, a started one resumed.
import { join } from 'node:path';
import { publishSummary, runRow, SEEDS, runCommand, SETTINGS, studyArgs, summaryHead } from './study.mjs';

const { opt, command, settings, out, dest } = studyArgs(import.meta.url, {
  script: 'precision-choice.mjs',
  name: 'precision-choice',
  commands: {
    rule: 'write the decision rule (docs/results/precision-choice/rule.md)',
    run: 'train every setting x precision x seed that has not finished (resumable)',
    summary: 'the runs table, paired differences, the rule and the decision (docs/results/precision-choice/)',
  },
});

/** The arms: the reference first. */
const ARMS = [
  { id: 'fp32', name: 'fp32', flags: ['--precision', 'fp32'] },
  { id: 'bf16', name: 'bf16 convolutions', flags: ['--precision', 'bf16'] },
];
/** How far below fp32 (points) bf16 may be and still count as equal. */
const TOLERANCE = 0.3;

const RULE = [
  'For each setting, d_s = accuracy(bf16) - accuracy(fp32) on seed s (final test accuracy, points), mean d,',
  'standard error se = sd(d) / sqrt(n), 95 % interval mean +- t(0.975, n-1) se.',
  `A setting agrees if the whole interval lies above -${TOLERANCE} points (bf16 at most ${TOLERANCE} points worse),`,
  `disagrees if the whole interval lies below -${TOLERANCE}, and otherwise cannot say.`,
  '`--precision auto` picks bf16 where bfloat16 is native only if every setting agrees',
  `(BF16_SHOWN_EQUAL in src/lib/engine/precision.ts); otherwise it trains in fp32. Every setting needs ${SEEDS.length}`,
  'seeds of both precisions for a decision; with fewer the decision is "not decided".',
];

const runDir = (s, a, seed) => join(out, s.id, a.id, `seed-${seed}`);

function ruleMarkdown() {
  return [
    '# Is bf16 training as accurate as fp32? The rule (stated before the runs)',
    '',
    "Written by `node bench/precision-choice.mjs rule` (its constants are the rule's one home).",
    '',
    `Settings (width 0.25, T 8, the trainer's default STC method, cosine schedule, full training sets, batch 32, lr 0.1, seeds ${SEEDS.join(', ')}):`,
    ...SETTINGS.map((s) => `- ${s.name}: \`stcsnn train ${s.flags.join(' ')} --seed S --threads 1\``),
    '',
    'Arms:',
    ...ARMS.map((a) => `- ${a.name}: \`${a.flags.join(' ')}\``),
    '',
    ...RULE,
    '',
  ].join('\n');
}

/** A setting's verdict by the rule, from its paired difference. */
function verdict(d) {
  if (d.n < SEEDS.length || d.low === null) return 'not decided';
  if (d.low > -TOLERANCE) return 'agrees';
  if (d.high < -TOLERANCE) return 'disagrees';
  return 'cannot say';
}

async function summary() {
  const { pairedDifference } = await import('../dist/app/reproduce/report-numbers.js');
  const rows = [];
  const decisions = [];
  for (const s of SETTINGS) {
    const acc = {};
    for (const a of ARMS) {
      acc[a.id] = new Map();
      for (const seed of SEEDS) {
        const row = { setting: s.id, arm: a.id, seed, ...runRow(runDir(s, a, seed)) };
        if (row.test_accuracy !== null) acc[a.id].set(seed, row.test_accuracy);
        rows.push(row);
      }
    }
    const d = pairedDifference(acc.bf16, acc.fp32);
    decisions.push({ setting: s.id, name: s.name, difference: d, verdict: verdict(d) });
  }
  const complete = decisions.every((d) => d.verdict !== 'not decided');
  const agree = decisions.filter((d) => d.verdict === 'agrees').length;
  const shownEqual = complete && agree === SETTINGS.length;
  const decision = !complete
    ? 'not decided: a setting lacks seeds'
    : `${agree} of ${SETTINGS.length} settings agree: ${shownEqual ? 'bf16 is shown as accurate as fp32; --precision auto picks bf16 where it is native' : '--precision auto keeps fp32'}`;
  const f = (v, dig = 2) => (v === null || v === undefined ? '-' : v.toFixed(dig));
  const speed = (s) => {
    const r = SEEDS.flatMap((seed) => {
      const a = rows.find((x) => x.setting === s.id && x.arm === 'fp32' && x.seed === seed);
      const b = rows.find((x) => x.setting === s.id && x.arm === 'bf16' && x.seed === seed);
      return a?.train_seconds && b?.train_seconds ? [b.train_seconds / a.train_seconds] : [];
    });
    return r.length ? r.map((x) => `${x.toFixed(2)}x`).join(', ') : '-';
  };
  const md = [
    ...summaryHead({
      title: 'Is bf16 training as accurate as fp32? The comparison',
      script: 'precision-choice.mjs',
      rows,
      rule: RULE,
    }),
    '| setting | bf16 - fp32: mean | se | 95 % interval | verdict |',
    '| --- | --- | --- | --- | --- |',
    ...decisions.map((x) => {
      const d = x.difference;
      return `| ${x.name} | ${f(d.mean)} | ${f(d.se)} | ${d.low === null ? '-' : `[${f(d.low)}, ${f(d.high)}]`} | ${x.verdict} |`;
    }),
    '',
    `**Decision (computed):** ${decision}.`,
    '',
    'Training time of each bf16 run against the fp32 run of the same seed (train seconds, summed over epochs; two runs',
    'side by side at --threads 1, so these are not benchmarks: `npm run bench` measures steps):',
    '',
    ...SETTINGS.map((s) => `- ${s.name}: ${speed(s)} the fp32 run's`),
    '',
    '## Runs',
    '',
    '| setting | precision | seed | test accuracy (%) | train seconds |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) => `| ${r.setting} | ${r.arm} | ${r.seed} | ${f(r.test_accuracy)} | ${f(r.train_seconds, 0)} |`,
    ),
    '',
  ].join('\n');
  const dirOf = (r) => [SETTINGS.find((x) => x.id === r.setting), ARMS.find((x) => x.id === r.arm), r.seed];
  publishSummary({
    dest,
    rows,
    armKey: 'arm',
    from: (r) => runDir(...dirOf(r)),
    md,
    json: {
      rule: RULE.join(' '),
      decision,
      shown_equal: complete ? shownEqual : null,
      settings: decisions,
      runs: rows,
    },
    printJson: opt.json,
  });
}

await runCommand(command, {
  dest,
  rule: ruleMarkdown,
  study: { opt, settings, arms: ARMS, runDir, tag: 'precision-choice' },
  more: { summary },
});
