/**
 * `stcsnn energy`: operation counts and computation energy per layer of an STCSNN against its
 * ANN twin (docs/semantics.md §3), from a finished run's spike statistics (`--checkpoint RUN_DIR`) or
 * from an assumed firing rate for every STCB layer (`--fire-rate R`).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Command } from 'commander';
import { energyToJson, type EnergyConstants, type EnergyReport } from '../../lib/analysis/energy.js';
import { joules, si, times } from '../analysis/format.js';
import { archConfigFor, type NetworkSpec } from '../analysis/network.js';
import { networkEnergy, specOfRun } from '../analysis/run-energy.js';
import { MAX_T } from '../../lib/core/config.js';
import { modelSizeOverLimits } from '../../lib/interop/model-file.js';
import { ARCH_FIELDS } from '../../lib/nn/arch-config.js';
import { meanSpikeStats } from '../analysis/summary.js';
import { readRunDir, runSpikeStats } from '../analysis/rundir.js';
import { isRunDir, repeatRunDirs } from '../rundir/dirs.js';
import type { LayerSpikeStats } from '../../lib/nn/stats.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { rangeOf, TRAIN_DEFAULTS } from '../config/config.js';
import { UsageError } from './errors.js';
import { printJson, table } from './output.js';
import {
  energyConstantsFrom,
  outOfRange,
  parseInteger,
  parseNumber,
  parseNumberList,
  withEnergyOptions,
  type EnergyFlags,
} from './options.js';

interface EnergyCommandFlags extends CommonFlags, EnergyFlags {
  arch?: string;
  dataset?: string;
  T?: string;
  width?: string;
  checkpoint?: string;
  fireRate?: string;
  inputShape?: string;
  classes?: string;
}

/** The `--json` output of `stcsnn energy`. */
export type EnergyCommandJson = ReturnType<typeof energyToJson> & {
  arch: string;
  dataset: string;
  width: number;
  /** Where the width came from: the checkpoint, `--width`, or the trainer's default. */
  width_source: 'checkpoint' | 'flag' | 'default';
  T: number;
  /** Where the spike counts come from: the run's statistics, or an assumed rate (with the run's geometry). */
  source: { checkpoint?: string; fire_rate?: number };
  constants: { e_mac_pj: number; e_ac_pj: number; bn_macs_per_element: number };
};

/** The text table of an energy report. */
export function energyTable(r: EnergyReport): string {
  const rows: string[][] = [
    ['layer', 'kind', 'ANN MACs', 'SNN ACs', 'SNN MACs', 'spikes/neuron', 'fire rate', 'SNN energy'],
  ];
  for (const l of r.layers) {
    if (l.annMacs === 0 && l.snnMacs === 0 && l.snnAcs === 0) continue;
    rows.push([
      l.name,
      l.kind,
      si(l.annMacs),
      l.kind === 'stcb-conv' ? si(l.snnAcs) : '-',
      si(l.snnMacs),
      l.spikesPerNeuron === null ? '-' : l.spikesPerNeuron.toFixed(3),
      l.fireRate === null ? '-' : l.fireRate.toFixed(3),
      joules(l.snnEnergyPj),
    ]);
  }
  const t = r.total;
  rows.push(['total', '', si(t.annMacs), si(t.snnAcs), si(t.snnMacs), '', '', joules(t.snnEnergyPj)]);
  return table(rows);
}

/** The closing lines: ANN vs SNN energy and their ratio. */
export function energySummary(r: EnergyReport): string {
  const t = r.total;
  const c = r.constants;
  return [
    `ANN twin: ${si(t.annMacs)} MACs = ${joules(t.annEnergyPj)} per image (E_MAC ${c.eMac} pJ)`,
    `STCSNN (T=${r.T}): ${si(t.snnAcs)} ACs + ${si(t.snnMacs)} MACs = ${joules(t.snnEnergyPj)} per image (E_AC ${c.eAc} pJ)`,
    `energy ratio ANN/SNN: ${times(t.ratio)}`,
  ].join('\n');
}

function runDirOf(path: string): string {
  if (!existsSync(path)) throw new UsageError(`--checkpoint ${path} does not exist`);
  // a checkpoint file inside a run directory names the run
  if (statSync(path).isFile() && basename(path).endsWith('.safetensors')) return dirname(path);
  return path;
}

/** The network and rate flags, checked (each undefined where not given). */
interface EnergyGeometry {
  readonly inputShape?: [number, number, number];
  readonly classes?: number;
  readonly T?: number;
  readonly width?: number;
  readonly fireRate?: number;
}

