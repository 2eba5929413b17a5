/**
 * ONNX export of stcsnn networks (opset 13, IR version 7), encoded with protobufjs.
 *
 * The graph (NCHW, as ONNX convolutions are):
 *
 * - input `input`: float32 `[N, C, H, W]`, N dynamic, already normalised as in training
 *   (`x' = (x / scale - mean[c]) / std[c]`; the parameters are in the model metadata
 *   `stcsnn.normalization`, see below);
 * - output `logits`: float32 `[N, classes]` (before softmax).
 *
 * The graph is emitted from the network's plan (`nn/plan.ts`), one layer after another, each
 * reading the values its plan layer reads: convolutions are `Conv` with PyTorch-layout weights
 * `[Cout, Cin, kh, kw]` and no bias; batch norm (evaluation) is the elementwise
 * `y = (x - running_mean) * weight / sqrt(running_var + eps) + bias` (`Sub, Mul, Div, Add` with
 * per-channel constants `[1, C, 1, 1]`); max pools are `MaxPool 2x2/2`; `relu` is `Relu`;
 * `avgpool` is `ReduceMean(H, W)`; `add` is `Add`; a linear layer is `Gemm` with `transB = 1`,
 * after `Transpose` to NHWC and `Flatten` where it reads a feature map (the classifier was
 * trained on NHWC-flattened features).
 *
 * An STCB (`STEB -> Conv -> CAB`) becomes, per {@link OnnxGraphKind}:
 *
 * - `fused`: the IF recurrence unrolled over t = 0..T-1 as elementwise ops on the membrane,
 *   in float64 (the precision of stcsnn's reference kernels, so spikes agree):
 *   ```
 *   v = Cast<double>(x); q = 0
 *   s_t = v >= theta(t)            (GreaterOrEqual, or Greater for fire '>')
 *   q = q + Where(s_t, theta(t), 0);  v = Where(s_t, v - theta(t), v)
 *   ```
 *   then `Cast<float>(q)` and one `Conv`: `y = W * q(x)`. With `stc.shift` `half` the membrane
 *   starts at `x + theta(T-1)/2` (an `Add` in float32 before the `Cast`).
 * - `spike-train`: the same recurrence emits the T binary frames `s_t` (float 0/1), stacked as
 *   `[T*N, C, H, W]`; one `Conv` over all frames gives the synaptic currents `I(t) = W * s_t`,
 *   reshaped to `[T, N, Cout, Ho, Wo]`, and CAB is `ReduceSum_t(theta(t) * I(t))`.
 *
 * With learned thresholds (`stc.learnTheta` `layer`/`channel`), an STCB with `theta0 =
 * exp(log_theta)` (a scalar or `[Cin]`, computed in float32 by stcsnn) first divides its input by
 * `theta0` (`Div`, `theta0` as `[1, Cin, 1, 1]`), runs the recurrence above with the thresholds of
 * `theta0 = 1`, and convolves with the weights scaled by `theta0` on their input axis (`W theta0`,
 * float32), as stcsnn's spike-train path computes it (its fused path scales the quantised input
 * instead, `W * (theta0 q_1)`: the same spikes, values equal to float rounding; see
 * `stcConv2dLearned`); each STCB encodes its own input
 * then (a ResNet's `conv1` and `shortcut` have their own thresholds).
 *
 * In `ann` mode an STCB is `Relu -> Conv` in both graphs.
 *
 * Model metadata (`metadata_props`): `stcsnn.format`, `stcsnn.config`, `stcsnn.normalization`,
 * `stcsnn.class_names` as in safetensors model files (`model-file.ts`), plus `stcsnn.graph`
 * (`fused` or `spike-train`) and `stcsnn.input_layout` (`NCHW`).
 */
import { thresholds, unitConfig } from '../core/config.js';
import { STC_PATHS, type StcPath } from '../core/stcb.js';
import type { Network } from '../nn/models.js';
import { INPUT, type LayerInfo } from '../nn/plan.js';
import type { Normalization } from '../data/types.js';
import { ONNX_ATTR, ONNX_DTYPE, modelProtoType } from './onnx-proto.js';
import { modelMetadata } from './model-file.js';
import { CheckpointError, describeNetwork, stateDictOf } from './state-dict.js';
import type { SafeTensor } from './safetensors.js';

