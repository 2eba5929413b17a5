#!/usr/bin/env node
// The T study's second round (issue 32): does distillation from the twin bring T = 2 to the ANN
// twin on Fashion-MNIST? Stated before it is run.
//
// Round 1 (bench/low-t.mjs, docs/results/low-t) left Fashion-MNIST VGG11 w0.25 at T = 2 without an
// arm shown to reach the twin; the closest was the conversion from the twin with the membrane
// shifted half a step and one fine-tuning epoch at lr 0.01 (-0.71 points, [-1.50, 0.08]). Round 2
// fine-tunes that conversion with `--distill-from` the same twin, and with two fine-tuning epochs,
// with and without the teacher. Its twins are round 1's runs (--twins, the round-1 --out), trained
// by round 1's build; the control arm repeats round 1's closest arm with this round's build, so
// that a difference between the builds would show (its accuracies must equal round 1's, seed by
// seed).
//
//   node bench/low-t-kd.mjs rule                     writes docs/results/low-t-kd/rule.md
//   node bench/low-t-kd.mjs run --fmnist DIR --twins DIR [--stcsnn MAIN_JS] [--out DIR] [--jobs 2]
//   node bench/low-t-kd.mjs summary --twins DIR [--out DIR] [--json]   writes docs/results/low-t-kd/
//
// `run` is resumable: a finished run (result.json) is kept, a started one resumed.
import { join, resolve } from 'node:path';
import { UsageError } from '../scripts/script-cli.mjs';
import {
  armRuns,
  meanEnergy,
  publishSummary,
  runCommand,
  runRow,
  SEEDS,
  studyArgs,
  summaryHead,
  twinVerdict,
} from './study.mjs';

const { opt, command, settings, out, dest } = studyArgs(import.meta.url, {
  script: 'low-t-kd.mjs',
  name: 'low-t-kd',
  commands: {
    rule: 'write the decision rule (docs/results/low-t-kd/rule.md)',
    run: 'train every arm x seed that has not finished (resumable)',
    summary:
      "accuracy against round 1's twin, energy per image, the rule's verdicts (docs/results/low-t-kd/)",
  },
  extraUsage:
    "\n  --twins DIR      round 1's runs (bench/low-t.mjs --out): the twins and its closest arm (run, summary)",
  extraOptions: { twins: { type: 'string' } },
});
const SETTING = settings.find((s) => s.id === 'fmnist-vgg11');
if (!SETTING) throw new UsageError('round 2 has one setting: fmnist-vgg11');
const T = 2;
/** How far below the twin (points) an arm may be and reach it (issue 32's Fashion-MNIST target). */
const TOLERANCE = 0.5;
const twins = () => {
  if (opt.twins === undefined)
    throw new UsageError("--twins is required: round 1's runs (bench/low-t.mjs --out)");
  return resolve(opt.twins);
};
const twinDir = (seed) => join(twins(), SETTING.id, 'ann', `seed-${seed}`);
/** Round 1's closest arm at T = 2, which the control arm repeats. */
const ROUND1_CLOSEST = 'conv-T2-e1-half';
const runDir = (s, a, seed) => join(out, s.id, a.id, `seed-${seed}`);

/** An arm: converted from round 1's run `source` of seed S (the twin, `ann`, or `stc-T8`). */
const arm = (id, name, epochs, distill, source = 'ann') => ({
  id,
  name,
  T,
  flagsFor: (_s, seed) => {
    const numbered = typeof seed === 'number';
    const twin = numbered ? twinDir(seed) : '<the twin of seed S>';
    const from =
      source === 'ann'
        ? twin
        : numbered
          ? join(twins(), SETTING.id, source, `seed-${seed}`)
          : `<round 1's ${source} of seed S>`;
    return [
      ...['--T', String(T), '--learn-theta', 'channel', '--shift', 'half'],
      ...['--epochs', String(epochs), '--lr', '0.01', '--init-from', from],
      ...(distill ? ['--distill-from', twin] : []),
    ];
  },
});
const ARMS = [
  arm('conv-e1', "converted, 1 fine-tuning epoch (round 1's closest arm, this build: the control)", 1, false),
  arm('conv-e1-kd', 'converted, 1 fine-tuning epoch distilled from the twin (alpha 0.5, tau 4)', 1, true),
  arm('conv-e2', 'converted, 2 fine-tuning epochs', 2, false),
  arm('conv-e2-kd', 'converted, 2 fine-tuning epochs distilled from the twin (alpha 0.5, tau 4)', 2, true),
];
/**
 * Added after round 2's results, before their runs: trained at T = 8 (round 1's STC from scratch,
 * fixed thresholds, 2 epochs), re-encoded at T = 2 and fine-tuned.
 */