/** `--input-shape`, `--classes`, `--T`, `--width` and `--fire-rate`, checked. */
function geometryOf(flags: EnergyCommandFlags): EnergyGeometry {
  let inputShape: [number, number, number] | undefined;
  if (flags.inputShape !== undefined) {
    const v = parseNumberList('--input-shape', flags.inputShape);
    if (v.length !== 3 || !v.every((d) => Number.isInteger(d) && d >= 1))
      throw new UsageError(`--input-shape must be three positive integers H,W,C, got '${flags.inputShape}'`);
    inputShape = [v[0], v[1], v[2]];
  }
  const classes = flags.classes === undefined ? undefined : parseInteger('--classes', flags.classes, 2);
  const T = flags.T === undefined ? undefined : parseInteger('--T', flags.T, 1, MAX_T);
  const width = flags.width === undefined ? undefined : parseNumber('--width', flags.width);
  if (width !== undefined && !ARCH_FIELDS.width.safeParse(width).success)
    throw outOfRange('--width', rangeOf('width') ?? '', String(flags.width));
  let fireRate: number | undefined;
  if (flags.fireRate !== undefined) {
    fireRate = parseNumber('--fire-rate', flags.fireRate);
    if (!(fireRate >= 0 && fireRate <= 1)) throw outOfRange('--fire-rate', 'in [0, 1]', flags.fireRate);
  }
  return { inputShape, classes, T, width, fireRate };
}

/** What the energy is computed of: the network, and the recorded spike statistics (or none: an assumed rate). */
interface EnergySubject {
  readonly spec: NetworkSpec;
  readonly source: EnergyCommandJson['source'];
  /** Where the width came from: the checkpoint, the flag, or the trainer's default. */
  readonly widthFrom: EnergyCommandJson['width_source'];
  /** The recorded statistics (none with an assumed rate) and where they were read. */
  readonly stats?: LayerSpikeStats[];
  readonly statsFrom: string;
}

/**
 * The network of the run or repeat group `--checkpoint` names (a flag may repeat its arch, data
 * set, T or width, not change them), with its recorded spike statistics (a repeat group's: the
 * mean over its seeds) unless a rate is assumed.
 */
function checkpointSubject(checkpoint: string, flags: EnergyCommandFlags, g: EnergyGeometry): EnergySubject {
  const { fireRate } = g;
  const target = runDirOf(checkpoint);
  const seeds = statSync(target).isDirectory() && !isRunDir(target) ? repeatRunDirs(target) : [];
  let run: ReturnType<typeof readRunDir>;
  let stats: LayerSpikeStats[] | undefined;
  let statsFrom = '';
  if (seeds.length > 0) {
    // a repeat group: the seeds' statistics averaged
    const runs = seeds.map((d) => readRunDir(d));
    const withStats = runs.filter((r) => (r.result?.spike_stats?.length ?? 0) > 0);
    run = withStats[0] ?? runs[0];
    if (fireRate === undefined) {
      if (withStats.length === 0)
        throw new UsageError(`${target}: no finished seed has spike statistics; pass --fire-rate R`);
      stats = meanSpikeStats(withStats.map((r) => r.result!.spike_stats!));
      statsFrom = `the mean over ${withStats.length} seed(s) of ${target}`;
    }
  } else {
    run = readRunDir(target);
  }
  const s = run.summary;
  // arch, data set, T and width are the run's: a flag may repeat them, not change them
  const clash = (flag: string, given: unknown, have: unknown) => {
    if (given !== undefined && given !== have)
      throw new UsageError(
        `${flag} ${String(given)} disagrees with the checkpoint: ${target} has ${flag.slice(2)} ${String(have)} (drop ${flag})`,
      );
  };
  clash('--arch', flags.arch, s.arch);
  clash('--dataset', flags.dataset, s.dataset);
  clash('--T', g.T, s.T);
  clash('--width', g.width, s.width);
  // without --fire-rate the run must have recorded statistics: fail before building anything
  if (fireRate === undefined && !stats) {
    stats = runSpikeStats(run);
    statsFrom = `${run.dir}/result.json`;
  }
  const spec = {
    ...specOfRun(s, run.dir),
    ...(g.inputShape ? { inputShape: g.inputShape } : {}),
    ...(g.classes !== undefined ? { classes: g.classes } : {}),
  };
  const source =
    fireRate === undefined ? { checkpoint: target } : { checkpoint: target, fire_rate: fireRate };
  return { spec, source, widthFrom: 'checkpoint', stats, statsFrom };
}