/** How STCBs appear in the exported graph: as the STCB's forward paths. */
export type OnnxGraphKind = StcPath;
/** The graph kinds. */
export const ONNX_GRAPH_KINDS: readonly OnnxGraphKind[] = STC_PATHS;
/** The opset written. */
export const ONNX_OPSET = 13;
/** The IR version written (that of opset 13). */
export const ONNX_IR_VERSION = 7;
/** Batch-norm epsilon (PyTorch's and stcsnn's default). */
const BN_EPS = 1e-5;

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  readonly graph: OnnxGraphKind;
  readonly normalization?: Normalization;
  readonly classNames?: readonly string[];
  /** Producer version written into the file. */
  readonly producerVersion?: string;
}

type AttrValue = number | number[] | { ints: number[] } | { float: number } | { floats: number[] };

interface AttributeObj {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
  floats?: number[];
}

interface TensorObj {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

interface NodeObj {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeObj[];
}

function bytesOf(a: Float32Array | Float64Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** Builds the node list and initializers of one graph. */
class GraphBuilder {
  readonly nodes: NodeObj[] = [];
  readonly initializers: TensorObj[] = [];
  private n = 0;
  private readonly consts = new Map<string, string>();

  private fresh(base: string): string {
    return `${base}_${this.n++}`;
  }

  /** Adds a float32 initializer. */
  f32(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push({ name, dims: [...dims], dataType: ONNX_DTYPE.FLOAT, rawData: bytesOf(data) });
    return name;
  }

  /** A shared scalar or 1-d constant (deduplicated by value). */
  constant(kind: 'f32' | 'f64' | 'i64', values: readonly number[], dims: readonly number[]): string {
    const key = `${kind}:${dims.join('x')}:${values.join(',')}`;
    const have = this.consts.get(key);
    if (have) return have;
    const name = this.fresh(`const_${kind}`);
    const data =
      kind === 'f32'
        ? Float32Array.from(values)
        : kind === 'f64'
          ? Float64Array.from(values)
          : BigInt64Array.from(values, (v) => BigInt(v));
    const dataType =
      kind === 'f32' ? ONNX_DTYPE.FLOAT : kind === 'f64' ? ONNX_DTYPE.DOUBLE : ONNX_DTYPE.INT64;
    this.initializers.push({ name, dims: [...dims], dataType, rawData: bytesOf(data) });
    this.consts.set(key, name);
    return name;
  }

  /** Adds a node; returns its (single) output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    const output = out ?? this.fresh(opType.toLowerCase());
    const attribute: AttributeObj[] = Object.entries(attrs).map(([name, v]) => {
      if (typeof v === 'number') return { name, type: ONNX_ATTR.INT, i: v };
      if (Array.isArray(v)) return { name, type: ONNX_ATTR.INTS, ints: v };
      if ('ints' in v) return { name, type: ONNX_ATTR.INTS, ints: v.ints };
      if ('float' in v) return { name, type: ONNX_ATTR.FLOAT, f: v.float };
      return { name, type: ONNX_ATTR.FLOATS, floats: v.floats };
    });
    this.nodes.push({ name: this.fresh(`n_${opType}`), opType, input: inputs, output: [output], attribute });
    return output;
  }
}

/** Reads one tensor of the state dict, checking that it exists. */
function tensorOf(sd: Record<string, SafeTensor>, name: string): SafeTensor {
  const t = sd[name];
  if (!t) throw new CheckpointError(`the network has no parameter ${name}`);
  return t;
}

/** Emits the graph of a network into `g`; returns the logits' name. */
class Emitter {
  private readonly sd: Record<string, SafeTensor>;
  private readonly th: number[];
  /** The thresholds of `theta0 = 1`, for STCBs with learned thresholds. */
  private readonly unitTh: number[];
  constructor(
    private readonly g: GraphBuilder,
    private readonly net: Network,
    private readonly kind: OnnxGraphKind,
  ) {
    this.sd = stateDictOf(net);
    this.th = thresholds(net.config.stc);
    this.unitTh = thresholds(unitConfig(net.config.stc));
  }

  private weight(name: string): { name: string; dims: readonly number[] } {
    const t = tensorOf(this.sd, name);
    this.g.f32(name, t.shape, t.data as Float32Array);
    return { name, dims: t.shape };
  }

  /**
   * A convolution's weight `[Cout, Cin, kh, kw]` times `theta0` on its input axis (float32, as
   * `tf.mul` computes it), stored as `<layer>.weight_theta`.
   */
  private scaledWeight(layer: string, theta0: Float32Array): { name: string; dims: readonly number[] } {
    const t = tensorOf(this.sd, `${layer}.weight`);
    const [cout, cin, kh, kw] = t.shape;
    const src = t.data as Float32Array;
    const out = new Float32Array(src.length);
    for (let o = 0; o < cout; o++)
      for (let c = 0; c < cin; c++) {
        const f = theta0.length === 1 ? theta0[0] : theta0[c];
        for (let k = 0; k < kh * kw; k++) {
          const i = (o * cin + c) * kh * kw + k;
          out[i] = Math.fround(src[i] * f);
        }
      }
    const name = `${layer}.weight_theta`;
    this.g.f32(name, t.shape, out);
    return { name, dims: t.shape };
  }

  conv(x: string, layer: LayerInfo, theta0: Float32Array | null = null): string {
    const s = layer.conv!;
    const w = theta0 ? this.scaledWeight(layer.name, theta0) : this.weight(`${layer.name}.weight`);
    return this.g.op('Conv', [x, w.name], {
      kernel_shape: [s.kernel, s.kernel],
      strides: [s.stride, s.stride],
      pads: [s.pad, s.pad, s.pad, s.pad],
      dilations: [1, 1],
      group: 1,
    });
  }

  bn(x: string, name: string, channels: number): string {
    const c = (suffix: string) => {
      const t = tensorOf(this.sd, `${name}.${suffix}`);
      if (t.shape[0] !== channels)
        throw new CheckpointError(`${name}.${suffix} has ${t.shape[0]} channels, expected ${channels}`);
      return this.g.f32(`${name}.${suffix}`, [1, channels, 1, 1], t.data as Float32Array);
    };
    const mean = c('running_mean');
    const variance = c('running_var');
    const weight = c('weight');
    const bias = c('bias');
    const eps = this.g.constant('f32', [BN_EPS], []);
    const std = this.g.op('Sqrt', [this.g.op('Add', [variance, eps])]);
    const centred = this.g.op('Sub', [x, mean]);
    return this.g.op('Add', [this.g.op('Div', [this.g.op('Mul', [centred, weight]), std]), bias]);
  }

  /**
   * The unrolled IF recurrence on `x` (float32) with thresholds `ths`; returns q(x) (float32)
   * and/or the frames.
   */
  private recurrence(
    x: string,
    wantFrames: boolean,
    ths: readonly number[],
  ): { q: string; frames: string[] } {
    const g = this.g;
    const cmp = this.net.config.stc.fire === '>' ? 'Greater' : 'GreaterOrEqual';
    // shift 'half': the membrane starts half the last threshold up, added in float32 as stcsnn does
    const start =
      this.net.config.stc.shift === 'half'
        ? g.op('Add', [x, g.constant('f32', [Math.fround(ths[ths.length - 1] / 2)], [])])
        : x;
    let v = g.op('Cast', [start], { to: ONNX_DTYPE.DOUBLE });
    let q = '';
    const frames: string[] = [];
    ths.forEach((theta, t) => {
      const th = g.constant('f64', [theta], []);
      const s = g.op(cmp, [v, th]);
      if (wantFrames) frames.push(g.op('Cast', [s], { to: ONNX_DTYPE.FLOAT }));
      else {
        const add = g.op('Where', [s, th, g.constant('f64', [0], [])]);
        q = t === 0 ? add : g.op('Add', [q, add]);
      }
      if (t < ths.length - 1) v = g.op('Where', [s, g.op('Sub', [v, th]), v]);
    });
    return { q: wantFrames ? '' : g.op('Cast', [q], { to: ONNX_DTYPE.FLOAT }), frames };
  }

  /** An STCB with a convolution on the membrane `x` (`[N, Cin, H, W]`). */
  stcbConv(x: string, layer: LayerInfo, cache: Map<string, string>): string {
    const g = this.g;
    if (this.net.config.mode === 'ann') {
      const key = `relu:${x}`;
      if (!cache.has(key)) cache.set(key, g.op('Relu', [x]));
      return this.conv(cache.get(key)!, layer);
    }
    const theta0 = this.net.learnedTheta0(layer.name);
    const ths = theta0 ? this.unitTh : this.th;
    // with learned thresholds each STCB encodes its own input: u = x / theta0
    const u = theta0
      ? g.op('Div', [
          x,
          g.f32(`${layer.name}.theta0`, theta0.length === 1 ? [] : [1, theta0.length, 1, 1], theta0),
        ])
      : x;
    if (this.kind === 'fused') {
      const key = `q:${u}`;
      if (!cache.has(key)) cache.set(key, this.recurrence(u, false, ths).q);
      return this.conv(cache.get(key)!, layer, theta0);
    }
    const [h, w, cin] = layer.inShape;
    const T = ths.length;
    const key = `frames:${u}`;
    if (!cache.has(key)) {
      const { frames } = this.recurrence(u, true, ths);
      const stacked = g.op(
        'Concat',
        frames.map((f) => g.op('Unsqueeze', [f, g.constant('i64', [0], [1])])),
        { axis: 0 },
      );
      cache.set(key, g.op('Reshape', [stacked, g.constant('i64', [-1, cin, h, w], [4])]));
    }
    const currents = this.conv(cache.get(key)!, layer, theta0);
    const [ho, wo, cout] = layer.outShape;
    const byT = g.op('Reshape', [currents, g.constant('i64', [T, -1, cout, ho, wo], [5])]);
    const th = g.constant('f32', ths, [T, 1, 1, 1, 1]);
    return g.op('ReduceSum', [g.op('Mul', [byT, th]), g.constant('i64', [0], [1])], { keepdims: 0 });
  }

  linear(x: string, name: string, out?: string): string {
    const w = this.weight(`${name}.weight`);
    const b = this.weight(`${name}.bias`);
    return this.g.op('Gemm', [x, w.name, b.name], { transB: 1 }, out);
  }

  /**
   * Emits the network's plan layer by layer (each layer reads the ONNX values of its plan
   * inputs); returns the logits' name.
   */
  plan(input: string): string {
    const g = this.g;
    const layers = this.net.plan.layers;
    const values = new Map<string, string>([[INPUT, input]]);
    const shapes = new Map<string, readonly number[]>([[INPUT, this.net.plan.inputShape]]);
    const cache = new Map<string, string>();
    let h = input;
    for (const l of layers) {
      const x = values.get(l.inputs[0])!;
      switch (l.kind) {
        case 'conv':
          h = this.conv(x, l);
          break;
        case 'stcb-conv':
          h = this.stcbConv(x, l, cache);
          break;
        case 'bn':
          h = this.bn(x, l.name, l.inShape[2]);
          break;
        case 'maxpool':
          h = g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
          break;
        case 'relu':
          h = g.op('Relu', [x]);
          break;
        case 'avgpool':
          h = g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 });
          break;
        case 'add':
          h = g.op('Add', [x, values.get(l.inputs[1])!]);
          break;
        case 'linear': {
          const spatial = shapes.get(l.inputs[0])!.length === 3;
          const flat = spatial
            ? g.op('Flatten', [g.op('Transpose', [x], { perm: [0, 2, 3, 1] })], { axis: 1 })
            : x;
          h = this.linear(flat, l.name, l === layers[layers.length - 1] ? 'logits' : undefined);
          break;
        }
        default: {
          const never: never = l.kind;
          throw new CheckpointError(`cannot export a ${String(never)} layer (${l.name})`);
        }
      }
      values.set(l.name, h);
      shapes.set(l.name, l.outShape);
    }
    return h;
  }
}

/**
 * Whether a network has been trained: every batch norm has seen at least one batch
 * (`num_batches_tracked > 0`). An untrained network's export would predict nothing useful.
 */
export function untrainedBatchNorms(net: Network): string[] {
  return net
    .namedVariables()
    .filter((e) => e.name.endsWith('num_batches_tracked'))
    .filter((e) => (e.variable.dataSync() as Int32Array)[0] === 0)
    .map((e) => e.name.slice(0, -'.num_batches_tracked'.length));
}

/**
 * Exports `net` (evaluation mode: batch norm with running statistics) as an ONNX model.
 *
 * @returns the serialised `ModelProto`
 * @throws CheckpointError when the network is untrained (a batch norm never saw a batch)
 */
export function exportOnnx(net: Network, opts: OnnxExportOptions): Uint8Array {
  const untrained = untrainedBatchNorms(net);
  if (untrained.length > 0) {
    throw new CheckpointError(
      `cannot export an untrained ${describeNetwork(net)}: batch norm ${untrained.slice(0, 3).join(', ')}${untrained.length > 3 ? ` and ${untrained.length - 3} more` : ''} never saw a batch (num_batches_tracked = 0)`,
    );
  }
  const g = new GraphBuilder();
  const em = new Emitter(g, net, opts.graph);
  const cfg = net.config;
  const logits = em.plan('input');
  if (logits !== 'logits') throw new Error(`internal: the graph ends in ${logits}`);
  const [h, w, c] = cfg.inputShape;
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: ONNX_DTYPE.FLOAT, shape: { dim: dims.map(dim) } } },
  });
  const meta = modelMetadata(
    { config: cfg, normalization: opts.normalization, classNames: opts.classNames },
    { 'stcsnn.graph': opts.graph, 'stcsnn.input_layout': 'NCHW' },
  );
  const model = {
    irVersion: ONNX_IR_VERSION,
    producerName: 'stcsnn',
    producerVersion: opts.producerVersion ?? '0.1.0',
    modelVersion: 1,
    docString: `stcsnn ${describeNetwork(net)}, T=${cfg.stc.T}, ${opts.graph} graph; input NCHW normalised, output logits`,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
    graph: {
      name: `stcsnn_${cfg.arch}`,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo('input', ['N', c, h, w])],
      output: [valueInfo('logits', ['N', cfg.classes])],
    },
  };
  const type = modelProtoType();
  const err = type.verify(model);
  if (err) throw new Error(`internal: ONNX model does not verify: ${err}`);
  return type.encode(type.fromObject(model)).finish();
}

