/**
 * Fuzz tests of what `--resume`, `stcsnn eval`, `export` and `predict` read back from a run
 * directory: checkpoints (`last.safetensors`, their metadata: model description, training
 * configuration and run state) and `config.json`. Thousands of mutated files; each reader
 * must return a consistent result or throw one of the project's input errors (CheckpointError,
 * FormatError, ConfigError) with a one-line message naming the file, never another error, and
 * never build a network larger than the file can hold (a lying description is refused before
 * allocation).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, stcConfig } from '../../lib/core/config.js';
import { initBackend, type BackendRequest } from '../../lib/engine/backend.js';
import { decodeModel, loadModel } from '../../lib/interop/model-file.js';
import { decodeSafetensors, encodeSafetensors, FormatError } from '../../lib/interop/safetensors.js';
import { CheckpointError } from '../../lib/interop/state-dict.js';
import { buildNetwork, type ArchConfig, type Network } from '../../lib/nn/models.js';
import { loadCheckpoint, readRunState, saveCheckpoint, TRAIN_META } from '../rundir/checkpoint.js';
import { checkTrainConfig, TRAIN_DEFAULTS, type TrainConfig } from '../config/config.js';
import { hashedConfig } from '../config/config-hash.js';
import { Sgd } from '../../lib/train/sgd.js';
import { readRunConfig } from '../rundir/config-file.js';

const backend = (process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest;
const root = mkdtempSync(join(tmpdir(), 'stcsnn-ckfuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ARCH: ArchConfig = {
  arch: 'vgg11',
  mode: 'stc',
  width: 0.0625,
  inputShape: [8, 8, 1],
  classes: 3,
  stc: stcConfig({ T: 4 }),
  path: 'fused',
};
const CONFIG: TrainConfig = {
  ...TRAIN_DEFAULTS,
  width: ARCH.width,
  epochs: 3,
  limitTrain: 64,
  stc: ARCH.stc,
  datasetOptions: { labels: 'fine' },
};

let net: Network;
let sgd: Sgd;
let goodBytes: Buffer;

before(async () => {
  await initBackend(backend);
  net = buildNetwork(ARCH, 1);
  sgd = new Sgd(net.trainableVariables(), { momentum: 0.9, weightDecay: 0, nesterov: false });
  const file = join(root, 'good.safetensors');
  saveCheckpoint(
    file,
    net,
    hashedConfig(CONFIG),
    { epoch: 1, bestAccuracy: 0.5, bestEpoch: 0, trainSeconds: 12.5 },
    { sgd, normalization: { scale: 255, mean: [0.5], std: [0.25] }, classNames: ['a', 'b', 'c'] },
  );
  goodBytes = readFileSync(file);
});
after(() => {
  sgd?.dispose();
  net?.dispose();
});

/** Passes when `fn` returns or throws one of the input errors, one line, naming `source`. */
async function onlyInputErrors(source: string, fn: () => unknown): Promise<'ok' | 'rejected'> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (!(e instanceof CheckpointError || e instanceof FormatError || e instanceof ConfigError)) throw e;
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(e.message.includes(source), `names the file: ${e.message}`);
    return 'rejected';
  }
}

/** Runs `fn`, adding `input` to the message of a failure (fast-check prints functions, not data). */
async function explained(input: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    throw new Error(`${(e as Error).message}\ninput: ${input}`, { cause: e });
  }
}

/** Hostile replacements for a number in a JSON text (sizes, counts, epochs...). */
const hostileNumber = fc.constantFrom(
  '2147483648',
  '4294967296',
  '9007199254740993',
  '1e308',
  '-1',
  '0',
  '1.5',
  '-0',
  '1e-320',
  'NaN',
  'Infinity',
  '"7"',
  'null',
  '[]',
  '{}',
  'true',
  '100000',
  '65536',
);

