/**
 * Which file a `--checkpoint`, `--model`, `--init-from` or `--distill-from` argument names: the
 * file itself, or in a run directory its model (`MODEL_FILES` of `layout.ts`: best, else last).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../../lib/interop/state-dict.js';
import { MODEL_FILES } from './layout.js';

/**
 * The model file `arg` names: the file itself, or in a run directory `best.safetensors`, else
 * `last.safetensors`.
 * @throws CheckpointError when the path does not exist or the directory holds neither file
 */
export function resolveModelPath(arg: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(arg).isDirectory();
  } catch {
    throw new CheckpointError(`${arg} does not exist (expected a run directory or a .safetensors file)`);
  }
  if (!isDir) return arg;
  for (const name of MODEL_FILES) {
    const p = join(arg, name);
    if (existsSync(p)) return p;
  }
  throw new CheckpointError(`run directory ${arg} has no ${MODEL_FILES.join(' or ')}`);
}
