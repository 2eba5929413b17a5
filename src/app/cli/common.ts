/** Options every command shares, and running a command with the backend it asked for. */
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { BACKENDS, initBackend, parseBackend, type BackendInfo } from '../../lib/engine/backend.js';
import { PRECISIONS, parsePrecision } from '../../lib/engine/precision.js';
import { notice } from './output.js';
import { parseChoice, parseInteger } from './options.js';

/** The shared flags, parsed. */
export interface CommonFlags {
  backend: string;
  json?: boolean;
  debug?: boolean;
  threads?: string;
  device?: string;
  precision?: string;
}

/** Adds `--backend`, `--threads`, `--device`, `--precision`, `--json` and `--debug` to a command. */
export function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'tensor backend').choices([...BACKENDS]).default('auto'))
    .option('--threads <n>', 'threads for the native backend (default and at most: all cores)')
    .option('--device <device>', 'device for the native backend: cpu or cuda', 'cpu')
    .addOption(
      new Option(
        '--precision <p>',
        'bf16: convolutions in bfloat16 on the native backend (parameters, batch norm, the STC encoder stay float32); auto: bf16 only where native and shown as accurate',
      )
        .choices([...PRECISIONS])
        .default('fp32'),
    )
    .option('--json', 'print one JSON object on stdout instead of text')
    .option('--debug', 'print stack traces on errors');
}

/**
 * The thread count of `--threads` (an integer in 1..1024), capped at the machine's cores: more
 * threads than cores only slow training down (each op's threads wait for a core), so a larger
 * value is used as the cap, with a warning through `onNotice`.
 * @throws UsageError for a value that is not an integer in 1..1024
 */
export function threadsFor(
  raw: string,
  onNotice: (line: string) => void = notice,
  cores: number = availableParallelism(),
): number {
  const n = parseInteger('--threads', raw, 1, 1024);
  if (n <= cores) return n;
  onNotice(`warning: --threads ${n} is more than the ${cores} cores of this machine; using ${cores}`);
  return cores;
}

/** Initialises the requested backend; notices go to stderr. */
export async function backendFor(flags: CommonFlags): Promise<BackendInfo> {
  const threads = flags.threads === undefined ? undefined : threadsFor(flags.threads);
  const device = parseChoice('--device', flags.device ?? 'cpu', ['cpu', 'cuda'] as const);
  const precision = parsePrecision(flags.precision ?? 'fp32');
  return initBackend(parseBackend(flags.backend), { threads, device, precision, onNotice: notice });
}
