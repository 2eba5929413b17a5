import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { DEFAULT_STC } from '../core/config.js';
import { initBackend, type BackendRequest } from '../engine/backend.js';
import { computeEnergy, uniformSpikes } from '../analysis/energy.js';
import { layersFor } from '../../app/analysis/network.js';
import { exportOnnx, type OnnxGraphKind } from '../interop/onnx.js';
import { modelProtoType } from '../interop/onnx-proto.js';
import { buildNetwork, type Network } from './models.js';
import {
  ARCHS,
  INPUT,
  planNetwork,
  planParameters,
  weightMacs,
  type ArchConfig,
  type NetworkPlan,
} from './plan.js';
import { SpikeStatsRecorder } from './stats.js';

before(async () => {
  await initBackend((process.env.STCSNN_TEST_BACKEND ?? 'wasm') as BackendRequest);
});

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function config(
  arch: ArchConfig['arch'],
  inputShape: [number, number, number],
  mode: ArchConfig['mode'] = 'stc',
): ArchConfig {
  return { arch, mode, width: 0.125, inputShape, classes: 10, stc: DEFAULT_STC, path: 'fused' };
}

/** The PyTorch layout of one of our shapes (conv `[k,k,Cin,Cout] -> [Cout,Cin,k,k]`, linear transposed). */
function torchShape(s: readonly number[]): number[] {
  if (s.length === 4) return [s[3], s[2], s[0], s[1]];
  if (s.length === 2) return [s[1], s[0]];
  return [...s];
}

interface OnnxGraphObj {
  node: { opType: string; input: string[] }[];
  initializer: { name: string; dims?: number[] }[];
}

function onnxGraph(net: Network, graph: OnnxGraphKind): OnnxGraphObj {
  const type = modelProtoType();
  const m = type.toObject(type.decode(exportOnnx(net, { graph })), { longs: Number, arrays: true }) as {
    graph: OnnxGraphObj;
  };
  return m.graph;
}

/** Structural invariants every plan must satisfy. */
function checkPlanShapes(plan: NetworkPlan): void {
  const shapes = new Map<string, readonly number[]>([[INPUT, plan.inputShape]]);
  const names = new Set<string>();
  for (const l of plan.layers) {
    assert.ok(!names.has(l.name), `duplicate layer ${l.name}`);
    names.add(l.name);
    for (const v of l.inputs) assert.ok(shapes.has(v), `${l.name} reads ${v} before it exists`);
    const x = shapes.get(l.inputs[0])!;
    if (l.kind === 'linear') assert.deepEqual(l.inShape, [prod(x)], l.name);
    else assert.deepEqual(l.inShape, x, l.name);
    if (l.kind === 'add') {
      assert.equal(l.inputs.length, 2);
      assert.deepEqual(shapes.get(l.inputs[1]), x, `${l.name}: both summands have one shape`);
    } else assert.equal(l.inputs.length, 1, l.name);
    if (l.conv) {
      assert.equal(l.conv.cin, x[2], `${l.name} cin`);
      assert.equal(l.outShape[2], l.conv.cout);
    }
    shapes.set(l.name, l.outShape);
  }
  assert.deepEqual(plan.layers.at(-1)!.outShape, [plan.classes]);
}

