/** `stcsnn encode`: how STEB turns values into spike trains and what CAB decodes back. */
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import {
  DEFAULT_STC,
  FIRE_TESTS,
  INPUT_SHIFTS,
  stcConfig,
  THRESHOLD_SCHEDULES,
  thresholds,
  type StcConfig,
} from '../../lib/core/config.js';
import { decode, encode } from '../../lib/core/stc.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { UsageError } from './errors.js';
import { printJson, table } from './output.js';
import { parseChoice, parseNumber, parseNumberList } from './options.js';

interface EncodeFlags extends CommonFlags {
  values: string;
  T: string;
  theta0: string;
  tau: string;
  schedule: string;
  fire: string;
  shift: string;
}

/** The result of `encode`, also its `--json` output. */
export interface EncodeResult {
  thresholds: number[];
  inputs: number[];
  spikes: number[][];
  decoded: number[];
  backend: string;
}

/** Encodes `values` on the active backend: spike trains `[inputs][T]` and decoded values. */
export function encodeValues(values: readonly number[], cfg: StcConfig): Omit<EncodeResult, 'backend'> {
  return tf.tidy(() => {
    const x = tf.tensor1d([...values]);
    const s = encode(x, cfg); // [T, n]
    const decoded = Array.from(decode(s, cfg).dataSync());
    const st = tf.transpose(s).arraySync() as number[][];
    return { thresholds: thresholds(cfg), inputs: [...values], spikes: st, decoded };
  });
}

/** Parses the STC flags shared by commands into a validated config. */
export function stcFromFlags(f: {
  T: string;
  theta0: string;
  tau: string;
  schedule: string;
  fire: string;
  shift?: string;
}): StcConfig {
  return stcConfig({
    T: parseNumber('--T', f.T),
    theta0: parseNumber('--theta0', f.theta0),
    tau: parseNumber('--tau', f.tau),
    schedule: parseChoice('--schedule', f.schedule, THRESHOLD_SCHEDULES),
    fire: parseChoice('--fire', f.fire, FIRE_TESTS),
    shift: parseChoice('--shift', f.shift ?? DEFAULT_STC.shift, INPUT_SHIFTS),
  });
}

/** Adds `--T --theta0 --tau --schedule --fire --shift` with the core's defaults (`DEFAULT_STC`). */
export function withStcOptions(cmd: Command, defaults: { theta0?: string } = {}): Command {
  const d = DEFAULT_STC;
  return cmd
    .option('--T <n>', 'spike-train length T (1..64)', String(d.T))
    .option('--theta0 <v>', 'initial threshold theta0 (> 0)', defaults.theta0 ?? String(d.theta0))
    .option('--tau <v>', 'threshold time constant tau (> 0 for exp, > 1 for geometric)', String(d.tau))
    .option(
      '--schedule <name>',
      `threshold schedule: exp (theta0*exp(-t/tau)) or geometric (theta0*tau^-t)`,
      d.schedule,
    )
    .option('--fire <test>', `firing test: ${FIRE_TESTS.map((t) => `'${t}'`).join(' or ')}`, d.fire)
    .option(
      '--shift <mode>',
      'membrane start: none (V(0) = x, decoded rounds down) or half (V(0) = x + theta(T-1)/2, rounds to nearest)',
      d.shift,
    );
}

export function encodeCommand(): Command {
  const cmd = new Command('encode').description(
    'show the spike train STEB makes of each value and what CAB decodes from it',
  );
  cmd.requiredOption(
    '--values <list>',
    'comma-separated input values (membrane potentials), e.g. 0.3,-0.2,1.5',
  );
  withStcOptions(cmd);
  withCommon(cmd);
  cmd.action(async (flags: EncodeFlags) => {
    const cfg = stcFromFlags(flags);
    const values = parseNumberList('--values', flags.values);
    if (values.length > 10_000) throw new UsageError('--values takes at most 10000 values');
    const info = await backendFor(flags);
    const r: EncodeResult = { ...encodeValues(values, cfg), backend: info.name };
    if (flags.json) {
      printJson(r);
      return;
    }
    const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));
    console.log(
      `STEB: T=${cfg.T}, theta0=${cfg.theta0}, tau=${cfg.tau}, schedule=${cfg.schedule}, fire when V ${cfg.fire} theta${cfg.shift === 'half' ? ', V(0) = x + theta(T-1)/2' : ''} (backend ${info.name})`,
    );
    console.log(`thresholds: ${r.thresholds.map(f).join(' ')}\n`);
    const rows = [['input', 'spike train (t = 0..T-1)', 'spikes', 'decoded', 'error']];
    r.inputs.forEach((x, i) => {
      const s = r.spikes[i];
      rows.push([
        f(x),
        s.join(''),
        String(s.reduce((a, b) => a + b, 0)),
        f(r.decoded[i]),
        f(r.decoded[i] - Math.max(0, x)),
      ]);
    });
    console.log(table(rows));
  });
  return cmd;
}
