/** Options every command shares, and running a command with the backend it asked for. */
import { Command, Option } from 'commander';
import { BACKENDS, initBackend, parseBackend, type BackendInfo } from '../engine/backend.js';
import { notice } from './output.js';
import { parseChoice, parseInteger } from './options.js';

/** The shared flags, parsed. */
export interface CommonFlags {
  backend: string;
  json?: boolean;
  debug?: boolean;
  threads?: string;
  device?: string;
}

/** Adds `--backend`, `--threads`, `--device`, `--json` and `--debug` to a command. */
export function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'tensor backend').choices([...BACKENDS]).default('auto'))
    .option('--threads <n>', 'threads for the native backend (default: all cores)')
    .option('--device <device>', 'device for the native backend: cpu or cuda', 'cpu')
    .option('--json', 'print one JSON object on stdout instead of text')
    .option('--debug', 'print stack traces on errors');
}

/** Initialises the requested backend; notices go to stderr. */
export async function backendFor(flags: CommonFlags): Promise<BackendInfo> {
  const threads = flags.threads === undefined ? undefined : parseInteger('--threads', flags.threads, 1, 1024);
  const device = parseChoice('--device', flags.device ?? 'cpu', ['cpu', 'cuda'] as const);
  return initBackend(parseBackend(flags.backend), { threads, device, onNotice: notice });
}
