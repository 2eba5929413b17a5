/**
 * STCBs in a network of your own: a first convolution on the pixels, two spiking
 * convolutions (StcConv2d: STEB -> Conv -> CAB) and a spiking classifier (StcLinear), trained
 * with your own loop on 1,024 images of the embedded Fashion-MNIST subset.
 *
 *   npm run build && npx tsc -p examples && node examples/dist/02-custom-network.js
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  BatchNorm,
  Conv2d,
  DataLoader,
  Module,
  SeedStream,
  StcConv2d,
  StcLinear,
  datasetInfo,
  initBackend,
  openDataset,
  sgdFor,
  stcConfig,
  trainStep,
  type Activation,
  type ForwardOptions,
} from 'stcsnn';

class TinyStcNet extends Module {
  private readonly conv: Conv2d;
  private readonly stc1: StcConv2d;
  private readonly stc2: StcConv2d;
  private readonly head: StcLinear;
  private readonly bn: BatchNorm[];

  constructor(act: Activation, seed = 0) {
    super();
    const seeds = new SeedStream(seed); // one seed per parameter, in construction order
    const spec = (cin: number, cout: number, stride: number) => ({ cin, cout, kernel: 3, stride, pad: 1 });
    // child() names parameters as PyTorch's state_dict does: conv.weight, stc1.weight, bn1.running_mean, ...
    this.conv = this.child('conv', new Conv2d(spec(1, 8, 1), seeds)); // pixels: a MAC layer
    this.stc1 = this.child('stc1', new StcConv2d(spec(8, 16, 2), act, seeds, 'stc1')); // 28 -> 14
    this.stc2 = this.child('stc2', new StcConv2d(spec(16, 32, 2), act, seeds, 'stc2')); // 14 -> 7
    this.head = this.child('head', new StcLinear(32, 10, act, seeds, 'head'));
    this.bn = [8, 16, 32].map((c, i) => this.child(`bn${i + 1}`, new BatchNorm(c)));
  }

  /** `x: [N, 28, 28, 1]` -> logits `[N, 10]`. */
  forward(x: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
    return tf.tidy(() => {
      let h = this.bn[0].forward(this.conv.forward(x), opts);
      h = this.bn[1].forward(this.stc1.forward(h, opts), opts);
      h = this.bn[2].forward(this.stc2.forward(h, opts), opts);
      return this.head.forward(tf.mean(h, [1, 2]), opts) as tf.Tensor2D; // global average pool
    });
  }
}

const [EPOCHS, LR, IMAGES] = [4, 0.1, 1024];
const backend = await initBackend('auto');
const net = new TinyStcNet({ mode: 'stc', stc: stcConfig({ T: 8, theta0: 0.8 }), path: 'fused' });
const { normalization } = datasetInfo('fashion-mnist-mini');
const loader = async (split: 'train' | 'test', limit: number) =>
  new DataLoader(await openDataset('fashion-mnist-mini', { split, limit }), {
    batchSize: 32,
    shuffle: split === 'train',
    augment: null,
    normalization,
    seed: 0,
  });
const [train, test] = [await loader('train', IMAGES), await loader('test', 200)];
const sgd = sgdFor(net, { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
let seen = 0;
let lossSum = 0;
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  [seen, lossSum] = [0, 0];
  for await (const b of train.epoch(epoch)) {
    const x = tf.tensor4d(b.x, [b.size, ...b.shape]);
    const y = tf.tensor1d(b.y, 'int32');
    const { loss } = trainStep(net, sgd, x, y, LR); // the equivalent gradient: no BPTT over T
    tf.dispose([x, y]);
    lossSum += loss * b.size;
    seen += b.size;
  }
}
let correct = 0;
for await (const b of test.epoch(0)) {
  const hits = tf.tidy(() => {
    const logits = net.forward(tf.tensor4d(b.x, [b.size, ...b.shape]), { training: false });
    return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(b.y, 'int32')), 'int32')).dataSync()[0];
  });
  correct += hits;
}
console.log(`backend ${backend.name}, ${net.parameterCount()} parameters`);
console.log(
  `train loss ${(lossSum / seen).toFixed(3)} in the last epoch (chance: ${Math.log(10).toFixed(3)})`,
);
console.log(`test accuracy ${((100 * correct) / test.samples).toFixed(1)} % on ${test.samples} images`);
sgd.dispose();
net.dispose();
await Promise.all([train.close(), test.close()]);
