/** Interop: safetensors model files (PyTorch layouts) and ONNX export. */
export * from './safetensors.js';
export * from './state-dict.js';
export {
  MODEL_FORMAT,
  META_KEYS,
  EXTRA_TENSOR_PREFIX,
  modelMetadata,
  encodeModel,
  saveModel,
  modelInfoFromMetadata,
  decodeModel,
  readModelFile,
  readModelInfo,
  loadModel,
  type ModelInfo,
  type SaveModelOptions,
  type ModelFile,
} from './model-file.js';
export {
  exportOnnx,
  onnxMetadata,
  onnxInputMismatch,
  readOnnxHeader,
  type OnnxHeader,
  type OnnxInput,
  untrainedBatchNorms,
  ONNX_GRAPH_KINDS,
  ONNX_OPSET,
  ONNX_IR_VERSION,
  type OnnxGraphKind,
  type OnnxExportOptions,
} from './onnx.js';
export { imageToInput, declaredChannels, type ChannelConversion } from './image-input.js';
