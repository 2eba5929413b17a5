#!/usr/bin/env node
// A against B: the same training (or inference) step measured with two builds of stcsnn, in
// alternating processes (bench/run-stcsnn.js of each checkout, A first in odd rounds, B first in
// even ones), so that both see the same machine. Prints, per configuration, each build's median
// ms per step over the rounds and the ratio B / A; the figures of every round with --out.
//
//   node bench/ab-step.mjs --a DIR --b DIR [--archs resnet18,vgg16] [--modes stc,ann]
//       [--precisions fp32,bf16] [--rounds 3] [--steps 10] [--warmup 3] [--threads N]
//       [--a-env K=V ...] [--b-env K=V ...] [--out FILE]
// With --a-env/--b-env the two sides may be one build run in two environments (e.g. libgomp's spin count).
import { spawnSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { choiceArg, intArg, listArg, scriptArgs } from '../scripts/script-cli.mjs';

const USAGE = `Usage: node bench/ab-step.mjs --a DIR --b DIR [options]

The step of each configuration measured with two built checkouts of stcsnn (A and B, each with
dist/ and its native backend built), alternating; prints the medians and B / A.

Options:
  --a DIR, --b DIR     the two checkouts (e.g. a frozen copy of the base commit, and .)
  --archs LIST         resnet18, vgg16, vgg11 (default resnet18,vgg16)
  --modes LIST         stc, ann (default stc,ann)
  --precisions LIST    fp32, bf16 (default fp32)
  --phase train|infer  (default train)
  --rounds N           (default 3)
  --steps N --warmup N per process (defaults 10, 3)
  --threads N          libtorch threads (default: all cores)
  --a-env K=V, --b-env K=V
                       an environment variable for A's (B's) processes; repeatable
  --out FILE           also write every round's figures as JSON`;
const { values: a } = scriptArgs(import.meta.url, {
  usage: USAGE,
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    archs: { type: 'string', default: 'resnet18,vgg16' },
    modes: { type: 'string', default: 'stc,ann' },
    precisions: { type: 'string', default: 'fp32' },
    phase: { type: 'string', default: 'train' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(cpus().length) },
    'a-env': { type: 'string', multiple: true, default: [] },
    'b-env': { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
  },
});
if (!a.a || !a.b) {
  process.stderr.write('ab-step: --a DIR and --b DIR are required\n');
  process.exit(2);
}
const archs = listArg('archs', a.archs, ['resnet18', 'vgg16', 'vgg11']);
const modes = listArg('modes', a.modes, ['stc', 'ann']);
const precisions = listArg('precisions', a.precisions, ['fp32', 'bf16']);
choiceArg('phase', a.phase, ['train', 'infer']);
for (const k of ['rounds', 'steps', 'threads']) intArg(k, a[k], 1);
intArg('warmup', a.warmup, 0);
const builds = { A: resolve(a.a), B: resolve(a.b) };
/** Each side's extra environment (--a-env, --b-env), `K=V` each. */
function envArg(flag, list) {
  return Object.fromEntries(
    list.map((kv) => {
      const i = kv.indexOf('=');
      if (i < 1) {
        process.stderr.write(`ab-step: --${flag} must be K=V, got ${JSON.stringify(kv)}\n`);
        process.exit(2);
      }
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}
const envs = { A: envArg('a-env', a['a-env']), B: envArg('b-env', a['b-env']) };

/** ms per step of one process of side `k`'s build (bench/run-stcsnn.js) in its environment. */
function measure(k, arch, mode, precision) {
  const build = builds[k];
  const args = [join(build, 'bench/run-stcsnn.js'), '--arch', arch, '--mode', mode, '--precision', precision];
  args.push('--phase', a.phase, '--steps', a.steps, '--warmup', a.warmup, '--threads', a.threads);
  const env = { ...process.env, ...envs[k] };
  const r = spawnSync(process.execPath, args, { cwd: build, encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`ab-step: ${build}: ${arch} ${mode} ${precision}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).ms_per_step;
}

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const rows = [];
for (const arch of archs)
  for (const mode of modes)
    for (const precision of precisions) {
      const ms = { A: [], B: [] };
      for (let r = 0; r < Number(a.rounds); r++) {
        for (const k of r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) ms[k].push(measure(k, arch, mode, precision));
      }
      const row = { arch, mode, precision, a_ms: median(ms.A), b_ms: median(ms.B), rounds: ms };
      row.b_over_a = Number((row.b_ms / row.a_ms).toFixed(3));
      row.b_faster_rounds = ms.B.filter((b, i) => b < ms.A[i]).length;
      rows.push(row);
      process.stdout.write(
        `${arch} ${mode} ${precision}: A ${row.a_ms} ms, B ${row.b_ms} ms, B / A ${row.b_over_a}, ` +
          `B faster in ${row.b_faster_rounds} of ${ms.A.length} rounds (A ${ms.A.join(', ')}; B ${ms.B.join(', ')})\n`,
      );
    }
if (a.out) {
  const cpu = cpus()[0]?.model ?? 'unknown';
  const doc = { a: builds.A, b: builds.B, a_env: envs.A, b_env: envs.B, cpu, threads: Number(a.threads), phase: a.phase, rows };
  writeFileSync(`${a.out}.tmp`, JSON.stringify(doc, null, 2) + '\n');
  renameSync(`${a.out}.tmp`, a.out);
}
