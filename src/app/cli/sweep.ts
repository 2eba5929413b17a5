/**
 * `stcsnn sweep`: the paper's threshold and spike-train-length studies (§4.4): one training
 * run per (theta0, T) grid point, resumable, summarised in `sweep.json` and `sweep.csv`.
 */
import { backendLabel } from '../../lib/engine/backend.js';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { EnergyConstants } from '../../lib/analysis/energy.js';
import { pct, times } from '../analysis/format.js';
import { withRunDir } from '../rundir/dirs.js';
import { sweepStatus, type SweepFile } from '../rundir/sweep-file.js';
import { defaultSweepDir, trainSweep, type SweepEvent } from '../runs/sweep.js';
import { DEFAULT_VALUES, type ConfigPath, type TrainConfig } from '../config/config.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { UsageError } from './errors.js';
import { processGroupOptions, withDistFlags, type DistFlags } from './launch.js';
import { agreeOnConfig } from '../train/train.js';
import { agreeOn, stableHash } from '../../lib/distributed/handshake.js';
import {
  DEFAULT_TIMEOUT_MS,
  joinProcessGroup,
  type ProcessGroupOptions,
} from '../../lib/distributed/process-group.js';
import { labelledEpochProgress, makeProgress, notice, printJson, table } from './output.js';
import { configReport, printConfig } from './config-print.js';
import type { ResolvedConfig } from '../config/resolve.js';
import {
  energyConstantsFrom,
  parseIntegerList,
  parseNumberList,
  withEnergyOptions,
  type EnergyFlags,
} from './options.js';
import { addConfigOptions, configFromFlags, presetOption } from './flags.js';

/** Configuration paths the sweep does not take over as `train` flags (its axes, and repeats). */
const NOT_INHERITED: readonly ConfigPath[] = ['stc.T', 'stc.theta0', 'repeats'];

type SweepFlags = CommonFlags &
  DistFlags &
  EnergyFlags &
  Record<string, string | boolean | undefined> & {
    T?: string;
    theta0?: string;
    out?: string;
    printConfig?: boolean;
  };

/** A sweep as the flags give it: the configuration its points share, its grid, where it goes. */
interface SweepPlan {
  readonly config: TrainConfig;
  readonly grid: { theta0: number[]; T: number[] };
  readonly constants: EnergyConstants;
  readonly dir: string;
}

/** `stcsnn sweep`'s own options: the grid, the directory, the energy constants, `--print-config`. */
function sweepOptions(cmd: Command): Command {
  cmd
    .option(
      '--theta0 <list>',
      'initial thresholds, e.g. 0.1,0.2,0.4,0.6,0.8,1,2,4,8 (default: the data set’s)',
    )
    .option('--T <list>', `spike-train lengths, e.g. 2,4,6,8,12,16 (default: ${DEFAULT_VALUES['stc.T']})`)
    .option(
      '--out <dir>',
      'sweep directory (default: sweeps/<dataset>-<arch>-<mode>-w<width>); rerun to resume',
    );
  return withEnergyOptions(cmd).option(
    '--print-config',
    "print the grid, the sweep directory and every point's configuration, each value with its source, and exit",
  );
}

/** Writes one line on stderr. */
function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The line a point's event writes on stderr (`rankTag` names the rank of a sweep over ranks), if any. */
function pointEventLine(e: SweepEvent, rankTag: string): string | undefined {
  if (e.kind === 'skip') return `point ${e.id}: finished before, skipped`;
  if (e.kind === 'restart') return `${rankTag}point ${e.id}: interrupted before, restarting from scratch`;
  if (e.kind === 'failed') return `${rankTag}point ${e.id}: training diverged (${e.error}); going on`;
  if (e.result) return `${rankTag}point ${e.id}: test accuracy ${pct(e.result.test_accuracy)}`;
  return undefined;
}

/**
 * Trains this process's points of the sweep: all of them, or, over ranks (`dist`), the ones it
 * takes after the ranks have agreed on the configuration and the grid. Rank 0 alone writes
 * progress and the sweep's summary.
 */
async function trainPoints(
  plan: SweepPlan,
  flags: SweepFlags,
  dist: ProcessGroupOptions | undefined,
): Promise<SweepFile> {
  const { config, grid, constants, dir } = plan;
  const writer = (dist?.rank ?? 0) === 0;
  const info = await backendFor(flags);
  const pg = dist
    ? await joinProcessGroup(dist, info.name, async (g) => {
        await agreeOnConfig(g, config);
        await agreeOn(
          g,
          'sweep/grid',
          stableHash({ grid, constants }),
          'sweep grid',
          'start every rank with the same --theta0, --T and energy flags',
        );
      })
    : undefined;
  try {
    const progress = makeProgress({ quiet: !writer });
    const rankTag = dist ? `rank ${dist.rank}: ` : '';
    if (writer)
      log(
        `stcsnn sweep: ${config.dataset}, ${config.arch} (${config.mode}, width ${config.width}), theta0 in {${grid.theta0.join(', ')}} x T in {${grid.T.join(', ')}}, backend ${backendLabel(info)}, into ${dir}`,
      );
    return await trainSweep({
      dir,
      config,
      grid,
      constants,
      backend: info.name,
      runsOver: pg && {
        group: pg,
        timeoutMs: dist?.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        onWait: () => log(`stcsnn sweep: rank ${pg.rank}: waiting for the other ranks' points`),
      },
      onPointStart: (p) => log(`${rankTag}point ${p.index + 1}/${p.total} (${p.id}): training`),
      hooks: (p) => labelledEpochProgress(progress, p.id),
      onEvent: (e) => {
        const line = pointEventLine(e, rankTag);
        if (line !== undefined) log(line);
      },
    });
  } finally {
    pg?.destroy();
  }
}

