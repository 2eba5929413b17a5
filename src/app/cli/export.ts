/** `stcsnn export`: a checkpoint as an ONNX model (or a plain safetensors model file). */
import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import { loadModel, saveModel } from '../../lib/interop/model-file.js';
import { resolveModelPath } from '../rundir/model-path.js';
import { exportOnnx, ONNX_GRAPH_KINDS, ONNX_OPSET, type OnnxGraphKind } from '../../lib/interop/onnx.js';
import { describeNetwork } from '../../lib/interop/state-dict.js';
import { writeFileAtomic } from '../../lib/util/atomic.js';
import { assertWritable } from '../../lib/util/fs.js';
import { backendFor, withCommon, type CommonFlags } from './common.js';
import { UsageError } from './errors.js';
import { printJson } from './output.js';

interface ExportFlags extends CommonFlags {
  checkpoint: string;
  format: 'onnx' | 'safetensors';
  out: string;
  graph: OnnxGraphKind;
}

/** The result of `export`, also its `--json` output. */
export interface ExportResult {
  checkpoint: string;
  out: string;
  format: 'onnx' | 'safetensors';
  graph?: OnnxGraphKind;
  opset?: number;
  model: string;
  bytes: number;
  input?: { name: string; layout: 'NCHW'; shape: (number | string)[] };
  output?: { name: string; shape: (number | string)[] };
}

export function exportCommand(): Command {
  const cmd = new Command('export').description(
    'export a trained checkpoint: ONNX (opset 13; input NCHW normalised, output logits) or a clean safetensors model file',
  );
  cmd
    .requiredOption(
      '--checkpoint <path>',
      'a run directory (best.safetensors, else last.safetensors) or a .safetensors file',
    )
    .addOption(new Option('--format <fmt>', 'output format').choices(['onnx', 'safetensors']).default('onnx'))
    .requiredOption('--out <file>', 'output file (e.g. model.onnx)')
    .addOption(
      new Option(
        '--graph <kind>',
        'ONNX STCBs: fused (IF recurrence + one conv) or spike-train (T binary frames)',
      )
        .choices([...ONNX_GRAPH_KINDS])
        .default('fused'),
    );
  withCommon(cmd);
  cmd.action(async (flags: ExportFlags) => {
    const file = resolveModelPath(flags.checkpoint);
    if (fs.existsSync(flags.out) && fs.statSync(flags.out).isDirectory()) {
      throw new UsageError(`--out: ${flags.out} is a directory; give a file name`);
    }
    assertWritable(flags.out, '--out', 'file'); // before loading anything
    await backendFor(flags);
    const { net, file: mf } = await loadModel(file);
    try {
      let bytes: number;
      if (flags.format === 'onnx') {
        const onnx = exportOnnx(net, {
          graph: flags.graph,
          normalization: mf.normalization,
          classNames: mf.classNames,
        });
        writeFileAtomic(flags.out, onnx);
        bytes = onnx.length;
      } else {
        await saveModel(flags.out, net, { normalization: mf.normalization, classNames: mf.classNames });
        bytes = fs.statSync(flags.out).size;
      }
      const [h, w, c] = mf.config.inputShape;
      const r: ExportResult = {
        checkpoint: file,
        out: flags.out,
        format: flags.format,
        model: describeNetwork(net),
        bytes,
        ...(flags.format === 'onnx'
          ? {
              graph: flags.graph,
              opset: ONNX_OPSET,
              input: { name: 'input', layout: 'NCHW' as const, shape: ['N', c, h, w] },
              output: { name: 'logits', shape: ['N', mf.config.classes] },
            }
          : {}),
      };
      if (flags.json) {
        printJson(r);
        return;
      }
      console.log(`wrote ${r.out} (${r.bytes} bytes): ${r.model} from ${file}`);
      if (r.format === 'onnx') {
        console.log(
          `ONNX opset ${ONNX_OPSET}, ${r.graph} graph; input 'input' float32 [N,${c},${h},${w}] (NCHW, normalised as in training), output 'logits' [N,${mf.config.classes}]`,
        );
        if (!mf.normalization)
          console.log('note: the checkpoint stores no normalisation; feed inputs as the model was trained');
      }
    } finally {
      net.dispose();
    }
  });
  return cmd;
}