describe('network plans: one structure for modules, layers, ONNX graph and energy', () => {
  for (const arch of ARCHS) {
    for (const inputShape of [
      [28, 28, 1],
      [32, 32, 3],
    ] as [number, number, number][]) {
      it(`${arch} on ${inputShape.join('x')}: every view comes from the plan`, () => {
        const cfg = config(arch, inputShape);
        const plan = planNetwork(cfg);
        checkPlanShapes(plan);
        const net = buildNetwork(cfg, 0);
        try {
          // The module tree: parameter names, order, shapes and trainability.
          assert.deepEqual(net.plan, plan);
          assert.deepEqual(net.layers, plan.layers);
          const vars = net.namedVariables().map((e) => ({
            name: e.name,
            shape: e.variable.shape,
            trainable: e.trainable,
          }));
          assert.deepEqual(vars, planParameters(plan));

          // The forward pass: logits shape, and spike statistics of exactly the plan's STCB layers.
          const rec = new SpikeStatsRecorder();
          const logits = tf.tidy(() =>
            net.forward(tf.ones([2, ...inputShape]) as tf.Tensor4D, { training: false, stats: rec }),
          );
          assert.deepEqual(logits.shape, [2, cfg.classes]);
          logits.dispose();
          const stcb = plan.layers.filter((l) => l.kind === 'stcb-conv');
          assert.deepEqual(
            rec.result().map((s) => [s.layer, s.neurons]),
            stcb.map((l) => [l.name, prod(l.inShape)]),
          );

          // The energy table: the same layers, and weight MACs that match the modules' weights.
          const T = cfg.stc.T;
          const spec = { arch, dataset: 'cifar10', width: cfg.width, T, inputShape, classes: cfg.classes };
          const fromSpec = layersFor(spec);
          assert.deepEqual(fromSpec, plan.layers, 'layersFor (no network built) is the plan');
          const energy = computeEnergy(fromSpec, uniformSpikes(fromSpec, 0.25, T), T);
          assert.deepEqual(
            energy.layers.map((l) => [l.name, l.kind]),
            plan.layers.map((l) => [l.name, l.kind]),
          );
          const weights = new Map(net.namedVariables().map((e) => [e.name, e.variable]));
          plan.layers.forEach((l, i) => {
            if (l.kind !== 'conv' && l.kind !== 'stcb-conv' && l.kind !== 'linear') return;
            const w = weights.get(`${l.name}.weight`)!;
            const positions = l.kind === 'linear' ? 1 : l.outShape[0] * l.outShape[1];
            assert.equal(energy.layers[i].annMacs, w.size * positions, `${l.name} MACs`);
            assert.equal(weightMacs(l), w.size * positions);
          });

          // The ONNX graphs: initializers are the plan's parameters (PyTorch layouts), one Conv per
          // convolution layer reading its weight in plan order, one MaxPool per max pool, ...
          for (const v of net.namedVariables().filter((e) => e.name.endsWith('num_batches_tracked'))) {
            v.variable.assign(tf.scalar(1, 'int32'));
          }
          const params = planParameters(plan).filter((p) => !p.name.endsWith('num_batches_tracked'));
          for (const graph of ['fused', 'spike-train'] as OnnxGraphKind[]) {
            const g = onnxGraph(net, graph);
            const inits = new Map(g.initializer.map((t) => [t.name, t.dims ?? []]));
            for (const p of params) {
              const bn = /\.(weight|bias|running_mean|running_var)$/.test(p.name) && p.shape.length === 1;
              const isBn = bn && plan.layers.some((l) => l.kind === 'bn' && p.name.startsWith(`${l.name}.`));
              const want = isBn ? [1, p.shape[0], 1, 1] : torchShape(p.shape);
              assert.deepEqual(inits.get(p.name), want, `${graph}: initializer ${p.name}`);
            }
            const named = g.initializer.filter((t) => !t.name.startsWith('const_')).map((t) => t.name);
            assert.deepEqual(
              new Set(named),
              new Set(params.map((p) => p.name)),
              `${graph}: no other weights`,
            );
            const ops = (op: string) => g.node.filter((n) => n.opType === op);
            assert.deepEqual(
              ops('Conv').map((n) => n.input[1]),
              plan.layers.filter((l) => l.conv).map((l) => `${l.name}.weight`),
            );
            const count = (k: string) => plan.layers.filter((l) => l.kind === k).length;
            assert.equal(ops('MaxPool').length, count('maxpool'));
            assert.equal(ops('ReduceMean').length, count('avgpool'));
            assert.equal(ops('Gemm').length, count('linear'));
            assert.equal(ops('Sqrt').length, count('bn'));
            // Add: two per batch norm, one per residual add, and in the fused graph T-1 per
            // distinct STCB input (the recurrence's sum; ResNet's shortcuts reuse q(bn1)).
            const recurrences = graph === 'fused' ? (T - 1) * distinctStcbInputs(plan) : 0;
            assert.equal(ops('Add').length, 2 * count('bn') + count('add') + recurrences);
          }
        } finally {
          net.dispose();
        }
      });
    }
  }

  it('the plan is consistent for any input size and width (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCHS),
        fc.integer({ min: 4, max: 40 }),
        fc.integer({ min: 4, max: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0.01, 0.0625, 0.3, 1, 2.5),
        fc.integer({ min: 2, max: 200 }),
        (arch, h, w, c, width, classes) => {
          checkPlanShapes(planNetwork({ arch, inputShape: [h, w, c], width, classes }));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('bad configurations are refused with the checkArchConfig messages', () => {
    const ok = { arch: 'vgg11' as const, width: 1, inputShape: [32, 32, 3] as const, classes: 10 };
    assert.throws(
      () => planNetwork({ ...ok, arch: 'lenet' as 'vgg11' }),
      /arch must be one of vgg11, vgg16, resnet18; got lenet/,
    );
    assert.throws(() => planNetwork({ ...ok, width: 0 }), /width must be in \(0, 4\]/);
    assert.throws(() => planNetwork({ ...ok, inputShape: [3, 32, 3] }), /input shape must be/);
    assert.throws(() => planNetwork({ ...ok, classes: 1 }), /classes must be an integer >= 2/);
  });
});

/** How many distinct values the STCB layers read (ResNet's shortcut reads its block's bn1, as conv1 does). */
function distinctStcbInputs(plan: NetworkPlan): number {
  return new Set(plan.layers.filter((l) => l.kind === 'stcb-conv').map((l) => l.inputs[0])).size;
}
