/**
 * A worker thread that runs the CLI's `main()` for the CLI fuzz test (cli-fuzz.test.ts): it
 * receives argument vectors and answers with the exit code and what was written to stdout and
 * stderr. A worker has its own stdout and stderr, so capturing them here cannot swallow the test
 * runner's own output.
 */
import { parentPort } from 'node:worker_threads';

/** What the worker answers for one argument vector. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** An exception that escaped `main()` (a bug), as text. */
  readonly thrown?: string;
}

let out = '';
let err = '';
process.stdout.write = ((chunk: string | Uint8Array) => {
  out += String(chunk);
  return true;
}) as typeof process.stdout.write;
process.stderr.write = ((chunk: string | Uint8Array) => {
  err += String(chunk);
  return true;
}) as typeof process.stderr.write;

// The CLI module runs main(process.argv) when imported: let that print the version.
process.argv = [process.execPath, 'stcsnn', '--version'];
const { main } = await import('../cli/main.js');

const port = parentPort;
if (port) {
  port.on('message', (argv: string[]) => {
    out = '';
    err = '';
    main(['node', 'stcsnn', ...argv]).then(
      (code) => port.postMessage({ code, out, err } satisfies CliRun),
      (e: unknown) =>
        port.postMessage({
          code: -1,
          out,
          err,
          thrown: e instanceof Error ? (e.stack ?? e.message) : String(e),
        }),
    );
  });
  port.postMessage('ready');
}
