// What the seeded studies (method-choice.mjs, precision-choice.mjs) share: their settings, how a
// run is trained (resumable, by one frozen build, at --threads 1), read back and copied into
// docs/results, and the provenance line of a summary.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { numberArg, scriptArgs, UsageError } from '../scripts/script-cli.mjs';

/** Seeds of every setting and method. */
export const SEEDS = [0, 1, 2];

/** The settings: data set, network, budget (width 0.25, T 8, cosine schedule, full training sets). */
export const SETTINGS = [
  {
    id: 'fmnist-vgg11',
    label: 'Fashion-MNIST',
    data: 'fmnist',
    dataset: 'fashion-mnist',
    arch: 'vgg11',
    archName: 'VGG11',
    epochs: 2,
  },
  {
    id: 'cifar10-vgg16',
    label: 'CIFAR-10',
    data: 'cifar10',
    dataset: 'imagefolder',
    arch: 'vgg16',
    archName: 'VGG16',
    epochs: 5,
  },
  {
    id: 'cifar10-resnet18',
    label: 'CIFAR-10',
    data: 'cifar10',
    dataset: 'imagefolder',
    arch: 'resnet18',
    archName: 'ResNet18',
    epochs: 4,
  },
].map((s) => ({
  ...s,
  name: `${s.label}, ${s.archName} w0.25, ${s.epochs} epochs`,
  flags: [
    '--dataset',
    s.dataset,
    '--arch',
    s.arch,
    '--width',
    '0.25',
    '--epochs',
    String(s.epochs),
    '--lr-schedule',
    'cosine',
  ],
}));

/**
 * The command line every study shares: `rule|run|summary` (and `extra` commands), the options
 * below plus `extraOptions`; `name` the study's folder (runs/NAME, docs/results/NAME).
 * @returns the parsed options and the command
 */
export function studyArgs(url, { script, name, commands, extraUsage = '', extraOptions = {} }) {
  const usage = `Usage: node bench/${script} ${Object.keys(commands).join('|')} [options]   (after npm run build)

${Object.entries(commands)
  .map(([c, what]) => `  ${c.padEnd(9)} ${what}`)
  .join('\n')}

Options:
  --cifar10 DIR    CIFAR-10 as a JPEG folder copy (train/<class>/, test/<class>/)  (run)
  --fmnist DIR     the Fashion-MNIST IDX files                                    (run)
  --stcsnn FILE    the stcsnn CLI to train with (default dist/app/cli/main.js): a frozen build
  --out DIR        where the runs are (default runs/${name})
  --jobs N         runs side by side, each at --threads 1 (default 2)
  --only NAME      one setting (${SETTINGS.map((s) => s.id).join(', ')})
  --json           summary: one JSON object on stdout${extraUsage}`;
  const { values: opt, positionals } = scriptArgs(url, {
    usage,
    positionals: 1,
    options: {
      cifar10: { type: 'string' },
      fmnist: { type: 'string' },
      stcsnn: { type: 'string' },
      out: { type: 'string' },
      jobs: { type: 'string', default: '2' },
      only: { type: 'string' },
      json: { type: 'boolean', default: false },
      ...extraOptions,
    },
  });
  const settings = opt.only === undefined ? SETTINGS : SETTINGS.filter((s) => s.id === opt.only);
  if (settings.length === 0)
    throw new UsageError(`--only must be one of ${SETTINGS.map((s) => s.id).join(', ')}, got '${opt.only}'`);
  return {
    opt,
    command: positionals[0],
    settings,
    out: resolve(opt.out ?? `runs/${name}`),
    dest: resolve(`docs/results/${name}`),
  };
}

/**
 * Runs a study's `command`: `rule` writes `rule` (its markdown) to `dest/rule.md` and prints it,
 * `run` trains (`runStudy`), every other name its handler in `more` (`summary`, ...).
 * @throws UsageError for a command the study does not have
 */
export async function runCommand(command, { dest, rule, study, more }) {
  const handlers = {
    rule: () => {
      mkdirSync(dest, { recursive: true });
      writeAtomic(join(dest, 'rule.md'), rule());
      console.log(rule());
    },
    run: () => runStudy(study),
    ...more,
  };
  if (!Object.hasOwn(handlers, command ?? '')) {
    const names = Object.keys(handlers);
    throw new UsageError(
      `the command must be ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}, got '${command ?? ''}'`,
    );
  }
  await handlers[command]();
}