/** The network `--arch` and `--dataset` name (width and T: the flags', else the trainer's defaults), at an assumed rate. */
function assumedRateSubject(flags: EnergyCommandFlags, g: EnergyGeometry): EnergySubject {
  if (flags.arch === undefined) throw new UsageError('--arch is required with --fire-rate');
  if (flags.dataset === undefined) throw new UsageError('--dataset is required with --fire-rate');
  const spec = {
    arch: flags.arch,
    dataset: flags.dataset,
    width: g.width ?? TRAIN_DEFAULTS.width,
    T: g.T ?? TRAIN_DEFAULTS.stc.T,
    inputShape: g.inputShape,
    classes: g.classes,
  };
  return {
    spec,
    source: { fire_rate: g.fireRate },
    widthFrom: g.width === undefined ? 'default' : 'flag',
    statsFrom: '',
  };
}

/** Prints the energy report: one JSON object, or the network, where its spike counts come from, the table and the totals. */
function printEnergy(
  report: EnergyReport,
  { spec, source, widthFrom, statsFrom }: EnergySubject,
  fireRate: number | undefined,
  constants: EnergyConstants,
  json: boolean,
): void {
  if (json) {
    const j: EnergyCommandJson = {
      arch: spec.arch,
      dataset: spec.dataset,
      width: spec.width,
      width_source: widthFrom,
      T: spec.T,
      source,
      constants: {
        e_mac_pj: constants.eMac,
        e_ac_pj: constants.eAc,
        bn_macs_per_element: constants.bnMacsPerElement,
      },
      ...energyToJson(report),
    };
    printJson(j);
    return;
  }
  const widthNote = widthFrom === 'default' ? ", the trainer's default; --width W for another" : '';
  console.log(`${spec.arch} (width ${spec.width}${widthNote}) on ${spec.dataset}, T=${spec.T}, per image`);
  console.log(
    fireRate === undefined
      ? `spike counts: recorded, from ${statsFrom}`
      : `spike counts: ASSUMED — every STCB layer fires at rate ${fireRate} (${(fireRate * spec.T).toFixed(3)} spikes per neuron; --fire-rate)`,
  );
  console.log('');
  console.log(energyTable(report));
  console.log('');
  console.log(energySummary(report));
}

/** `stcsnn energy`'s options and their help. */
function energyOptions(cmd: Command): Command {
  cmd
    .option('--arch <name>', 'architecture: vgg11, vgg16 or resnet18 (default: the checkpoint’s)')
    .option('--dataset <name>', 'data set, for the input shape and classes (default: the checkpoint’s)')
    .option(
      '--T <n>',
      `spike-train length (default: the checkpoint’s, else the trainer’s default, ${TRAIN_DEFAULTS.stc.T})`,
    )
    .option(
      '--width <w>',
      `channel multiplier (default: the checkpoint’s, else the trainer’s default, ${TRAIN_DEFAULTS.width})`,
    )
    .option(
      '--checkpoint <run-dir>',
      'a finished run directory (or repeat group: the mean over seeds): use its recorded spike statistics',
    )
    .option(
      '--fire-rate <r>',
      'assume every STCB layer fires at this rate (0..1); with --checkpoint, on that run’s network',
    );
  return withEnergyOptions(cmd)
    .option('--input-shape <H,W,C>', "override the data set's sample shape")
    .option('--classes <n>', "override the data set's class count");
}

/**
 * `stcsnn energy`: the energy report of a run's network with its recorded spike statistics
 * (`--checkpoint`), or of a network at an assumed firing rate (`--fire-rate`).
 */
export function energyCommand(): Command {
  const cmd = energyOptions(
    new Command('energy').description(
      'operation counts and computation energy per layer of an STCSNN against its ANN twin',
    ),
  );
  withCommon(cmd);
  cmd.action(async (flags: EnergyCommandFlags) => {
    const constants = energyConstantsFrom(flags);
    if (flags.checkpoint === undefined && flags.fireRate === undefined)
      throw new UsageError('give --checkpoint RUN_DIR (recorded spike statistics) or --fire-rate R');
    const g = geometryOf(flags);
    const subject =
      flags.checkpoint !== undefined
        ? checkpointSubject(flags.checkpoint, flags, g)
        : assumedRateSubject(flags, g);
    const over = modelSizeOverLimits(archConfigFor(subject.spec));
    if (over) throw new UsageError(`the network is too large: ${over}`);
    await backendFor(flags);
    const { fireRate } = g;
    const report = networkEnergy(
      subject.spec,
      fireRate !== undefined ? { fireRate } : { stats: subject.stats!, source: subject.statsFrom },
      constants,
    );
    printEnergy(report, subject, fireRate, constants, flags.json === true);
  });
  return cmd;
}
