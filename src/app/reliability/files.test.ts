/**
 * Paths that are not regular files (issue 33, case 2), and ONNX files whose graph disagrees with
 * their metadata (case 6). Data files, images and model files are read only when they are
 * regular files of a bounded size (`readRegularFile`, `src/lib/util/fs.ts`): `/dev/zero`, a FIFO,
 * a directory or a symbolic link to one is refused naming the path and what it is, without being
 * read (before, `data verify` read a linked `/dev/zero` without end, `predict --input /dev/zero`
 * was killed for memory and a FIFO hung `data verify`). The CLI runs in child processes under a
 * 4 GB address-space cap and a timeout, so that a regression fails instead of eating the machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { pngBytes, writeCifar10Folder } from '../../lib/data/readers/fixture-files.test-support.js';
import { saveModel } from '../../lib/interop/model-file.js';
import { modelProtoType } from '../../lib/interop/onnx-proto.js';
import { exportOnnx, onnxInputMismatch, readOnnxHeader } from '../../lib/interop/onnx.js';
import { smallConfig, trainedNetwork } from '../../lib/interop/small-networks.test-support.js';
import { CLI } from '../../lib/distributed/cli-process.test-support.js';
import { FileSystemError, readRegularFile, readRegularFileAsync } from '../../lib/util/fs.js';

const root = mkdtempSync(join(tmpdir(), 'stcsnn-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
const hasDevZero = existsSync('/dev/zero');

/** A FIFO at `path` (false where `mkfifo` is missing). */
function mkfifo(path: string): boolean {
  return spawnSync('mkfifo', [path]).status === 0;
}

/**
 * `stcsnn ARGS` in a child under a 4 GB address-space cap (`ulimit -v`) and a 60 s timeout:
 * a command that reads without end is stopped rather than left to fill the memory.
 */
function capped(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    'sh',
    ['-c', 'ulimit -v 4000000 2>/dev/null; exec "$0" "$@"', process.execPath, CLI, ...args],
    { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The stderr of a refused command: exactly one `stcsnn: error:` line and nothing else. */
function oneErrorLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], /^stcsnn: error: /);
  assert.doesNotMatch(stderr, /internal error|\n\s+at /);
  return lines[0];
}

describe('readRegularFile: regular files of a bounded size, or a refusal naming the path', () => {
  const file = join(root, 'plain.bin');
  before(() => writeFileSync(file, Buffer.from('0123456789')));

  for (const [name, read] of [
    ['sync', async (p: string, max: number) => readRegularFile(p, { maxBytes: max, what: 'data file' })],
    ['async', (p: string, max: number) => readRegularFileAsync(p, { maxBytes: max, what: 'data file' })],
  ] as const) {
    it(`${name}: reads a regular file and refuses one over the limit`, async () => {
      assert.equal((await read(file, 10)).toString(), '0123456789');
      await assert.rejects(read(file, 9), {
        name: 'FileSystemError',
        message: `${file}: data file of 10 bytes exceeds the 9 bytes limit`,
      });
    });

    it(`${name}: refuses a directory, /dev/zero, a link to it and a FIFO, naming what it is`, async () => {
      await assert.rejects(read(root, 1e9), {
        message: `${root}: data file is not a regular file (a directory)`,
      });
      if (hasDevZero) {
        await assert.rejects(read('/dev/zero', 1e9), {
          message: '/dev/zero: data file is not a regular file (a character device)',
        });
        const link = join(root, `zero-${name}`);
        symlinkSync('/dev/zero', link);
        await assert.rejects(read(link, 1e9), {
          message: `${link}: data file is not a regular file (a symbolic link to /dev/zero, a character device)`,
        });
      }
      const fifo = join(root, `fifo-${name}`);
      if (mkfifo(fifo)) {
        // opening a FIFO without a writer would block: it is opened non-blocking and refused
        await assert.rejects(read(fifo, 1e9), (e: unknown) => {
          assert.ok(e instanceof FileSystemError);
          assert.equal(e.message, `${fifo}: data file is not a regular file (a FIFO)`);
          return true;
        });
      }
    });
  }

  it('a missing file is the failed call with its path and code', () => {
    assert.throws(() => readRegularFile(join(root, 'nope'), { maxBytes: 1 }), {
      code: 'ENOENT',
      path: join(root, 'nope'),
    });
  });
});

