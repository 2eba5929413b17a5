/**
 * Command-line handling shared by the repository's scripts (`bench/*.js`, `bench/*.mjs`,
 * `scripts/*.mjs`), with the CLI's conventions: `--help` prints the usage and exits 0; bad
 * input (an unknown option, a missing or malformed value) is one line on stderr and exit code 2;
 * any other failure is one line on stderr and exit code 1. `--debug` (or `STCSNN_DEBUG=1`)
 * adds the stack trace.
 *
 *   const { values, positionals } = scriptArgs(import.meta.url, { usage, options });
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Bad input: reported in one line with exit code 2. */
export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

let scriptName = 'script';
let debug = process.env.STCSNN_DEBUG === '1';

/** Prints `name: message` (first line only, unless --debug) and exits 2 (bad input) or 1. */
function report(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const usage = e instanceof UsageError;
  const first = String(e.message).split('\n')[0];
  process.stderr.write(`${scriptName}: ${first}${usage ? ' (see --help)' : ''}\n`);
  if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(usage ? 2 : 1);
}

/**
 * Parses `process.argv` for the script at `scriptUrl` (its `import.meta.url`) and installs the
 * one-line error handlers.
 *
 * @param {string} scriptUrl the script's `import.meta.url`
 * @param {{ usage: string, options?: import('node:util').ParseArgsConfig['options'], positionals?: number }} spec
 *   `usage`: the text `--help` prints; `options`: `node:util` parseArgs options (`--help` and
 *   `--debug` are added); `positionals`: how many positional arguments are accepted (default 0).
 * @returns {{ values: Record<string, string | boolean | undefined>, positionals: string[] }}
 */
export function scriptArgs(scriptUrl, { usage, options = {}, positionals = 0 }) {
  scriptName = relative(ROOT, fileURLToPath(scriptUrl));
  process.on('uncaughtException', report);
  let parsed;
  try {
    parsed = parseArgs({
      options: { ...options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } },
      allowPositionals: positionals > 0,
      strict: true,
    });
  } catch (e) {
    // node's messages run on with advice about '--'; the first sentence names the problem
    throw new UsageError(String(e.message).split('. ')[0]);
  }
  if (parsed.values.debug) debug = true;
  if (parsed.values.help) {
    process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
    process.exit(0);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
  }
  return parsed;
}

/** `value` as an integer >= `min`. @throws UsageError naming the option */
export function intArg(name, value, min = 0) {
  const n = Number(value);
  if (!(typeof value === 'string' && value.trim() !== '' && Number.isInteger(n) && n >= min)) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  }
  return n;
}

/** `value` as a finite number > `above`. @throws UsageError naming the option */
export function numberArg(name, value, above = 0) {
  const n = Number(value);
  if (!(typeof value === 'string' && value.trim() !== '' && Number.isFinite(n) && n > above)) {
    throw new UsageError(`--${name} must be a number > ${above}, got '${value}'`);
  }
  return n;
}

/** `value`, one of `choices`. @throws UsageError naming the option and the choices */
export function choiceArg(name, value, choices) {
  if (!choices.includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${value}'`);
  }
  return value;
}

/** A comma-separated list, each item one of `choices` (at least one item). @throws UsageError */
export function listArg(name, value, choices) {
  const items = String(value)
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${name} must name at least one of ${choices.join(', ')}`);
  for (const v of items) choiceArg(name, v, choices);
  return items;
}

/**
 * Imports a compiled module of stcsnn, e.g. `importBuilt('dist/lib/nn/models.js')`.
 * @throws Error (one line) when `dist/` has not been built
 */
export async function importBuilt(path) {
  const url = new URL(`../${path}`, import.meta.url);
  if (!existsSync(url)) throw new Error(`${path} is missing: run \`npm run build\` first`);
  return import(url.href);
}
