/**
 * The page's current model: decoded from a safetensors file's bytes with the library's own
 * reader (`decodeModel` + `loadStateDict`), swapped in only when everything checks out.
 */
import {
  ARCH_DEFAULTS,
  buildNetwork,
  decodeModel,
  loadStateDict,
  parseArchConfig,
  type ArchConfig,
  type ModelFile,
  type Network,
} from '../../src/browser.js';

/** The input the page draws and samples: 28x28 grey. */
export const PAGE_INPUT: readonly [number, number, number] = [28, 28, 1];

/**
 * The network the page trains and benchmarks: the library's default network (`ARCH_DEFAULTS`:
 * VGG11, width 0.25) on the page's input and the 10 Fashion-MNIST classes, with the paper's STC
 * parameters (`DEFAULT_STC`: T 8, theta0 0.8).
 */
export const PAGE_ARCH: ArchConfig = parseArchConfig({
  ...ARCH_DEFAULTS,
  inputShape: PAGE_INPUT,
  classes: 10,
  stc: {},
});

/** A loaded model. */
export interface LoadedModel {
  readonly net: Network;
  readonly file: ModelFile;
  readonly name: string;
}

/**
 * Builds a model from a file's bytes.
 * @throws Error with a one-line message (not safetensors, not an stcsnn model, another input
 *   size, tensors that do not fit the described network)
 */
export function modelFromBytes(bytes: Uint8Array, name: string): LoadedModel {
  const file = decodeModel(bytes, name);
  const shape = file.config.inputShape;
  if (shape.some((d, i) => d !== PAGE_INPUT[i])) {
    throw new Error(`${name}: the model takes ${shape.join('x')} inputs; this page feeds 28x28x1 images`);
  }
  const net = buildNetwork(file.config, 0);
  try {
    loadStateDict(net, file.tensors, name);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return { net, file, name };
}

let current: LoadedModel | undefined;

/** The model now loaded. */
export function currentModel(): LoadedModel | undefined {
  return current;
}

/** Makes `m` current and frees the previous one. */
export function setModel(m: LoadedModel): void {
  const old = current;
  current = m;
  if (old && old !== m) old.net.dispose();
}
