/**
 * Parsers for CLI option values; each throws a {@link UsageError} naming the option as typed.
 * Out-of-range values have one wording everywhere ({@link outOfRange}, the configuration's
 * `rangeMessage`); integers are decimal digits only (see {@link parseDecimalInteger}).
 */
import type { Command } from 'commander';
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

/** A finite number. */
export function parseNumber(flag: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v))
    throw new UsageError(`${flag} must be a finite number, got '${raw}'`);
  return v;
}

/** A decimal integer in `[min, max]` (see {@link parseDecimalInteger}). */
export function parseInteger(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const range = max === Infinity ? `an integer >= ${min}` : `an integer in ${min}..${max}`;
  const v = parseDecimalInteger(flag, raw);
  if (v < min || v > max) throw outOfRange(flag, range, raw);
  return v;
}

/** A comma-separated list of finite numbers, at least one. */
export function parseNumberList(flag: string, raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.every((p) => p === ''))
    throw new UsageError(`${flag} needs at least one value`);
  return parts.map((p) => {
    const v = Number(p);
    if (p === '' || !Number.isFinite(v)) throw new UsageError(`${flag}: '${p}' is not a finite number`);
    return v;
  });
}

/** A comma-separated list of decimal integers (see {@link parseDecimalInteger}), at least one. */
export function parseIntegerList(flag: string, raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
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

/** The energy constants' flags (`--e-mac`, `--e-ac`, `--bn-macs`), each a finite number >= 0. */
export function energyConstantsFrom(f: { eMac: string; eAc: string; bnMacs: string }): {
  eMac: number;
  eAc: number;
  bnMacsPerElement: number;
} {
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

/** The error of an empty option value or argument (`--out ''`): it names no file and no value. */
export function emptyValue(name: string): UsageError {
  return new UsageError(`${name} must not be empty`);
}

/**
 * Refuses an empty value (`--out ''`, `eval ''`) of any option or argument given to `cmd` on
 * the command line: an empty path would mean the current folder to some calls and nothing to
 * others. After `--` (the command `launch` runs), an empty value is named by the flag before it.
 * @throws UsageError naming the option (`--out must not be empty`)
 */
export function refuseEmptyValues(cmd: Command): void {
  for (const o of cmd.options) {
    const key = o.attributeName();
    const v: unknown = cmd.getOptionValue(key);
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    if (v === '' || (Array.isArray(v) && v.includes(''))) throw emptyValue(o.long ?? o.flags);
  }
  const args = cmd.args;
  const declared = cmd.registeredArguments;
  args.forEach((a, i) => {
    if (a !== '') return;
    const before = args[i - 1];
    const arg = declared[Math.min(i, declared.length - 1)];
    throw emptyValue(
      before?.startsWith('-')
        ? before
        : `the ${arg ? `<${arg.name()}>` : `argument ${i + 1}`} of ${cmd.name()}`,
    );
  });
}