/** One input of an ONNX graph: its name and dimensions (a number, or the name of a symbolic one). */
export interface OnnxInput {
  readonly name: string;
  readonly dims: readonly (number | string)[];
}

/** What {@link readOnnxHeader} reads of an ONNX file: its metadata and its graph's inputs. */
export interface OnnxHeader {
  /** `metadata_props` as a string map. */
  readonly metadata: Record<string, string>;
  /** The graph's inputs (initializers listed as inputs by other exporters included). */
  readonly inputs: readonly OnnxInput[];
}

/** An int64 as protobufjs decodes it (a number, or a Long when the `long` package is present). */
function int64(v: unknown): number {
  if (typeof v === 'object' && v !== null && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/**
 * Decodes an ONNX file's metadata (`metadata_props`) and its graph's inputs.
 * @throws CheckpointError naming `source` when the bytes are not an ONNX model
 */
export function readOnnxHeader(bytes: Uint8Array, source: string): OnnxHeader {
  type Dim = { dimValue?: unknown; dimParam?: string };
  let decoded: {
    metadataProps?: { key?: string; value?: string }[];
    graph?: { input?: { name?: string; type?: { tensorType?: { shape?: { dim?: Dim[] } } } }[] };
  };
  try {
    decoded = modelProtoType().decode(bytes) as unknown as typeof decoded;
  } catch (e) {
    throw new CheckpointError(`${source}: not an ONNX model (${(e as Error).message.split('\n')[0]})`);
  }
  const metadata: Record<string, string> = {};
  for (const p of decoded.metadataProps ?? []) if (p.key) metadata[p.key] = p.value ?? '';
  const inputs = (decoded.graph?.input ?? []).map((i) => ({
    name: i.name ?? '',
    // protobufjs keeps defaults on the prototype: the field set is the one the message holds
    dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) =>
      Object.hasOwn(d, 'dimValue')
        ? int64(d.dimValue)
        : Object.hasOwn(d, 'dimParam')
          ? String(d.dimParam)
          : '?',
    ),
  }));
  return { metadata, inputs };
}

