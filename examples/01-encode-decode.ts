/**
 * STEB and CAB on a few values: the spike trains, what CAB decodes from them, and the fused
 * quantiser that computes the same in one step.
 *
 *   npm run build && npx tsc -p examples && node examples/dist/01-encode-decode.js
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from 'stcsnn';
import { decode, encode, saturation, stcConfig, stcQuantize, thresholds } from 'stcsnn/core';

const backend = await initBackend('auto');
// theta(t) = theta0 * exp(-t / tau), t = 0 .. T-1; a neuron fires when V(t) >= theta(t)
const cfg = stcConfig({ T: 8, theta0: 0.8, tau: 2, schedule: 'exp' });
console.log(`backend: ${backend.name}`);
console.log(
  `thresholds: ${thresholds(cfg)
    .map((t) => t.toFixed(3))
    .join(' ')}`,
);
console.log(`saturation S = sum theta(t) = ${saturation(cfg).toFixed(3)}`);

const values = [0.3, -0.2, 0.95, 1.5, 3];
const x = tf.tensor1d(values);
const spikes = encode(x, cfg); // STEB: [T, 5], binary
const decoded = decode(spikes, cfg); // CAB: sum_t theta(t) s(t), [5]
const fused = stcQuantize(x, cfg); // the same values without materialising the spike train
const trains = (await spikes.array()) as number[][];
const dec = await decoded.data();
const q = await fused.data();
for (let i = 0; i < values.length; i++) {
  const train = trains.map((row) => (row[i] ? '|' : '.')).join('');
  console.log(`x = ${values[i].toFixed(2).padStart(5)}  spikes ${train}  decoded ${dec[i].toFixed(4)}`);
}
const gap = Math.max(...Array.from(dec, (d, i) => Math.abs(d - q[i])));
console.log(`fused quantiser vs spike train: max |difference| ${gap.toExponential(1)}`);
tf.dispose([x, spikes, decoded, fused]);