/** A JSON text with its n-th number (mod the count) replaced by `value`. */
function replaceNumber(text: string, n: number, value: string): string {
  const spans: [number, number][] = [];
  const re = /-?[0-9][0-9.eE+-]*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push([m.index, m.index + m[0].length]);
  if (spans.length === 0) return text;
  const [s, e] = spans[n % spans.length];
  return text.slice(0, s) + value + text.slice(e);
}

/** One mutation of a JSON text: a number, a string, a truncation, a deletion or junk. */
const jsonTextMutation: fc.Arbitrary<(s: string) => string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(fc.nat(), hostileNumber).map(
      ([n, v]) =>
        (s: string) =>
          replaceNumber(s, n, v),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.nat(), fc.constantFrom('""', '"x"', '"__proto__"', '"../../etc"', '"vgg99"', '1', 'null'))
      .map(([n, v]) => (s: string) => {
        const spans: [number, number][] = [];
        const re = /"(?:[^"\\]|\\.)*"/g;
        for (let m = re.exec(s); m; m = re.exec(s)) spans.push([m.index, m.index + m[0].length]);
        if (spans.length === 0) return s;
        const [a, b] = spans[n % spans.length];
        return s.slice(0, a) + v + s.slice(b);
      }),
  },
  { weight: 1, arbitrary: fc.nat().map((n) => (s: string) => s.slice(0, n % (s.length + 1))) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.nat({ max: 20 })).map(([at, len]) => (s: string) => {
      const i = at % (s.length + 1);
      return s.slice(0, i) + s.slice(i + len);
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.nat(), fc.string({ maxLength: 6 })).map(([at, junk]) => (s: string) => {
      const i = at % (s.length + 1);
      return s.slice(0, i) + junk + s.slice(i);
    }),
  },
);

test('fuzz: checkpoint metadata (model description, training config, run state) on resume and load', async (t) => {
  const src = new Uint8Array(goodBytes.buffer, goodBytes.byteOffset, goodBytes.byteLength);
  const parsed = decodeSafetensors(src, 'good');
  const keys = Object.keys(parsed.metadata).sort();
  assert.ok(keys.includes(TRAIN_META.state) && keys.includes(TRAIN_META.config));
  const file = join(root, 'meta.safetensors');
  const counts = { inputs: 0, ok: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom(...keys, '(delete)'), fc.constantFrom(...keys), jsonTextMutation), {
        minLength: 1,
        maxLength: 3,
      }),
      async (muts) => {
        const meta = { ...parsed.metadata };
        for (const [op, key, mutate] of muts) {
          if (op === '(delete)') delete meta[key];
          else if (meta[op] !== undefined) meta[op] = mutate(meta[op]);
        }
        writeFileSync(file, encodeSafetensors(parsed.tensors, meta));
        counts.inputs++;
        await explained(JSON.stringify(meta), async () => {
          const outcomes = [
            await onlyInputErrors(file, () => readRunState(file)),
            await onlyInputErrors(file, () => loadCheckpoint(file, net, sgd)),
            await onlyInputErrors(file, async () => {
              // What `stcsnn eval/export/predict` do: build the network the file describes.
              const { net: loaded } = await loadModel(file);
              loaded.dispose();
            }),
          ];
          if (outcomes.includes('rejected')) counts.rejected++;
          else counts.ok++;
        });
      },
    ),
    { numRuns: 400, seed: 20261127, includeErrorInReport: true },
  );
  t.diagnostic(
    `fuzz: ${counts.inputs} mutated checkpoint metadata maps: ${counts.rejected} rejected, ${counts.ok} accepted`,
  );
  assert.ok(counts.rejected > counts.inputs / 4, 'most hostile descriptions are rejected');
});

