import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeModel, FormatError } from './model-file.js';

test('an ONNX model given where a safetensors model is expected is named as such', () => {
  // ModelProto: ir_version = 7 (field 1, varint), producer_name "stcsnn" (field 2, bytes)
  const onnx = new Uint8Array([0x08, 0x07, 0x12, 0x06, ...new TextEncoder().encode('stcsnn'), 0x3a, 0x00]);
  for (const name of ['model.bin', 'model.onnx']) {
    assert.throws(
      () => decodeModel(onnx, name),
      (e: unknown) =>
        e instanceof FormatError && /is an ONNX model/.test(e.message) && e.message.includes(name),
    );
  }
  // a damaged safetensors file keeps its own message
  const junk = new Uint8Array(16).fill(0xff);
  assert.throws(
    () => decodeModel(junk, 'junk.safetensors'),
    (e: unknown) => e instanceof FormatError && /not a valid safetensors file/.test(e.message),
  );
});