/** Writes `text` to `file` through a temporary name. */
export function writeAtomic(file, text) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** A JSON file's content, or undefined where it does not exist. */
export function readJson(file) {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/**
 * Trains one run into `dir` with `cli` (a frozen build's dist/app/cli/main.js) at --threads 1 on
 * libtorch: nothing where result.json exists, a resume where a checkpoint does, else a fresh run
 * of `flags` on `dataDir` with `seed`. `tag` names it in the progress lines on stderr.
 */
export function trainRun({ cli, dir, flags, dataDir, seed, tag, name }) {
  if (existsSync(join(dir, 'result.json'))) return Promise.resolve();
  if (dataDir === undefined) throw new UsageError(`a data folder is required for ${name}`);
  const args = existsSync(join(dir, 'last.safetensors'))
    ? ['--resume', dir, '--threads', '1', '--backend', 'libtorch']
    : [
        ...flags,
        '--data-dir',
        resolve(dataDir),
        '--seed',
        String(seed),
        '--threads',
        '1',
        '--backend',
        'libtorch',
        '--out',
        dir,
        '--force',
      ];
  console.error(`${tag}: ${new Date().toISOString()} start ${name}`);
  return new Promise((ok) => {
    const p = spawn(process.execPath, [cli, 'train', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('close', (code) => {
      console.error(`${tag}: ${new Date().toISOString()} end ${name} (exit ${code})`);
      ok();
    });
  });
}

/**
 * `run` of a study: trains every setting x arm x seed not finished yet, seed-major (an
 * interrupted session leaves whole seeds of every arm), `opt.jobs` side by side, with the build
 * `opt.stcsnn` (default dist/app/cli/main.js) and the data folders `opt[setting.data]`. An arm's
 * flags are `arm.flags`, or `arm.flagsFor(setting, seed)`; an arm with `needs: ID` starts once
 * arm ID of the same setting and seed has finished (e.g. a conversion from that ANN).
 */
export async function runStudy({ opt, settings, arms, runDir, tag }) {
  const jobs = numberArg('jobs', opt.jobs);
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new UsageError(`--jobs must be a whole number >= 1, got '${opt.jobs}'`);
  const cli = resolve(opt.stcsnn ?? 'dist/app/cli/main.js');
  /** `setting/arm/seed` -> the promise of its run */
  const started = new Map();
  const key = (s, id, seed) => `${s.id}/${id}/${seed}`;
  const run = (s, a, seed) => {
    const k = key(s, a.id, seed);
    if (!started.has(k))
      started.set(
        k,
        (async () => {
          if (a.needs)
            await run(
              s,
              arms.find((x) => x.id === a.needs),
              seed,
            );
          await trainRun({
            cli,
            dir: runDir(s, a, seed),
            flags: [...s.flags, ...(a.flagsFor ? a.flagsFor(s, seed) : a.flags)],
            dataDir: opt[s.data],
            seed,
            tag,
            name: `${s.id}/${a.id}/seed-${seed}`,
          });
        })(),
      );
    return started.get(k);
  };
  const queue = settings.flatMap((s) => SEEDS.flatMap((seed) => arms.map((a) => () => run(s, a, seed))));
  await runQueue(queue, jobs);
}

/** Runs `queue`'s thunks, `jobs` at a time, in order. */
async function runQueue(queue, jobs) {
  const q = [...queue];
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      for (let t = q.shift(); t; t = q.shift()) await t();
    }),
  );
}

/** A run's row for a summary: accuracy (points), train seconds and what made it. */
export function runRow(dir) {
  const r = readJson(join(dir, 'result.json'));
  return {
    status: r ? 'done' : 'missing',
    test_accuracy: r ? 100 * r.test_accuracy : null,
    train_seconds: r ? r.train_seconds : null,
    commit: r?.provenance?.code?.commit ?? null,
    dist_sha256: r?.provenance?.code?.dist_sha256 ?? null,
    cpu: r?.provenance?.machine?.cpu ?? null,
    precision: r?.provenance?.machine?.precision ?? null,
    data: r?.provenance?.data?.files_sha256 ?? null,
  };
}

/**
 * The runs of `arms` x SEEDS in `setting` for a summary, arm by arm, seed by seed: each run's row
 * (`runRow`, with its setting, arm and seed) is appended to `rows`. Per arm, `acc` maps each
 * finished seed to its accuracy (points) and `energy` lists `energyOf` of its finished runs (the
 * ones measured; none for an arm where `measured(arm)` is false), measured with `cli`.
 */
