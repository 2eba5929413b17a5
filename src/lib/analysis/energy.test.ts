import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planNetwork, type Arch, type LayerInfo } from '../nn/plan.js';
import { computeEnergy, convMacs, energyToJson, uniformSpikes } from './energy.js';

function layersOf(arch: Arch, inputShape: [number, number, number], classes = 10, width = 1): LayerInfo[] {
  return [...planNetwork({ arch, width, inputShape, classes }).layers];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const byKind = (layers: LayerInfo[], kind: LayerInfo['kind']) => layers.filter((l) => l.kind === kind);

describe('energy: MAC counts against hand computation', () => {
  it('VGG11 on 32x32x3: conv MACs layer by layer', () => {
    const layers = layersOf('vgg11', [32, 32, 3]);
    assert.equal(convMacs(layers.find((l) => l.kind === 'conv')!), 3 * 3 * 3 * 64 * 32 * 32);
    const stcb = byKind(layers, 'stcb-conv').map(convMacs);
    assert.deepEqual(stcb, [
      9 * 64 * 128 * 16 * 16, // after pool: 16x16
      9 * 128 * 256 * 8 * 8,
      9 * 256 * 256 * 8 * 8,
      9 * 256 * 512 * 4 * 4,
      9 * 512 * 512 * 4 * 4,
      9 * 512 * 512 * 2 * 2,
      9 * 512 * 512 * 2 * 2,
    ]);
    const r = computeEnergy(layers, uniformSpikes(layers, 0, 8), 8);
    const bnElements = 32 * 32 * 64 + 16 * 16 * 128 + 2 * 8 * 8 * 256 + 2 * 4 * 4 * 512 + 2 * 2 * 2 * 512;
    // 152,764,416 conv MACs (the well-known ~153M of VGG11 on CIFAR) + head + BN
    assert.equal(sum(stcb) + 3 * 3 * 3 * 64 * 32 * 32, 152_764_416);
    assert.equal(r.total.annMacs, 152_764_416 + 512 * 10 + 2 * bnElements);
  });

  it('VGG16 on 32x32x3: 313,196,544 conv MACs and BN at 2 MACs per element', () => {
    const layers = layersOf('vgg16', [32, 32, 3]);
    const convs = [...byKind(layers, 'conv'), ...byKind(layers, 'stcb-conv')].map(convMacs);
    const expected = [
      9 * 3 * 64 * 32 * 32,
      9 * 64 * 64 * 32 * 32,
      9 * 64 * 128 * 16 * 16,
      9 * 128 * 128 * 16 * 16,
      9 * 128 * 256 * 8 * 8,
      9 * 256 * 256 * 8 * 8,
      9 * 256 * 256 * 8 * 8,
      9 * 256 * 512 * 4 * 4,
      9 * 512 * 512 * 4 * 4,
      9 * 512 * 512 * 4 * 4,
      9 * 512 * 512 * 2 * 2,
      9 * 512 * 512 * 2 * 2,
      9 * 512 * 512 * 2 * 2,
    ];
    assert.deepEqual(convs, expected);
    assert.equal(sum(expected), 313_196_544);
    const r = computeEnergy(layers, uniformSpikes(layers, 0.25, 8), 8);
    const bn = sum(r.layers.filter((l) => l.kind === 'bn').map((l) => l.annMacs));
    assert.equal(
      bn,
      2 * (2 * 32 * 32 * 64 + 2 * 16 * 16 * 128 + 3 * 8 * 8 * 256 + 3 * 4 * 4 * 512 + 3 * 2 * 2 * 512),
    );
    const head = r.layers.find((l) => l.kind === 'linear')!;
    assert.equal(head.annMacs, 512 * 10);
    assert.equal(head.snnMacs, 512 * 10);
  });

  it('ResNet18 on 32x32x3: 555,417,600 conv MACs incl. three 1x1 projection shortcuts', () => {
    const layers = layersOf('resnet18', [32, 32, 3]);
    const names = byKind(layers, 'stcb-conv').map((l) => l.name);
    assert.equal(names.length, 16 + 3);
    const m = new Map(layers.filter((l) => l.conv).map((l) => [l.name, convMacs(l)]));
    assert.equal(m.get('conv1'), 9 * 3 * 64 * 32 * 32);
    assert.equal(m.get('layer1.0.conv1'), 9 * 64 * 64 * 32 * 32);
    assert.equal(m.get('layer2.0.conv1'), 9 * 64 * 128 * 16 * 16);
    assert.equal(m.get('layer2.0.conv2'), 9 * 128 * 128 * 16 * 16);
    assert.equal(m.get('layer2.0.shortcut'), 64 * 128 * 16 * 16);
    assert.equal(m.get('layer3.0.shortcut'), 128 * 256 * 8 * 8);
    assert.equal(m.get('layer4.0.conv1'), 9 * 256 * 512 * 4 * 4);
    assert.equal(m.get('layer4.1.conv2'), 9 * 512 * 512 * 4 * 4);
    assert.equal(m.has('layer1.0.shortcut'), false);
    assert.equal(sum([...m.values()]), 555_417_600);
    const r = computeEnergy(layers, uniformSpikes(layers, 0, 8), 8);
    assert.equal(r.layers.find((l) => l.kind === 'avgpool')!.annMacs, 4 * 4 * 512);
    assert.equal(r.layers.find((l) => l.kind === 'linear')!.annMacs, 512 * 10);
    assert.equal(sum(r.layers.filter((l) => l.kind === 'add').map((l) => l.annMacs)), 0);
  });

  it('VGG11 on 28x28x1 skips the pool on a 1x1 map', () => {
    const layers = layersOf('vgg11', [28, 28, 1]);
    const convs = [...byKind(layers, 'conv'), ...byKind(layers, 'stcb-conv')].map(convMacs);
    assert.deepEqual(convs, [
      9 * 1 * 64 * 28 * 28,
      9 * 64 * 128 * 14 * 14,
      9 * 128 * 256 * 7 * 7,
      9 * 256 * 256 * 7 * 7,
      9 * 256 * 512 * 3 * 3,
      9 * 512 * 512 * 3 * 3,
      9 * 512 * 512 * 1 * 1,
      9 * 512 * 512 * 1 * 1,
    ]);
  });
});

describe('energy: SNN accounting (pure, no backend)', () => {
  // a hand-made three-layer network: conv 3->4 on 4x4, BN, STCB 4->2 on 4x4 (k=3), maxpool, linear
  const layers: LayerInfo[] = [
    {
      name: 'stem',
      kind: 'conv',
      inShape: [4, 4, 3],
      outShape: [4, 4, 4],
      conv: { cin: 3, cout: 4, kernel: 3, stride: 1, pad: 1 },
    },
    { name: 'stem_bn', kind: 'bn', inShape: [4, 4, 4], outShape: [4, 4, 4] },
    {
      name: 'b.conv',
      kind: 'stcb-conv',
      inShape: [4, 4, 4],
      outShape: [4, 4, 2],
      conv: { cin: 4, cout: 2, kernel: 3, stride: 1, pad: 1 },
    },
    { name: 'pool', kind: 'maxpool', inShape: [4, 4, 2], outShape: [2, 2, 2] },
    { name: 'fc', kind: 'linear', inShape: [8], outShape: [3] },
  ];
  const F1 = 9 * 3 * 4 * 16; // 1728
  const F2 = 9 * 4 * 2 * 16; // 1152
  const bn = 2 * 64;
  const fc = 8 * 3;

  it('counts ACs as F * zeta, CAB as T*Ho*Wo*Cout MACs, and energy with E_MAC, E_AC', () => {
    const r = computeEnergy(layers, { 'b.conv': 1.5 }, 4);
    const stcb = r.layers[2];
    assert.equal(stcb.annMacs, F2);
    assert.equal(stcb.snnAcs, F2 * 1.5);
    assert.equal(stcb.cabMacs, 4 * 16 * 2);
    assert.equal(stcb.snnMacs, 4 * 16 * 2);
    assert.equal(stcb.fireRate, 1.5 / 4);
    assert.equal(r.layers[3].annMacs + r.layers[3].snnMacs, 0);
    assert.equal(r.total.annMacs, F1 + bn + F2 + fc);
    assert.equal(r.total.snnMacs, F1 + bn + 128 + fc);
    assert.equal(r.total.snnAcs, 1728);
    assert.ok(Math.abs(r.total.annEnergyPj - (F1 + bn + F2 + fc) * 3.2) < 1e-6);
    assert.ok(Math.abs(r.total.snnEnergyPj - ((F1 + bn + 128 + fc) * 3.2 + 1728 * 0.1)) < 1e-6);
    assert.ok(Math.abs(r.total.ratio - r.total.annEnergyPj / r.total.snnEnergyPj) < 1e-12);
    assert.equal(r.total.snnFlops, r.total.snnAcs + r.total.snnMacs);
  });

  it('takes the constants as parameters', () => {
    const r = computeEnergy(layers, { 'b.conv': 2 }, 4, { eMac: 1, eAc: 0, bnMacsPerElement: 1 });
    assert.equal(r.total.annEnergyPj, F1 + 64 + F2 + fc);
    assert.equal(r.total.snnEnergyPj, F1 + 64 + 128 + fc);
  });

  it('--fire-rate gives every STCB layer zeta = rate * T', () => {
    const z = uniformSpikes(layers, 0.25, 8);
    assert.deepEqual([...z.entries()], [['b.conv', 2]]);
    assert.throws(() => uniformSpikes(layers, 1.5, 8), /fire rate must be in \[0, 1\]/);
  });

  it('rejects a missing or out-of-range spike count and a bad T', () => {
    assert.throws(() => computeEnergy(layers, {}, 4), /no spike count for STCB layer b\.conv/);
    assert.throws(() => computeEnergy(layers, { 'b.conv': 5 }, 4), /must be in 0\.\.4/);
    assert.throws(() => computeEnergy(layers, { 'b.conv': 1 }, 0), /T must be an integer/);
    assert.throws(() => computeEnergy(layers, { 'b.conv': 1 }, 4, { eAc: -1 }), /eAc must be/);
  });

  it('JSON output has the documented snake_case fields', () => {
    const j = energyToJson(computeEnergy(layers, { 'b.conv': 1 }, 4));
    assert.deepEqual(Object.keys(j.total).sort(), [
      'ann_energy_pj',
      'ann_flops',
      'ann_macs',
      'ratio',
      'snn_acs',
      'snn_energy_pj',
      'snn_flops',
      'snn_macs',
    ]);
    for (const k of ['name', 'kind', 'macs', 'acs', 'spikes_per_neuron', 'fire_rate', 'energy_pj']) {
      assert.ok(k in j.layers[0], k);
    }
    assert.equal(j.layers[2].acs, F2);
    assert.equal(j.layers[0].spikes_per_neuron, null);
  });
});