/** Decodes an ONNX file's metadata (`metadata_props`) as a string map. */
export function onnxMetadata(bytes: Uint8Array, source: string): Record<string, string> {
  return readOnnxHeader(bytes, source).metadata;
}

/**
 * Why the graph of an ONNX file cannot take the input its metadata describes (`inputShape`
 * `[H, W, C]`, fed as NCHW `[N, C, H, W]` to the input named `input`, as `exportOnnx` writes
 * it), or null: no input named `input`, another rank, or a fixed dimension that differs (a
 * symbolic one, like the batch's `N`, takes any size; the batch is compared when `batch` is given).
 */
export function onnxInputMismatch(
  inputs: readonly OnnxInput[],
  inputShape: readonly [number, number, number],
  batch?: number,
): string | null {
  const [h, w, c] = inputShape;
  const want = [batch, c, h, w];
  const shown = `[N,${c},${h},${w}] (NCHW of the metadata's inputShape [${h},${w},${c}])`;
  const input = inputs.find((i) => i.name === 'input');
  if (!input)
    return `the graph has no input named "input" (it has ${inputs.map((i) => JSON.stringify(i.name)).join(', ') || 'none'}); stcsnn feeds ${shown}`;
  if (input.dims.length !== 4)
    return `the graph's input "input" is [${input.dims.join(',')}], rank ${input.dims.length}, but its metadata describes ${shown}`;
  const differs = input.dims.some((d, k) => typeof d === 'number' && want[k] !== undefined && d !== want[k]);
  if (differs) {
    const batchOnly = input.dims.every((d, k) => k === 0 || typeof d !== 'number' || d === want[k]);
    return batchOnly
      ? `the graph's input "input" takes batches of ${input.dims[0]} only, not ${batch} images`
      : `the graph's input "input" is [${input.dims.join(',')}] but its metadata describes ${shown}`;
  }
  return null;
}