export function armRuns({ setting, arms, runDir, cli, rows, measured = () => true }) {
  const acc = {};
  const energy = {};
  for (const a of arms) {
    acc[a.id] = new Map();
    energy[a.id] = [];
    for (const seed of SEEDS) {
      const row = { setting: setting.id, arm: a.id, seed, ...runRow(runDir(setting, a, seed)) };
      if (row.test_accuracy !== null) {
        acc[a.id].set(seed, row.test_accuracy);
        if (measured(a)) {
          const en = energyOf(runDir(setting, a, seed), cli);
          if (en) energy[a.id].push(en);
        }
      }
      rows.push(row);
    }
  }
  return { acc, energy };
}

/** The mean SNN energy per image (µJ) of `energies` (`energyOf`'s), null for none. */
export function meanEnergy(energies) {
  return energies.length ? energies.reduce((p, x) => p + x.snn_uj, 0) / energies.length : null;
}

/**
 * The first lines of a study's summary.md: the title, where it comes from, the provenance of its
 * `rows`, the rule, and the heading of the paired differences.
 */
export function summaryHead({ title, script, rows, rule }) {
  return [
    `# ${title}`,
    '',
    `Computed by \`node bench/${script} summary\` from the runs' result.json (copied beside this file with`,
    'config.json and log.jsonl). The rule was committed before the runs started (rule.md).',
    '',
    ...provenanceLines(rows),
    '',
    '## The rule',
    '',
    ...rule,
    '',
    '## Paired differences (points; 95 % interval, t with n - 1 degrees of freedom)',
    '',
  ];
}

/** The build, processor and data lines of a summary, from its rows. */
function provenanceLines(rows) {
  const distinct = (f) => [...new Set(rows.filter(f).map(f))];
  const builds = distinct((r) => r.dist_sha256 && `${r.commit?.slice(0, 7)} ${r.dist_sha256.slice(7, 19)}`);
  const cpus = distinct((r) => r.cpu);
  const datas = distinct((r) => r.data && r.data.slice(7, 19));
  return [
    `Build of every run (commit, dist hash): ${builds.join('; ') || 'not recorded'}. Processor: ${cpus.join('; ') || 'not recorded'}.`,
    `Data (files hash): ${datas.join('; ') || 'not recorded'}. Two runs side by side at --threads 1 each.`,
  ];
}

/**
 * Writes a study's summary into `dest`: each run's config.json, log.jsonl and result.json (from
 * `from(row)` to `dest/runs/<setting>/<arm>/seed-<seed>`, the arm read as `row[armKey]`),
 * summary.json and summary.md; prints the markdown, or the JSON with `printJson`.
 */
export function publishSummary({ dest, rows, armKey, from, md, json, printJson }) {
  mkdirSync(dest, { recursive: true });
  copyRuns(rows, from, (r) => join(dest, 'runs', r.setting, r[armKey], `seed-${r.seed}`));
  writeAtomic(join(dest, 'summary.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeAtomic(join(dest, 'summary.md'), md);
  console.log(printJson ? JSON.stringify(json) : md);
}

/** Copies each run's config.json, log.jsonl and result.json from `from(row)` to `to(row)`. */
function copyRuns(rows, from, to) {
  for (const r of rows)
    for (const file of ['config.json', 'log.jsonl', 'result.json'])
      if (existsSync(join(from(r), file))) {
        mkdirSync(to(r), { recursive: true });
        copyFileSync(join(from(r), file), join(to(r), file));
      }
}

/**
 * The verdict of an arm against its twin from the paired differences `d` (`pairedDifference`):
 * it reaches the twin if the whole 95 % interval lies above `-tolerance`, falls short if it lies
 * below, otherwise cannot say; "not decided" with fewer than every seed.
 */
export function twinVerdict(d, tolerance) {
  if (d.n < SEEDS.length || d.low === null) return 'not decided';
  if (d.low > -tolerance) return 'reaches the twin';
  if (d.high < -tolerance) return 'falls short';
  return 'cannot say';
}

/** Energy per image (µJ) of a finished run, from its measured spike counts; null when none. */
export function energyOf(dir, cli) {
  const r = spawnSync(process.execPath, [cli, 'energy', '--checkpoint', dir, '--json'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const t = JSON.parse(r.stdout).total;
  return { snn_uj: t.snn_energy_pj / 1e6, ann_uj: t.ann_energy_pj / 1e6 };
}
