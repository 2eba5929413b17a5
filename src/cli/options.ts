/** Parsers for CLI option values; each throws a {@link UsageError} naming the option. */
import { UsageError } from './errors.js';

/** A finite number. */
export function parseNumber(flag: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v))
    throw new UsageError(`${flag} must be a finite number, got '${raw}'`);
  return v;
}

/** An integer in `[min, max]`. */
export function parseInteger(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const v = parseNumber(flag, raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `in ${min}..${max}`;
    throw new UsageError(`${flag} must be an integer ${range}, got '${raw}'`);
  }
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

/** One of a fixed set of strings. */
export function parseChoice<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(`${flag} must be one of ${choices.join(', ')}; got '${raw}'`);
}
