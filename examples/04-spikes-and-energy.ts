/**
 * A trained model file (or run directory) loaded back: its test accuracy, the spike statistics
 * of every STCB layer, and the energy per image against its ANN twin (the same network with
 * ReLU -> Conv: MACs x E_MAC, against ACs x E_AC for the spikes plus the remaining MACs).
 * Default: the playground's model (VGG11 w0.25, T = 8, trained on the embedded subset).
 *
 *   npm run build && npx tsc -p examples && node examples/dist/04-spikes-and-energy.js [MODEL_OR_RUN_DIR]
 */
import { fileURLToPath } from 'node:url';
import {
  DataLoader,
  computeEnergy,
  evaluate,
  formatEnergySummary,
  initBackend,
  loadModel,
  openDataset,
  resolveModelPath,
  spikesFromStats,
} from 'stcsnn';

const shipped = new URL('../../web/model/fashion-mnist-vgg11-w025.safetensors', import.meta.url);
const path = resolveModelPath(process.argv[2] ?? fileURLToPath(shipped));
await initBackend('auto');
const { net, file } = await loadModel(path);
const { arch, mode, width, stc } = net.config;
console.log(`${path}: ${arch} ${mode} width ${width}, T = ${stc.T}, theta0 = ${stc.theta0}`);

const test = new DataLoader(await openDataset('fashion-mnist-mini', { split: 'test', limit: 200 }), {
  batchSize: 100,
  shuffle: false,
  augment: null,
  normalization: file.normalization ?? null,
  seed: 0,
});
const r = await evaluate(net, test, { spikeStats: true });
console.log(`test accuracy ${(100 * r.accuracy).toFixed(1)} % on ${r.count} images`);
const stats = r.spikeStats ?? [];
for (const s of stats) {
  const spikes = s.spikesPerNeuron.toFixed(2);
  console.log(
    `  ${s.layer.padEnd(16)} fire rate ${s.fireRate.toFixed(3)} (${spikes} of T spikes per neuron), inputs ${s.inputMin.toFixed(2)}..${s.inputMax.toFixed(2)}`,
  );
}

// zeta (spikes per input neuron) of each STCB layer drives its accumulate count.
const energy = computeEnergy(net.layers, spikesFromStats(net.layers, stats, path), stc.T);
console.log(formatEnergySummary(energy));
net.dispose();
await test.close();
