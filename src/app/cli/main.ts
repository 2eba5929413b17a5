#!/usr/bin/env node
/** The `stcsnn` command line. */
import { Command, CommanderError } from 'commander';
import { dataCommand } from './data.js';
import { doctorCommand } from './doctor.js';
import { encodeCommand } from './encode.js';
import { energyCommand } from './energy.js';
import { reportCommand } from './report.js';
import { reproduceCommand } from './reproduce.js';
import { sweepCommand } from './sweep.js';
import { FileSystemError, isFsError } from '../../lib/util/fs.js';
import { escapeControl } from '../../lib/util/text.js';
import { isUserError, KilledError } from './errors.js';
import { jsonPrinted } from './output.js';
import { refuseEmptyValues, refuseExcessArguments } from './options.js';
import { trainCommand } from './train.js';
import { launchCommand, stopWithLauncher } from './launch.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { predictCommand } from './predict.js';

const VERSION = '0.1.0';

/** Builds the program with every subcommand. */
export function buildProgram(): Command {
  const program = new Command('stcsnn')
    .description('Spike-train level spiking neural networks with spatio-temporal conversion (STCSNN)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (_program, action) => {
      refuseExcessArguments(action);
      refuseEmptyValues(action);
    });
  // the commands in the order --help lists them
  const commands = [
    encodeCommand,
    trainCommand,
    launchCommand,
    evalCommand,
    exportCommand,
    predictCommand,
    dataCommand,
    energyCommand,
    sweepCommand,
    reportCommand,
    reproduceCommand,
    doctorCommand,
  ];
  for (const command of commands) program.addCommand(command());
  // commander's own errors (unknown option, missing argument) in the CLI's one-line form; excess
  // arguments are refused by refuseExcessArguments, which names them and the flag before them
  const prefixed = (c: Command): void => {
    c.configureOutput({ outputError: (text, write) => write(`stcsnn: ${text}`) });
    c.allowExcessArguments(true);
    c.commands.forEach(prefixed);
  };
  prefixed(program);
  return program;
}

function debugRequested(argv: readonly string[]): boolean {
  return argv.includes('--debug');
}

/**
 * The error codes of `--json` output (`{"error": {"message", "code"}}` on stdout): `usage` for
 * bad flags, the error's kind for bad input (`config`, `data`, `checkpoint`, `format`,
 * `backend`, `numerical`, `filesystem` for a path that cannot be written or read, `lock` for a
 * directory another process is writing), `killed` when a process was killed by a signal (a rank of
 * `stcsnn launch`; exit 128 + the signal's number), `internal` for a bug (exit 1).
 */
function errorCode(e: unknown): string {
  if (e instanceof CommanderError) return 'usage';
  const name = e instanceof Error ? e.name : '';
  if (!isUserError(e)) return 'internal';
  const kind = name.replace(/Error$/, '').toLowerCase();
  return kind === 'commander' ? 'usage' : kind || 'usage';
}

/** With `--json`, the error as the one JSON object on stdout (unless the command printed its own). */
function printJsonError(argv: readonly string[], message: string, code: string): void {
  if (argv.includes('--json') && !jsonPrinted())
    process.stdout.write(`${JSON.stringify({ error: { message, code } })}\n`);
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  stopWithLauncher(); // a rank of `stcsnn launch` stops when its launcher is gone
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (caught) {
    // a failed file-system call anywhere (EACCES, EROFS, ENOSPC, ENOTDIR, ...) is one line naming the path
    const e = isFsError(caught) ? FileSystemError.of(caught) : caught;
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      ) {
        return 0;
      }
      // commander has printed its one-line message on stderr
      printJsonError(argv, e.message.replace(/^error: /, ''), errorCode(e));
      return 2;
    }
    const debug = debugRequested(argv);
    if (e instanceof KilledError) {
      if (e.reported) return e.exitCode;
      process.stderr.write(`stcsnn: error: ${escapeControl(e.message)}\n`);
      printJsonError(argv, e.message, 'killed');
      if (debug) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    if (isUserError(e)) {
      // one line, whatever the file it quotes holds (control bytes escaped)
      process.stderr.write(`stcsnn: error: ${escapeControl(e.message)}\n`);
      printJsonError(argv, e.message, errorCode(e));
      if (debug) process.stderr.write(`${e.stack}\n`);
      return 2;
    }
    const err = e as Error;
    const message = err?.message ?? String(e);
    process.stderr.write(`stcsnn: internal error: ${escapeControl(message, '\n')}\n`);
    printJsonError(argv, message, 'internal');
    if (debug) process.stderr.write(`${err?.stack}\n`);
    else process.stderr.write('stcsnn: (run with --debug for a stack trace)\n');
    return 1;
  }
}

// A closed pipe (`stcsnn ... | head`) ends the program quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const code = await main();
process.exitCode = code;