/** The sweep's points as a table (or, with `--json`, one object), after a notice of those not finished. */
function printSweep(sweep: SweepFile, dir: string, json: boolean): void {
  const { missing } = sweepStatus(sweep);
  if (missing.length) notice(`points not finished: ${missing.map((p) => p.id).join(', ')}`);
  if (json) {
    printJson({
      dir,
      grid: sweep.grid,
      points: sweep.points.map((p) => ({
        id: p.id,
        theta0: p.theta0,
        T: p.T,
        status: p.status,
        ...p.result,
      })),
    });
    return;
  }
  console.log(
    table([
      ['point', 'theta0', 'T', 'test accuracy', 'mean fire rate', 'spikes/image', 'ANN/SNN energy'],
      ...sweep.points.map((p) => [
        p.id,
        String(p.theta0),
        String(p.T),
        p.result ? pct(p.result.test_accuracy) : p.status,
        p.result ? p.result.mean_fire_rate.toFixed(4) : '',
        p.result ? p.result.spikes_per_image.toFixed(0) : '',
        p.result?.energy ? times(p.result.energy.ratio) : '',
      ]),
    ]),
  );
  console.log(`\nsweep directory: ${dir} (sweep.json, sweep.csv); figures: stcsnn report ${dir}`);
}

/**
 * `stcsnn sweep`: one training run per grid point (theta0 x T), resumably, with the training
 * options of `stcsnn train`; over ranks (`--nproc`) the points are shared out.
 */
export function sweepCommand(): Command {
  const cmd = sweepOptions(
    new Command('sweep').description(
      "rerun the paper's studies: train one network per initial threshold theta0 and/or spike-train length T (a grid), resumably",
    ),
  );
  // the usual training options, from the flag table `stcsnn train` uses
  addConfigOptions(cmd, NOT_INHERITED).addOption(presetOption());
  withCommon(cmd);
  // a sweep over ranks shares its points out (one run per rank at a time), never data-parallel
  withDistFlags(cmd, 'share the points out over N processes, each training its points alone');
  cmd.action(async (flags: SweepFlags) => {
    if (flags.theta0 === undefined && flags.T === undefined)
      throw new UsageError('give --theta0 LIST and/or --T LIST (comma-separated values to sweep)');
    const resolved = configFromFlags({ ...flags, T: undefined, theta0: undefined });
    const { config } = resolved;
    const grid = {
      theta0: flags.theta0 === undefined ? [config.stc.theta0] : parseNumberList('--theta0', flags.theta0),
      T: flags.T === undefined ? [config.stc.T] : parseIntegerList('--T', flags.T),
    };
    const constants = energyConstantsFrom(flags);
    const dir = flags.out === undefined ? defaultSweepDir(config) : resolve(flags.out);
    const json = flags.json === true;
    if (flags.printConfig) return printSweepConfig(resolved, grid, dir, json);
    const plan: SweepPlan = { config, grid, constants, dir };
    // Runs over ranks: rank 0 alone owns (locks, writes) the sweep directory; each rank locks
    // and writes the point directories it trains.
    const dist = processGroupOptions(flags);
    if ((dist?.rank ?? 0) !== 0) {
      await trainPoints(plan, flags, dist);
      return;
    }
    const resumeHint = (i: { signal: string }) =>
      log(
        `stcsnn: ${i.signal === 'SIGINT' ? 'interrupted' : `stopped (${i.signal})`}; finished points are kept: rerun the same command to resume`,
      );
    const sweep = await withRunDir(
      dir,
      { kind: 'keep', what: 'sweep directory', onNotice: notice, onInterrupt: resumeHint },
      () => trainPoints(plan, flags, dist),
    );
    printSweep(sweep, dir, json);
  });
  return cmd;
}

/**
 * `stcsnn sweep --print-config`: the grid, the sweep directory and the configuration every point
 * shares (its T and theta0 are the point's: the rows of `stc.T` and `stc.theta0` are left out).
 */
function printSweepConfig(
  r: ResolvedConfig,
  grid: { theta0: number[]; T: number[] },
  dir: string,
  json: boolean,
): void {
  const sources = Object.fromEntries(
    Object.entries(r.sources).filter(([path]) => !(NOT_INHERITED as readonly string[]).includes(path)),
  );
  const shared: ResolvedConfig = { ...r, sources };
  const points = grid.theta0.length * grid.T.length;
  if (json) {
    printJson({ ...configReport(shared), grid, points, dir });
    return;
  }
  printConfig(shared, false);
  console.log(
    `\ngrid: theta0 in {${grid.theta0.join(', ')}} x T in {${grid.T.join(', ')}}: ${points} point${points === 1 ? '' : 's'}, one run each`,
  );
  console.log(`sweep directory: ${dir}`);
}
