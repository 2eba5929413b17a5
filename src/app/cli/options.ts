/**
 * Parsers for CLI option values; each throws a {@link UsageError} naming the option as typed.
 * Out-of-range values have one wording everywhere ({@link outOfRange}, the configuration's
 * `rangeMessage`); integers are decimal digits only (see {@link parseDecimalInteger}); no numeric
 * value may carry whitespace (`--batch-size ' 32'`, `--lr '0.1 '`, `--theta0 '0.5, 1'` are refused
 * naming the flag and the value).
 */
import type { Command } from 'commander';
import { DEFAULT_ENERGY, type EnergyConstants } from '../../lib/analysis/energy.js';
import { rangeMessage } from '../config/config.js';
import { UsageError } from './errors.js';

/** The error of a value outside its range: `--frames must be an integer in 1..64, got 0`. */
export function outOfRange(flag: string, range: string, got: string | number): UsageError {
  return new UsageError(rangeMessage(flag, range, got));
}

/** Decimal integer text: an optional minus sign and digits (leading zeros allowed: `08` is 8). */
const DECIMAL_INTEGER = /^-?[0-9]+$/;

/**
 * A decimal integer, without range: `0x10`, `1e1`, `+8`, ` 8`, `8.0` are refused (Number()
 * would read them as 16, 10, 8, 8, 8), so that what a run records is what the user typed.
 */
export function parseDecimalInteger(flag: string, raw: string): number {
  if (!DECIMAL_INTEGER.test(raw))
    throw new UsageError(`${flag} must be an integer in decimal digits, got '${raw}'`);
  const v = Number(raw);
  if (!Number.isSafeInteger(v))
    throw outOfRange(flag, `an integer of at most ${Number.MAX_SAFE_INTEGER}`, raw);
  return v;
}

/**
 * A finite number, written without surrounding whitespace: `' 0.1'` is refused as ` 8` is for
 * integers (Number() would read both), so that every numeric flag takes its value the same way.
 */
export function parseNumber(flag: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() !== raw || raw === '' || !Number.isFinite(v))
    throw new UsageError(`${flag} must be a finite number, got '${raw}'`);
  return v;
}

/** Refuses whitespace in a list's text: its values are separated by commas alone. */
function refuseSpacesInList(flag: string, raw: string, what: string): void {
  if (/\s/.test(raw))
    throw new UsageError(`${flag} must be ${what} separated by commas, without spaces; got '${raw}'`);
}

/** A decimal integer in `[min, max]` (see {@link parseDecimalInteger}). */
export function parseInteger(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const range = max === Infinity ? `an integer >= ${min}` : `an integer in ${min}..${max}`;
  const v = parseDecimalInteger(flag, raw);
  if (v < min || v > max) throw outOfRange(flag, range, raw);
  return v;
}

/** A comma-separated list of finite numbers (no spaces), at least one. */
export function parseNumberList(flag: string, raw: string): number[] {
  refuseSpacesInList(flag, raw, 'numbers');
  const parts = raw.split(',');
  if (parts.length === 0 || parts.every((p) => p === ''))
    throw new UsageError(`${flag} needs at least one value`);
  return parts.map((p) => {
    const v = Number(p);
    if (p === '' || !Number.isFinite(v)) throw new UsageError(`${flag}: '${p}' is not a finite number`);
    return v;
  });
}

/** A comma-separated list (no spaces) of decimal integers (see {@link parseDecimalInteger}), at least one. */
export function parseIntegerList(flag: string, raw: string): number[] {
  refuseSpacesInList(flag, raw, 'integers');
  const parts = raw.split(',');
  if (parts.every((p) => p === '')) throw new UsageError(`${flag} needs at least one value`);
  return parts.map((p) => {
    if (!DECIMAL_INTEGER.test(p)) throw new UsageError(`${flag}: '${p}' is not an integer in decimal digits`);
    return Number(p);
  });
}

/** One of a fixed set of strings. */
export function parseChoice<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(`${flag} must be one of ${choices.join(', ')}; got '${raw}'`);
}

/** The energy constants' flags as commander gives them (`--e-mac`, `--e-ac`, `--bn-macs`). */
export interface EnergyFlags {
  eMac: string;
  eAc: string;
  bnMacs: string;
}

/**
 * Adds the energy constants' flags (`--e-mac`, `--e-ac`, `--bn-macs`) with their defaults
 * (`DEFAULT_ENERGY`); `note` is added to each help text (`' (runs)'`).
 */