const ADDED = [
  arm('t8-e1', 'from the T = 8 run, re-encoded at T = 2, 1 fine-tuning epoch', 1, false, 'stc-T8'),
  arm('t8-e2', 'from the T = 8 run, re-encoded at T = 2, 2 fine-tuning epochs', 2, false, 'stc-T8'),
];
ARMS.push(...ADDED);

const RULE = [
  `Every arm: T = ${T}, thresholds per channel calibrated from the twin, the membrane shifted half a step, fine-tuned`,
  'at lr 0.01 (cosine). For each arm, d_s = accuracy(arm) - accuracy(twin) on seed s (final test accuracy,',
  "points; the twin is round 1's run of seed s), mean d, se = sd(d) / sqrt(n), 95 % interval mean +- t(0.975, n-1) se.",
  `With the tolerance L = ${TOLERANCE} points, an arm reaches the twin if the whole interval lies above -L, falls short`,
  'if it lies below -L, otherwise cannot say; with fewer than 3 seeds "not decided". Distillation is said to help',
  'where the paired difference distilled - undistilled (same epochs, seed by seed) has its whole 95 % interval',
  'above 0, to hurt where below 0, otherwise "no difference shown". The control arm must give round 1\'s',
  `accuracies (${ROUND1_CLOSEST}) seed by seed; where it does not, the builds differ and the summary says so.`,
];

function ruleMarkdown() {
  return [
    '# Round 2 of the T study: distillation at T = 2 on Fashion-MNIST (stated before the runs)',
    '',
    "Written by `node bench/low-t-kd.mjs rule` (its constants are the rule's one home).",
    '',
    `Setting: \`stcsnn train ${SETTING.flags.join(' ')} --seed S --threads 1\`, seeds ${SEEDS.join(', ')}.`,
    '',
    "Arms (flags after the setting's; a later flag wins):",
    ...ARMS.filter((a) => !ADDED.includes(a)).map(
      (a) => `- ${a.name}: \`${a.flagsFor(SETTING, 'S').join(' ')}\``,
    ),
    '',
    ...RULE,
    '',
    "Arms added after round 2's results (2026-12-08), before their runs; the same rule decides them (their source,",
    "round 1's STC run at T = 8 of seed S, had the twin's 2 epochs):",
    ...ADDED.map((a) => `- ${a.name}: \`${a.flagsFor(SETTING, 'S').join(' ')}\``),
    '',
  ].join('\n');
}

