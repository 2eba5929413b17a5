/**
 * Gradients of a scalar loss with respect to variables, freeing memory as the backward pass
 * goes: a drop-in for `tf.variableGrads` with the peak memory of a framework that frees
 * each intermediate gradient and each saved activation as soon as it has been used.
 *
 * TensorFlow.js's own backward pass keeps every intermediate gradient and every tensor saved
 * for the backward pass until the pass ends, so its peak holds all activations *and* all their
 * gradients. Here, walking the tape backward, once a node's gradients are computed:
 *
 * - the gradients of its outputs are disposed (its outputs have no other producer, and every
 *   consumer came later on the tape, so they have all contributed already);
 * - the tensors it saved for its backward pass are disposed.
 *
 * The peak is then the saved activations plus the gradients of one layer. The arithmetic is
 * tfjs's: the same registered gradient functions, in the same order, with the same sums.
 *
 * This reads the engine's tape (`startTape`, `state.activeTape`), which tfjs-core does not
 * export as API; the package pins tfjs-core, and where the engine does not look as expected
 * (or inside another gradient computation) this falls back to `tf.variableGrads`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** One recorded kernel call (the engine's tape node). */
interface TapeNode {
  readonly kernelName: string;
  readonly inputs: Record<string, tf.Tensor>;
  readonly outputs: tf.Tensor[];
  readonly saved?: tf.Tensor[];
  readonly gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** The parts of tfjs-core's engine this module uses. */
interface EngineTape {
  readonly state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
}

function engineTape(): EngineTape | null {
  const e = tf.engine() as unknown as Partial<EngineTape>;
  const ok =
    typeof e.startTape === 'function' &&
    typeof e.endTape === 'function' &&
    typeof e.state === 'object' &&
    e.state !== null &&
    typeof e.state.gradientDepth === 'number';
  return ok ? (e as EngineTape) : null;
}

/** A tape node with only the inputs that depend on the variables. */
interface Step {
  readonly node: TapeNode;
  readonly inputs: [name: string, tensor: tf.Tensor][];
}

/** The nodes on a path from a variable to `y`, in tape order, with their inputs pruned to those paths. */
function pathsToY(tape: TapeNode[], vars: readonly tf.Tensor[], y: tf.Tensor): Step[] {
  const fromVars = new Set(vars.map((v) => v.id));
  const forward: boolean[] = tape.map((node) => {
    const hit = Object.values(node.inputs).some((t) => fromVars.has(t.id));
    if (hit) for (const o of node.outputs) fromVars.add(o.id);
    return hit;
  });
  const toY = new Set([y.id]);
  const steps: Step[] = [];
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    for (const t of Object.values(node.inputs)) toY.add(t.id);
    if (!forward[i]) continue;
    const inputs = Object.entries(node.inputs).filter(([, t]) => fromVars.has(t.id));
    steps.push({ node, inputs });
  }
  return steps.reverse();
}

/**
 * The gradients of one node for its pruned inputs, computed inside a scope so that whatever
 * the gradient function allocates besides them is freed at once. A gradient that is the same
 * tensor object as an incoming `dy` (or as another input's) is cloned, so that disposing one
 * never disposes the other.
 */
function nodeGradients(step: Step, dys: (tf.Tensor | null)[]): tf.Tensor[] {
  const { node, inputs } = step;
  const gradient = node.gradient;
  if (gradient === undefined) {
    throw new Error(`cannot compute a gradient through kernel ${node.kernelName}: none is registered`);
  }
  return tf.tidy(() => {
    const fns = gradient(dys);
    const seen = new Set<tf.Tensor | null>(dys);
    return inputs.map(([name, x]) => {
      const fn = fns[name];
      if (fn === undefined)
        throw new Error(`kernel ${node.kernelName} has no gradient for its input ${name}`);
      let dx = fn();
      if (dx.dtype !== 'float32') {
        throw new Error(`the gradient of ${node.kernelName} for ${name} is ${dx.dtype}, not float32`);
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `the gradient of ${node.kernelName} for ${name} has shape [${dx.shape}], its input [${x.shape}]`,
        );
      }
      if (seen.has(dx)) dx = tf.clone(dx);
      seen.add(dx);
      return dx;
    });
  });
}

/** Walks the steps backward from `dL/dy = 1`; returns the gradients of the variables it reaches, by name. */
function backprop(steps: Step[], y: tf.Tensor, vars: readonly tf.Variable[]): tf.NamedTensorMap {
  const keep = new Set(vars.map((v) => v.id));
  const grad = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    const dys = step.node.outputs.map((o) => grad.get(o.id) ?? null);
    const dxs = nodeGradients(step, dys);
    step.inputs.forEach(([, x], k) => {
      const cur = grad.get(x.id);
      if (cur === undefined) {
        grad.set(x.id, dxs[k]);
      } else {
        grad.set(x.id, tf.add(cur, dxs[k]));
        cur.dispose();
        dxs[k].dispose();
      }
    });
    for (const o of step.node.outputs) {
      if (keep.has(o.id)) continue;
      grad.get(o.id)?.dispose();
      grad.delete(o.id);
    }
    for (const t of step.node.saved ?? []) t.dispose();
  }
  const named: tf.NamedTensorMap = {};
  for (const v of vars) {
    const g = grad.get(v.id);
    if (g !== undefined) named[v.name] = g;
  }
  return named;
}

/**
 * `tf.variableGrads` with eager freeing: the value of `f()` and its gradient with respect to
 * each of `vars` that it depends on (keyed by variable name).
 *
 * @param f the loss, a scalar; tensors it creates and does not keep are freed after the forward pass
 * @param vars the variables to differentiate with respect to
 * @throws Error when `f` does not depend on any of `vars` or does not return a scalar
 */
export function valueAndGrads(
  f: () => tf.Scalar,
  vars: readonly tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const e = engineTape();
  if (e === null || e.state.gradientDepth !== 0) return tf.variableGrads(f, [...vars]);
  let tape: TapeNode[] = [];
  try {
    e.startTape();
    let value: tf.Scalar;
    try {
      value = tf.tidy(f);
    } finally {
      e.endTape();
      tape = e.state.activeTape ?? [];
    }
    if (!(value instanceof tf.Tensor) || value.rank !== 0) {
      tf.dispose(value);
      throw new Error('valueAndGrads: f must return a scalar tensor');
    }
    const steps = pathsToY(tape, vars, value);
    const named = tf.tidy(() => backprop(steps, value, vars));
    if (Object.keys(named).length === 0) {
      tf.dispose(value);
      throw new Error('valueAndGrads: the loss does not depend on any of the variables');
    }
    return { value, grads: named };
  } finally {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    e.state.activeTape = null;
  }
}
