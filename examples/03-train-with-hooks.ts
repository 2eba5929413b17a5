/**
 * The high-level trainer: `train()` with progress hooks and early stopping, then the best
 * checkpoint loaded back and evaluated with spike statistics. A small budget: VGG11 at width
 * 0.125, T = 4, 512 training images of the embedded Fashion-MNIST subset.
 *
 *   npm run build && npx tsc -p examples && node examples/dist/03-train-with-hooks.js [RUN_DIR]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DataLoader,
  evaluate,
  initBackend,
  loadModel,
  openDataset,
  resolveModelPath,
  resolveTrainConfig,
  train,
} from 'stcsnn';

const backend = await initBackend('auto');
// The command line's resolution: given values > data-set defaults (theta0) > the defaults.
const { config } = resolveTrainConfig({
  given: {
    dataset: 'fashion-mnist-mini',
    width: 0.125,
    epochs: 4,
    limitTrain: 512,
    limitTest: 200,
    'stc.T': 4,
  },
});
const runDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'stcsnn-example-'));

let best = -1;
const result = await train(config, {
  runDir,
  backend: backend.name,
  hooks: {
    onEpochStart: (epoch, epochs) => process.stdout.write(`epoch ${epoch + 1}/${epochs} `),
    onBatch: (_epoch, batch) => void (batch % 4 === 0 && process.stdout.write('.')),
    onEpochEnd: (m) => {
      console.log(` loss ${m.train_loss.toFixed(3)}, test accuracy ${(100 * m.test_accuracy).toFixed(1)} %`);
      if (m.test_accuracy > best) best = m.test_accuracy;
      else return 'stop'; // early stopping: no better than the best epoch so far
    },
  },
});
console.log(
  `trained ${result.epochs} epoch(s) in ${result.train_seconds.toFixed(1)} s on ${result.backend}; run directory ${runDir}`,
);

// Evaluate the best checkpoint again, as `stcsnn eval --checkpoint RUN_DIR` does.
const { net, file } = await loadModel(resolveModelPath(runDir)); // best.safetensors
const test = new DataLoader(await openDataset('fashion-mnist-mini', { split: 'test', limit: 200 }), {
  batchSize: 100,
  shuffle: false,
  augment: null,
  normalization: file.normalization ?? null, // the normalisation the model was trained with
  seed: 0,
});
const r = await evaluate(net, test, { spikeStats: true });
console.log(`best checkpoint: test accuracy ${(100 * r.accuracy).toFixed(1)} % on ${r.count} images`);
for (const s of r.spikeStats ?? []) console.log(`  ${s.layer.padEnd(12)} fire rate ${s.fireRate.toFixed(3)}`);
net.dispose();
await test.close();