export function withEnergyOptions(cmd: Command, note = ''): Command {
  return cmd
    .option('--e-mac <pJ>', `energy of one multiply-accumulate in pJ${note}`, String(DEFAULT_ENERGY.eMac))
    .option('--e-ac <pJ>', `energy of one accumulate in pJ${note}`, String(DEFAULT_ENERGY.eAc))
    .option('--bn-macs <n>', `MACs per batch-norm element${note}`, String(DEFAULT_ENERGY.bnMacsPerElement));
}

/** The energy constants' flags (see {@link withEnergyOptions}), each a finite number >= 0. */
export function energyConstantsFrom(f: EnergyFlags): EnergyConstants {
  const nonNegative = (flag: string, raw: string) => {
    const v = parseNumber(flag, raw);
    if (v < 0) throw outOfRange(flag, '>= 0', raw);
    return v;
  };
  return {
    eMac: nonNegative('--e-mac', f.eMac),
    eAc: nonNegative('--e-ac', f.eAc),
    bnMacsPerElement: nonNegative('--bn-macs', f.bnMacs),
  };
}

/** True for a value of nothing but whitespace (`''`, `' '`, a tab). */
const isBlank = (v: unknown): v is string => typeof v === 'string' && v.trim() === '';

/**
 * The error of an empty or blank option value or argument (`--out ''`, `--out ' '`): it names no
 * file and no value.
 */
export function emptyValue(name: string, value = ''): UsageError {
  return new UsageError(
    value === '' ? `${name} must not be empty` : `${name} must not be blank, got '${value}'`,
  );
}

/**
 * Refuses an empty or blank value (`--out ''`, `--data-dir ' '`, `eval ''`) of any option or
 * argument given to `cmd` on the command line: an empty path would mean the current folder to
 * some calls and nothing to others, and a blank one would make a folder named by spaces; no
 * option takes whitespace alone as a value. After `--` (the command `launch` runs), such a value
 * is named by the flag before it.
 * @throws UsageError naming the option (`--out must not be empty`, `--out must not be blank, got ' '`)
 */
export function refuseEmptyValues(cmd: Command): void {
  for (const o of cmd.options) {
    const key = o.attributeName();
    const v: unknown = cmd.getOptionValue(key);
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    const blank = isBlank(v) ? v : Array.isArray(v) ? v.find(isBlank) : undefined;
    if (blank !== undefined) throw emptyValue(o.long ?? o.flags, blank);
  }
  const args = cmd.args;
  const declared = cmd.registeredArguments;
  args.forEach((a, i) => {
    if (!isBlank(a)) return;
    const before = args[i - 1];
    const arg = declared[Math.min(i, declared.length - 1)];
    throw emptyValue(
      before?.startsWith('-')
        ? before
        : `the ${arg ? `<${arg.name()}>` : `argument ${i + 1}`} of ${cmd.name()}`,
      a,
    );
  });
}

/**
 * Refuses arguments beyond the ones `cmd` declares (commander's own check is turned off for
 * every command, see `buildProgram`), naming them and the flag they follow: a value that a shell
 * split in two (`--batch-size ' 32'` through an unquoted variable gives `--batch-size "'" "32'"`)
 * is otherwise commander's bare "too many arguments".
 * @throws UsageError (`train takes no arguments, got '32'' after --batch-size ''' (...)`)
 */
export function refuseExcessArguments(cmd: Command): void {
  const declared = cmd.registeredArguments;
  if (declared.some((a) => a.variadic)) return;
  const extra = cmd.args.slice(declared.length);
  if (extra.length === 0) return;
  const names: string[] = [];
  let root = cmd;
  for (; root.parent; root = root.parent) names.unshift(root.name());
  const raw = (root as unknown as { rawArgs?: string[] }).rawArgs ?? [];
  const at = raw.indexOf(extra[0], Math.max(0, raw.indexOf(cmd.name())));
  const flag = at >= 2 && raw[at - 2].startsWith('-') && !raw[at - 1].startsWith('-') ? at - 2 : -1;
  const takes =
    declared.length === 0
      ? 'no arguments'
      : `at most ${declared.length} argument${declared.length === 1 ? '' : 's'}`;
  throw new UsageError(
    `${names.join(' ')} takes ${takes}, got ${extra.map((a) => `'${a}'`).join(' ')}` +
      (flag >= 0
        ? ` after ${raw[flag]} '${raw[flag + 1]}' (a value holding spaces must be quoted as one word)`
        : ''),
  );
}