describe('the CLI on paths that are not regular files (issue 33.2)', { timeout: 600_000 }, () => {
  let model = '';
  let image = '';
  before(async () => {
    await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
    const net = trainedNetwork(smallConfig(), 1);
    model = join(root, 'model.safetensors');
    await saveModel(model, net);
    writeFileSync(join(root, 'model.onnx'), exportOnnx(net, { graph: 'fused' }));
    net.dispose();
    image = join(root, 'img.png');
    writeFileSync(
      image,
      pngBytes(16, 16, 2, (y, x) => [y * 16, x * 16, 99, 255]),
    );
  });

  it(
    'data verify: a CIFAR-10 batch linked to /dev/zero is refused at once, exit 2',
    { skip: !hasDevZero },
    () => {
      const dir = writeCifar10Folder(join(root, 'cifar-zero'));
      const batch = join(dir, 'data_batch_4.bin');
      rmSync(batch);
      symlinkSync('/dev/zero', batch);
      const r = capped(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir, '--subset']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        oneErrorLine(r.stderr),
        `stcsnn: error: ${batch}: data file is not a regular file (a symbolic link to /dev/zero, a character device)`,
      );
    },
  );

  it('data verify: a FIFO in place of a CIFAR-10 batch does not hang, exit 2', (t) => {
    const dir = writeCifar10Folder(join(root, 'cifar-fifo'));
    const batch = join(dir, 'data_batch_2.bin');
    rmSync(batch);
    if (!mkfifo(batch)) return t.skip('no mkfifo here');
    const r = capped(['data', 'verify', '--dataset', 'cifar10', '--data-dir', dir, '--subset']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(oneErrorLine(r.stderr), `stcsnn: error: ${batch}: data file is not a regular file (a FIFO)`);
  });

  it(
    'predict --input /dev/zero: the image is refused in its entry, exit 2, never read',
    { skip: !hasDevZero },
    () => {
      const r = capped(['predict', '--model', model, '--input', '/dev/zero', '--json']);
      assert.equal(r.code, 2, r.stderr);
      const out = r.stdout.trim().split('\n');
      const result = JSON.parse(out[0]) as { predictions: { input: string; error: string }[] };
      assert.deepEqual(result.predictions, [
        { input: '/dev/zero', error: '/dev/zero: image is not a regular file (a character device)' },
      ]);
    },
  );

  it('predict with a model path that is a directory, /dev/zero or a FIFO: exit 2 naming it', () => {
    const dirOnnx = join(root, 'dir.onnx');
    mkdirSync(dirOnnx);
    const cases: [string, string][] = [[dirOnnx, 'a directory']];
    if (hasDevZero) {
      const link = join(root, 'zero.safetensors');
      symlinkSync('/dev/zero', link);
      cases.push([link, 'a symbolic link to /dev/zero, a character device']);
    }
    const fifo = join(root, 'fifo.safetensors');
    if (mkfifo(fifo)) cases.push([fifo, 'a FIFO']);
    for (const [path, kind] of cases) {
      const r = capped(['predict', '--model', path, '--input', image]);
      assert.equal(r.code, 2, `${path}: ${r.stderr}`);
      assert.equal(
        oneErrorLine(r.stderr),
        `stcsnn: error: ${path}: model file is not a regular file (${kind})`,
      );
    }
  });

  /** The parts of a decoded ModelProto the edits below change. */
  interface OnnxObject {
    metadataProps: { key: string; value: string }[];
    graph: { input: { type: { tensorType: { shape: { dim: object[] } } } }[] };
  }

  /** `model.onnx` with its ModelProto changed by `edit`, written as `name`. */
  function editedOnnx(name: string, edit: (m: OnnxObject) => void): string {
    const T = modelProtoType();
    const bytes = readRegularFile(join(root, 'model.onnx'), { maxBytes: 1e9 });
    const m = T.toObject(T.decode(bytes)) as OnnxObject;
    edit(m);
    const file = join(root, name);
    writeFileSync(file, T.encode(T.fromObject(m)).finish());
    return file;
  }

  it('predict with an ONNX file whose graph input disagrees with its metadata: one line, exit 2 (issue 33.6)', () => {
    const meta = editedOnnx('meta.onnx', (m) => {
      for (const p of m.metadataProps)
        if (p.key === 'stcsnn.config') {
          const c = JSON.parse(p.value);
          c.inputShape = [24, 24, 3];
          p.value = JSON.stringify(c);
        }
    });
    const dims = editedOnnx('dims.onnx', (m) => {
      m.graph.input[0].type.tensorType.shape.dim[2] = { dimValue: 2147483647 };
    });
    for (const [file, re] of [
      [meta, /the graph's input "input" is \[N,3,16,16\] but its metadata describes \[N,3,24,24\]/],
      [dims, /the graph's input "input" is \[N,3,2147483647,16\] but its metadata describes \[N,3,16,16\]/],
    ] as const) {
      const r = capped(['predict', '--model', file, '--input', image]);
      assert.equal(r.code, 2, r.stderr);
      const line = oneErrorLine(r.stderr);
      assert.ok(line.startsWith(`stcsnn: error: ${file}: `), line);
      assert.match(line, re);
      const j = capped(['predict', '--model', file, '--input', image, '--json']);
      assert.equal(j.code, 2, j.stderr);
      assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'checkpoint');
    }
  });

  it("onnxInputMismatch: the exporter's own graph fits its metadata for any batch", () => {
    const h = readOnnxHeader(readRegularFile(join(root, 'model.onnx'), { maxBytes: 1e9 }), 'model.onnx');
    assert.deepEqual(h.inputs, [{ name: 'input', dims: ['N', 3, 16, 16] }]);
    assert.equal(onnxInputMismatch(h.inputs, [16, 16, 3]), null);
    assert.equal(onnxInputMismatch(h.inputs, [16, 16, 3], 7), null);
    assert.match(
      onnxInputMismatch([{ name: 'input', dims: [1, 3, 16, 16] }], [16, 16, 3], 2) ?? '',
      /takes batches of 1 only, not 2 images/,
    );
    assert.match(onnxInputMismatch([{ name: 'x', dims: [] }], [16, 16, 3]) ?? '', /no input named "input"/);
  });
});
