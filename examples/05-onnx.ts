/**
 * ONNX export: a model written as an ONNX graph (the fused path: one quantiser per STCB),
 * run with onnxruntime-node and compared with stcsnn's own forward pass on the same images.
 * (onnxruntime-node is not a dependency of stcsnn: npm install onnxruntime-node.)
 *
 *   npm run build && npx tsc -p examples && node examples/dist/05-onnx.js [MODEL_OR_RUN_DIR]
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { DataLoader, exportOnnx, initBackend, loadModel, openDataset, resolveModelPath } from 'stcsnn';

const shipped = new URL('../../web/model/fashion-mnist-vgg11-w025.safetensors', import.meta.url);
const path = resolveModelPath(process.argv[2] ?? fileURLToPath(shipped));
await initBackend('auto');
const { net, file } = await loadModel(path);
const onnx = exportOnnx(net, {
  graph: 'fused',
  normalization: file.normalization,
  classNames: file.classNames,
});
console.log(`exported ${net.config.arch} as ONNX: ${(onnx.byteLength / 1e6).toFixed(2)} MB`);

// 16 normalised test images, NHWC as stcsnn takes them.
const loader = new DataLoader(await openDataset('fashion-mnist-mini', { split: 'test', limit: 16 }), {
  batchSize: 16,
  shuffle: false,
  augment: null,
  normalization: file.normalization ?? null,
  seed: 0,
});
const { value: batch } = await loader.epoch(0).next();
await loader.close();
if (!batch) throw new Error('no test images');
const x = tf.tensor4d(batch.x, [batch.size, ...batch.shape]);
const ours = (await net.forward(x, { training: false }).array()) as number[][];

// The graph's input is NCHW (`input`), its output `logits`.
const nchw = tf.transpose(x, [0, 3, 1, 2]);
const session = await ort.InferenceSession.create(onnx);
const out = await session.run({ input: new ort.Tensor('float32', await nchw.data(), nchw.shape) });
const theirs = out.logits.data as Float32Array;
await session.release();

const classes = net.config.classes;
const argmax = (row: ArrayLike<number>) => Array.from(row).indexOf(Math.max(...Array.from(row)));
let maxDiff = 0;
let agree = 0;
ours.forEach((row, i) => {
  const other = theirs.subarray(i * classes, (i + 1) * classes);
  row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - other[k]))));
  if (argmax(row) === argmax(other)) agree++;
});
const names = file.classNames ?? [];
console.log(
  `first image: ${names[argmax(ours[0])] ?? argmax(ours[0])} (label ${names[batch.y[0]] ?? batch.y[0]})`,
);
console.log(
  `onnxruntime vs stcsnn: max |difference| of the logits ${maxDiff.toExponential(2)}, same class for ${agree}/${ours.length} images`,
);
tf.dispose([x, nchw]);
net.dispose();
