/**
 * The page's current model: decoded from a safetensors file's bytes with the library's own
 * reader (`decodeModel` + `loadStateDict`), swapped in only when everything checks out.
 */
import { buildNetwork, decodeModel, loadStateDict, type ModelFile, type Network } from '../../src/browser.js';

/** The input the page draws and samples: 28x28 grey. */
export const PAGE_INPUT: readonly [number, number, number] = [28, 28, 1];

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
