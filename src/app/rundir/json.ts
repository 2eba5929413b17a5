/**
 * Reading the JSON files of a run directory: a file read and parsed with one-line errors naming
 * it, and a value checked against a zod schema with the first wrong field named.
 */
import { z } from 'zod';
import { ConfigError } from '../../lib/core/config.js';
import { issueText } from '../config/config.js';
import { FileSystemError, readRegularText } from '../../lib/util/fs.js';

/**
 * The parsed content of the JSON file `path`.
 * @throws ConfigError `cannot read PATH: CODE` or `PATH is not valid JSON: ...`
 */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readRegularText(path);
  } catch (e) {
    if (e instanceof FileSystemError) throw new ConfigError(e.message);
    throw new ConfigError(
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * `value` as `schema` parses it.
 * @throws ConfigError `WHERE: FIELD: MESSAGE` for the first field that is wrong
 */
export function checked<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { path, message } = issueText(r.error);
  throw new ConfigError(`${where}: ${path}: ${message}`);
}

/** Whether `v` is a plain object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A number as a run's JSON files hold it: any number (NaN and the infinities included, for
 * values built in memory); null, which is how `JSON.stringify` writes a NaN or an infinity,
 * reads as NaN.
 */
export const jsonNumber = z.union([
  z.custom<number>((v) => typeof v === 'number', 'expected a number'),
  z.null().transform(() => NaN),
]);