async function summary() {
  const { pairedDifference } = await import('../dist/app/reproduce/report-numbers.js');
  const cli = resolve('dist/app/cli/main.js');
  const f = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
  const accOf = (dir) => runRow(dir).test_accuracy;
  const twinAcc = new Map(SEEDS.map((s) => [s, accOf(twinDir(s))]).filter(([, a]) => a !== null));
  const rows = [];
  const { acc, energy } = armRuns({ setting: SETTING, arms: ARMS, runDir, cli, rows });
  const table = ARMS.map((a) => {
    const d = pairedDifference(acc[a.id], twinAcc);
    return {
      arm: a.id,
      armName: a.name,
      d,
      verdict: twinVerdict(d, TOLERANCE),
      energy_uj: meanEnergy(energy[a.id]),
    };
  });
  const effect = (kd, plain) => {
    const d = pairedDifference(acc[kd], acc[plain]);
    const said =
      d.n < SEEDS.length || d.low === null
        ? 'not decided'
        : d.low > 0
          ? 'distillation helps'
          : d.high < 0
            ? 'distillation hurts'
            : 'no difference shown';
    return { kd, plain, d, verdict: said };
  };
  const effects = [effect('conv-e1-kd', 'conv-e1'), effect('conv-e2-kd', 'conv-e2')];
  const round1 = new Map(
    SEEDS.map((s) => [s, accOf(join(twins(), SETTING.id, ROUND1_CLOSEST, `seed-${s}`))]),
  );
  const control = SEEDS.filter((s) => acc['conv-e1'].has(s));
  const mismatched = control.filter((s) => round1.get(s) !== acc['conv-e1'].get(s));
  const controlText = !control.length
    ? 'the control arm has not finished'
    : mismatched.length
      ? `the builds differ: the control arm gives other accuracies than round 1 at seed ${mismatched.join(', ')}`
      : `the control arm gives round 1's accuracies at seed ${control.join(', ')} (the builds train alike)`;
  const reach = table.filter((r) => r.verdict === 'reaches the twin');
  const best = [...table].filter((r) => r.d.mean !== null).sort((p, q) => q.d.mean - p.d.mean)[0];
  const decision = !best
    ? `${SETTING.name}, T = ${T}: not decided (no finished arm)`
    : reach.length
      ? `${SETTING.name}, T = ${T}: reaches the twin: ${reach.map((r) => r.armName).join('; ')}`
      : `${SETTING.name}, T = ${T}: no arm shown to reach the twin; the closest is ${best.armName} (${f(best.d.mean)} points, 95 % interval [${f(best.d.low)}, ${f(best.d.high)}], tolerance ${TOLERANCE})`;
  const md = [
    ...summaryHead({
      title: 'Round 2 of the T study: distillation at T = 2 on Fashion-MNIST',
      script: 'low-t-kd.mjs',
      rows,
      rule: RULE,
    }),
    '| arm | STC - twin: mean | 95 % interval | verdict | energy per image (µJ) |',
    '| --- | --- | --- | --- | --- |',
    ...table.map(
      (r) =>
        `| ${r.armName} | ${f(r.d.mean)} | ${r.d.low === null ? '-' : `[${f(r.d.low)}, ${f(r.d.high)}]`} | ${r.verdict} | ${f(r.energy_uj, 3)} |`,
    ),
    '',
    '| distilled - undistilled | mean | 95 % interval | verdict |',
    '| --- | --- | --- | --- |',
    ...effects.map(
      (e) =>
        `| ${e.kd} - ${e.plain} | ${f(e.d.mean)} | ${e.d.low === null ? '-' : `[${f(e.d.low)}, ${f(e.d.high)}]`} | ${e.verdict} |`,
    ),
    '',
    '**Verdicts (computed):**',
    '',
    `- ${decision}`,
    ...effects.map((e) => `- ${e.kd} against ${e.plain}: ${e.verdict}`),
    `- Control: ${controlText}`,
    '',
    '## Runs',
    '',
    '| arm | seed | test accuracy (%) | train seconds |',
    '| --- | --- | --- | --- |',
    ...SEEDS.map((s) => `| twin (round 1) | ${s} | ${f(twinAcc.get(s) ?? null)} | - |`),
    ...rows.map((r) => `| ${r.arm} | ${r.seed} | ${f(r.test_accuracy)} | ${f(r.train_seconds, 0)} |`),
    '',
  ].join('\n');
  const arms = Object.fromEntries(ARMS.map((a) => [a.id, a]));
  publishSummary({
    dest,
    rows,
    armKey: 'arm',
    from: (r) => runDir(SETTING, arms[r.arm], r.seed),
    md,
    json: { rule: RULE.join(' '), decision, effects, control: controlText, table, runs: rows },
    printJson: opt.json,
  });
}

await runCommand(command, {
  dest,
  rule: ruleMarkdown,
  study: { opt, settings: [SETTING], arms: ARMS, runDir, tag: 'low-t-kd' },
  more: { summary },
});
