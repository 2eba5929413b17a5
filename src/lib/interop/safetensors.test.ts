import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeSafetensors,
  decodeSafetensorsHeader,
  encodeSafetensors,
  FormatError,
  MAX_HEADER_BYTES,
  type SafeTensor,
} from './safetensors.js';

function sample(): Record<string, SafeTensor> {
  return {
    'a.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, -6.5) },
    'a.count': { dtype: 'I64', shape: [], data: BigInt64Array.of(42n) },
    'b.ids': { dtype: 'I32', shape: [3], data: Int32Array.of(-1, 0, 7) },
    'c.bytes': { dtype: 'U8', shape: [1, 2], data: Uint8Array.of(0, 255) },
    'd.double': { dtype: 'F64', shape: [1], data: Float64Array.of(Math.PI) },
    'e.empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

/** A file with a hand-made header (and `data` as its buffer). */
function withHeader(header: unknown, data = new Uint8Array(0), lengthField?: bigint): Uint8Array {
  const json =
    header instanceof Uint8Array
      ? header
      : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectFormatError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, 'x.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
      assert.equal(e.name, 'FormatError');
      assert.match(e.message, /^x\.safetensors: /);
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('safetensors round trip keeps names, dtypes, shapes, values and metadata', () => {
  const t = sample();
  const bytes = encodeSafetensors(t, { 'stcsnn.config': '{"a":1}', note: 'ü' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0, 'header padded to 8 bytes');
  const back = decodeSafetensors(bytes, 'rt.safetensors');
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(t).sort());
  for (const [name, v] of Object.entries(t)) {
    const w = back.tensors[name];
    assert.equal(w.dtype, v.dtype, name);
    assert.deepEqual(w.shape, v.shape, name);
    assert.deepEqual(
      Array.from(w.data as ArrayLike<unknown>),
      Array.from(v.data as ArrayLike<unknown>),
      name,
    );
    assert.equal(w.data.constructor, v.data.constructor, name);
  }
  assert.deepEqual(back.metadata, { 'stcsnn.config': '{"a":1}', note: 'ü' });
});

test('safetensors reads a file laid out as the Python library writes it', () => {
  // safetensors.torch.save_file({"w": torch.tensor([[1., 2.]])}, metadata={"k": "v"}) writes this header.
  const header = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}';
  const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
  const bytes = withHeader(padded, new Uint8Array(Float32Array.of(1, 2).buffer));
  const f = decodeSafetensors(bytes, 'py.safetensors');
  assert.deepEqual(Array.from(f.tensors.w.data as Float32Array), [1, 2]);
  assert.deepEqual(f.metadata, { k: 'v' });
});

test('safetensors rejects every kind of hostile header with a one-line FormatError', () => {
  const f32 = (n: number) => new Uint8Array(n * 4);
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  expectFormatError(new Uint8Array(5), /shorter than the 8-byte header length/);
  expectFormatError(withHeader({ w: ok }, f32(2), 1n << 62n), /exceeds the/);
  expectFormatError(withHeader({ w: ok }, f32(2), BigInt(MAX_HEADER_BYTES + 1)), /exceeds the/);
  expectFormatError(withHeader({ w: ok }, f32(2), 100000n), /overflows the file/);
  expectFormatError(withHeader({ w: ok }, f32(1)), /past the 4-byte data buffer/);
  expectFormatError(withHeader('[1,2]'), /not a JSON object/);
  expectFormatError(withHeader('{"w": '), /not valid JSON/);
  expectFormatError(withHeader(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)), /not valid UTF-8/);
  expectFormatError(withHeader({ w: { ...ok, dtype: 'F16' } }, f32(2)), /unsupported dtype "F16"/);
  expectFormatError(withHeader({ w: { ...ok, dtype: 7 } }, f32(2)), /unsupported dtype 7/);
  expectFormatError(withHeader({ w: { ...ok, shape: [-2] } }, f32(2)), /bad shape entry -2/);
  expectFormatError(withHeader({ w: { ...ok, shape: [1.5] } }, f32(2)), /bad shape entry 1\.5/);
  expectFormatError(withHeader({ w: { ...ok, shape: '2' } }, f32(2)), /no shape array/);
  expectFormatError(withHeader({ w: { ...ok, shape: [2 ** 40, 2 ** 40] } }, f32(2)), /size overflows/);
  expectFormatError(withHeader({ w: { ...ok, shape: [3] } }, f32(2)), /has 8 bytes but F32 \[3\] needs 12/);
  expectFormatError(withHeader({ w: { ...ok, data_offsets: [8, 0] } }, f32(2)), /end < begin/);
  expectFormatError(withHeader({ w: { ...ok, data_offsets: [0] } }, f32(2)), /bad data_offsets/);
  expectFormatError(
    withHeader({ w: { ...ok, data_offsets: [0, 2 ** 60] } }, f32(2)),
    /bad data_offsets|past the/,
  );
  expectFormatError(withHeader({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, f32(3)), /overlaps/);
  expectFormatError(withHeader({ b: { ...ok, data_offsets: [4, 12] } }, f32(3)), /gap of 4 bytes/);
  expectFormatError(withHeader({ w: ok }, f32(3)), /4 bytes after the last tensor/);
  expectFormatError(withHeader({ w: { ...ok, extra: 1 } }, f32(2)), /unknown field "extra"/);
  expectFormatError(withHeader({ w: 3 }, f32(2)), /not an object/);
  expectFormatError(withHeader({ __metadata__: { k: 1 } }), /__metadata__\."k" is not a string/);
  expectFormatError(withHeader({ __metadata__: [] }), /__metadata__ is not an object/);
});

test('safetensors keeps a tensor named __proto__ as data, not as a prototype', () => {
  const bytes = withHeader('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', Uint8Array.of(9));
  const f = decodeSafetensors(bytes, 'p.safetensors');
  assert.ok(Object.prototype.hasOwnProperty.call(f.tensors, '__proto__'));
  assert.equal(Object.getPrototypeOf(f.tensors), Object.prototype);
});

test('safetensors fuzz: mutated and truncated files raise only FormatError and allocate at most the file size', (t) => {
  const base = encodeSafetensors(sample(), { k: 'v' });
  const headerLen = Number(new DataView(base.buffer).getBigUint64(0, true));
  let rejected = 0;
  let accepted = 0;
  const mutation = fc.oneof(
    // Overwrite bytes anywhere (header length field and JSON most often).
    fc
      .array(fc.tuple(fc.nat(8 + headerLen + 40), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 6,
      })
      .map((edits) => (b: Uint8Array) => {
        const c = b.slice();
        for (const [i, v] of edits) c[i % c.length] = v;
        return c;
      }),
    // Truncate.
    fc.nat(base.length).map((n) => (b: Uint8Array) => b.slice(0, n)),
    // Replace a digit of the JSON header with a digit string (offsets, shapes).
    fc
      .tuple(fc.nat(headerLen), fc.stringMatching(/^-?[0-9]{1,20}(\.[0-9])?$/))
      .map(([pos, digits]) => (b: Uint8Array) => {
        const text = new TextDecoder().decode(b.subarray(8, 8 + headerLen));
        const re = /[0-9]+/g;
        const spans: [number, number][] = [];
        for (let m = re.exec(text); m; m = re.exec(text)) spans.push([m.index, m.index + m[0].length]);
        const [s, e] = spans[pos % spans.length];
        const json = new TextEncoder().encode(text.slice(0, s) + digits + text.slice(e));
        const c = new Uint8Array(8 + json.length + b.length - 8 - headerLen);
        new DataView(c.buffer).setBigUint64(0, BigInt(json.length), true);
        c.set(json, 8);
        c.set(b.subarray(8 + headerLen), 8 + json.length);
        return c;
      }),
    // Append junk.
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((junk) => (b: Uint8Array) => {
      const c = new Uint8Array(b.length + junk.length);
      c.set(b);
      c.set(junk, b.length);
      return c;
    }),
  );
  fc.assert(
    fc.property(mutation, (mutate) => {
      const bytes = mutate(base);
      try {
        const f = decodeSafetensors(bytes, 'fuzz.safetensors');
        accepted++;
        let total = 0;
        for (const v of Object.values(f.tensors)) total += v.data.byteLength;
        assert.ok(total <= bytes.length, 'decoded tensors never exceed the file');
      } catch (e) {
        if (!(e instanceof FormatError)) throw e;
        assert.ok(!e.message.includes('\n'));
        rejected++;
      }
    }),
    { numRuns: 4000, seed: 20261126 },
  );
  t.diagnostic(`fuzz: ${rejected} mutated files rejected with FormatError, ${accepted} still valid`);
  assert.ok(rejected > 1000, `most mutations must be rejected (got ${rejected})`);
});

test('the header alone (first 8 + N bytes) decodes to the same metadata and tensor entries, checked against the file size', () => {
  const bytes = encodeSafetensors(sample(), { k: 'v' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const head = decodeSafetensorsHeader(bytes.subarray(0, 8 + n), bytes.length, 'h.safetensors');
  const full = decodeSafetensors(bytes, 'h.safetensors');
  assert.equal(head.headerLength, n);
  assert.deepEqual(head.metadata, full.metadata);
  assert.deepEqual(
    head.entries.map((e) => [e.name, e.dtype, e.shape]).sort(),
    Object.entries(full.tensors)
      .map(([name, t]) => [name, t.dtype, t.shape])
      .sort(),
  );
  // A file cut short: the header names data that is not there.
  assert.throws(
    () => decodeSafetensorsHeader(bytes.subarray(0, 8 + n), bytes.length - 4, 'cut.safetensors'),
    (e: unknown) => e instanceof FormatError && /cut\.safetensors: .*past the .*data buffer/.test(e.message),
  );
  // Fewer bytes than the header length: refused, not read past.
  assert.throws(
    () => decodeSafetensorsHeader(bytes.subarray(0, 8 + n - 1), bytes.length, 'x'),
    /only .* bytes were read/,
  );
});

test('decodeSafetensors of a Node Buffer (a view into a shared pool): the tensors, not the pool', () => {
  const bytes = encodeSafetensors({
    a: { dtype: 'F32', shape: [3], data: Float32Array.from([1.5, -2, 3.25]) },
    b: { dtype: 'I64', shape: [2], data: BigInt64Array.from([7n, -8n]) },
  });
  // Buffer.from(array) of a small length lands in Node's shared pool, at a non-zero offset
  const pooled = Buffer.from(Array.from(bytes));
  const { tensors } = decodeSafetensors(pooled, 'pooled');
  assert.deepEqual(Array.from(tensors.a.data as Float32Array), [1.5, -2, 3.25]);
  assert.deepEqual(Array.from(tensors.b.data as BigInt64Array), [7n, -8n]);
});
