/** Test helpers of the two-process tests: the CLI run as a child process, its output collected. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI. */
export const CLI = fileURLToPath(new URL('../../app/cli/main.js', import.meta.url));

/** What a CLI process printed and how it ended. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `stcsnn ARGS` (with `env` added to this process's environment) and collects its output. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