test('fuzz: checkpoint bytes (header and data) on resume', async (t) => {
  const headerLen = Number(goodBytes.readBigUInt64LE(0));
  const file = join(root, 'bytes.safetensors');
  const counts = { inputs: 0, ok: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc
          .array(fc.tuple(fc.nat(8 + headerLen + 64), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 6,
          })
          .map((edits) => (b: Buffer) => {
            const c = Buffer.from(b);
            for (const [i, v] of edits) c[i % c.length] = v;
            return c;
          }),
        fc.nat(goodBytes.length).map((n) => (b: Buffer) => b.subarray(0, n)),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((len) => (b: Buffer) => {
          const c = Buffer.from(b);
          c.writeBigUInt64LE(len, 0);
          return c;
        }),
      ),
      async (mutate) => {
        writeFileSync(file, mutate(goodBytes));
        counts.inputs++;
        const a = await onlyInputErrors(file, () => readRunState(file));
        const b = await onlyInputErrors(file, () => loadCheckpoint(file, net, sgd));
        if (a === 'rejected' || b === 'rejected') counts.rejected++;
        else counts.ok++;
      },
    ),
    { numRuns: 600, seed: 20261128, includeErrorInReport: true },
  );
  t.diagnostic(
    `fuzz: ${counts.inputs} mutated checkpoint files: ${counts.rejected} rejected, ${counts.ok} accepted`,
  );
  assert.ok(counts.rejected > counts.inputs / 2);
});

test('fuzz: run configurations (config.json) are valid and round-trip, or a one-line ConfigError', async (t) => {
  const good = JSON.stringify(CONFIG, null, 2);
  const dir = join(root, 'run');
  const counts = { inputs: 0, ok: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(jsonTextMutation, { minLength: 1, maxLength: 3 }), async (muts) => {
      const text = muts.reduce((s, m) => m(s), good);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), text);
      counts.inputs++;
      await explained(text, async () => {
        let config: TrainConfig | undefined;
        const r = await onlyInputErrors(join(dir, 'config.json'), () => {
          config = readRunConfig(dir);
        });
        if (r === 'rejected') {
          counts.rejected++;
          return;
        }
        counts.ok++;
        // An accepted configuration is usable: finite numbers in range, and it survives a round trip.
        const c = config!;
        for (const v of [c.width, c.lr, c.momentum, c.weightDecay, c.stc.theta0, c.stc.tau, c.seed])
          assert.ok(Number.isFinite(v), `finite: ${JSON.stringify(c)}`);
        assert.ok(
          Number.isInteger(c.epochs) && c.epochs >= 1 && Number.isInteger(c.batchSize) && c.batchSize >= 1,
        );
        // (JSON has no -0: compare the serialised forms)
        assert.equal(
          JSON.stringify(checkTrainConfig(JSON.parse(JSON.stringify(c)), 'again')),
          JSON.stringify(c),
        );
        assert.equal(Object.getPrototypeOf(c.datasetOptions), Object.prototype, 'no prototype from the file');
      });
    }),
    { numRuns: 2000, seed: 20261129, includeErrorInReport: true },
  );
  t.diagnostic(
    `fuzz: ${counts.inputs} mutated config.json files: ${counts.rejected} rejected, ${counts.ok} accepted`,
  );
  assert.ok(counts.rejected > counts.inputs / 2);
});

test('a lying model description (a dimension of 2^31, huge classifier) is refused before anything is allocated', () => {
  const src = new Uint8Array(goodBytes.buffer, goodBytes.byteOffset, goodBytes.byteLength);
  const parsed = decodeSafetensors(src, 'good');
  const cfg = JSON.parse(parsed.metadata['stcsnn.config']) as Record<string, unknown>;
  const lies: Record<string, unknown>[] = [
    { ...cfg, classes: 2 ** 31 },
    { ...cfg, inputShape: [2 ** 31, 8, 1] },
    { ...cfg, inputShape: [8, 8, 2 ** 31] },
    { ...cfg, inputShape: [65536, 65536, 1] },
    { ...cfg, inputShape: [4096, 4096, 1], classes: 1000 },
  ];
  for (const lie of lies) {
    const bytes = encodeSafetensors(parsed.tensors, {
      ...parsed.metadata,
      'stcsnn.config': JSON.stringify(lie),
    });
    assert.throws(
      () => decodeModel(bytes, 'lying.safetensors'),
      (e: unknown) => e instanceof CheckpointError && /^lying\.safetensors: /.test(e.message),
      JSON.stringify(lie),
    );
  }
});
