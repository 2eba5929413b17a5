/**
 * Crash safety: a training process killed with SIGKILL at random (seeded) points and resumed each
 * time with `--resume` ends with the same weights, momentum, batch-norm statistics and metrics as
 * an uninterrupted run with the same seed on the same backend, bit for bit. The run directory is
 * never unreadable in between: every file is written to a temporary name, fsync'd and renamed,
 * and `last.safetensors` is the commit point of an epoch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { decodeSafetensors } from '../../lib/interop/safetensors.js';
import { readRunState } from '../rundir/checkpoint.js';
import { readRunConfig } from '../rundir/config-file.js';
import type { EpochMetrics } from '../rundir/log-file.js';
import { train } from '../train/train.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'stcsnn-crash-'));

before(async () => {
  await initBackend(backend);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A small seeded generator (mulberry32), so the kill points are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The delays (ms) of the kills scheduled so far. */
const delays: number[] = [];

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
}

/**
 * Runs the CLI; when `killAt` is given, sends SIGKILL `killAt` epoch-lengths after the first epoch
 * this process finishes (its summary line is printed after the epoch's commit; an epoch-length is
 * the time from that epoch's first progress line to its summary), so that the kill lands
 * somewhere in the next epoch's training, evaluation or checkpoint writes, or in the final
 * evaluation, on fast and slow backends alike, unless the process has ended by then.
 */
function runCli(args: readonly string[], killAt?: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let timer: NodeJS.Timeout | undefined;
    let epochStart: number | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killAt === undefined || timer !== undefined) return;
      if (epochStart === undefined && /epoch \d+\/\d+/.test(stderr)) epochStart = performance.now();
      if (epochStart !== undefined && /epoch \d+: loss/.test(stderr)) {
        const ms = Math.round(killAt * (performance.now() - epochStart));
        delays.push(ms);
        timer = setTimeout(() => child.kill('SIGKILL'), ms);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr, stdout });
    });
  });
}

/** The metrics of a log that do not depend on wall-clock time. */
function metrics(dir: string): Omit<EpochMetrics, 'seconds' | 'data_seconds' | 'images_per_second'>[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = JSON.parse(l) as EpochMetrics;
      return {
        epoch: m.epoch,
        lr: m.lr,
        train_loss: m.train_loss,
        train_accuracy: m.train_accuracy,
        test_loss: m.test_loss,
        test_accuracy: m.test_accuracy,
      };
    });
}

/** The tensors of a safetensors file as name -> raw bytes (hex would be slow; compare Buffers). */
function tensorBytes(file: string): Map<string, Buffer> {
  const bytes = readFileSync(file);
  const f = decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  const out = new Map<string, Buffer>();
  for (const [name, t] of Object.entries(f.tensors)) {
    const d = t.data;
    out.set(name, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
  return out;
}

const EPOCHS = 4;
const ARGS = [
  'train',
  '--backend',
  backend,
  '--width',
  '0.125',
  '--limit-train',
  '160',
  '--limit-test',
  '40',
  '--epochs',
  String(EPOCHS),
  '--T',
  '4',
  '--seed',
  '3',
  '--json',
];

test('SIGKILL at random points, resumed each time, ends bit-identical to an uninterrupted run', async (t) => {
  const dir = join(root, 'killed');
  const random = rng(20261126);
  const kills: string[] = [];
  let first = true;
  let finished: Outcome | undefined;
  // Three kills at seeded random points (0 to 0.6 epoch-lengths after each process's first
  // finished epoch), then a run to the end.
  // A kill after result.json was written (while the process exits) leaves a finished run, which
  // a resume refuses (it can only be extended): its outcome is result.json.
  const finishedBefore = (): Outcome | undefined =>
    existsSync(join(dir, 'result.json'))
      ? { code: 0, signal: null, stderr: '', stdout: readFileSync(join(dir, 'result.json'), 'utf8') }
      : undefined;
  for (let attempt = 0; attempt < 3 && !finished; attempt++) {
    if (!first && (finished = finishedBefore())) break;
    const at = random() * 0.6;
    const args = first ? [...ARGS, '--out', dir] : ['train', '--backend', backend, '--json', '--resume', dir];
    first = false;
    const before = existsSync(join(dir, 'last.safetensors'))
      ? readRunState(join(dir, 'last.safetensors')).epoch
      : -1;
    const r = await runCli(args, at);
    if (r.signal === 'SIGKILL') {
      const state = existsSync(join(dir, 'last.safetensors'))
        ? readRunState(join(dir, 'last.safetensors')).epoch
        : -1;
      kills.push(
        `${at.toFixed(2)} epochs (${delays[delays.length - 1]} ms) after a commit (last committed epoch ${before} -> ${state})`,
      );
      // Whatever was on disk at the kill is a consistent run directory: config, a log with one
      // line per committed epoch, and a loadable checkpoint (or none yet).
      assert.ok(existsSync(join(dir, 'config.json')), 'config.json survives');
      // (the log is written just before the checkpoint, so it may hold one uncommitted epoch more,
      // which the resume drops).
      const lines = metrics(dir).length;
      assert.ok(
        lines === state + 1 || lines === state + 2,
        `log.jsonl: ${lines} lines, committed epoch ${state}`,
      );
      continue;
    }
    assert.equal(r.code, 0, r.stderr);
    finished = r;
  }
  finished ??= finishedBefore();
  if (!finished) {
    // A kill in the middle of an atomic write leaves its temporary file: the resume removes it.
    writeFileSync(join(dir, '.last.safetensors.99999.0.tmp'), 'half a checkpoint');
    finished = await runCli(['train', '--backend', backend, '--json', '--resume', dir]);
    assert.equal(finished.code, 0, finished.stderr);
  }
  t.diagnostic(`kills: ${kills.length ? kills.join('; ') : 'none (every run finished first)'}`);
  assert.ok(kills.length >= 1, 'at least one run was killed');

  // The uninterrupted reference: the same configuration, trained in this process on the same backend.
  const ref = join(root, 'reference');
  const config = readRunConfig(dir);
  const result = await train(config, { runDir: ref, backend });
  assert.equal(result.epochs, EPOCHS);

  assert.deepEqual(metrics(dir), metrics(ref), 'log.jsonl metrics are identical');
  for (const f of ['last.safetensors', 'best.safetensors']) {
    const a = tensorBytes(join(dir, f));
    const b = tensorBytes(join(ref, f));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${f}: same tensors`);
    if (f === 'last.safetensors')
      assert.ok(
        [...a.keys()].some((k) => k.startsWith('optimizer.')),
        'last.safetensors holds the momentum buffers',
      );
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${f}: ${name} differs`);
  }
  const out = JSON.parse(finished.stdout) as { test_accuracy: number; final_loss: number };
  assert.equal(out.test_accuracy, result.test_accuracy);
  assert.equal(out.final_loss, result.final_loss);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
    'no temporary files left after the resumed run',
  );
});
