import { extname } from 'node:path';
import { ConfigError } from '../errors.js';
import { addonInfo } from '../native.js';
import { OnnxRuntimeDetector, type OnnxBackendOptions } from './onnxruntime-backend.js';
import type { Detector } from './types.js';

export interface OpenDetectorOptions extends OnnxBackendOptions {
  backend?: 'auto' | 'tensorrt' | 'onnxruntime';
}

const ENGINE_EXT = new Set(['.engine', '.plan', '.trt']);

/**
 * Opens the detector backend for a model: TensorRT for .engine/.plan files (and for .onnx when
 * `backend: tensorrt`) where the addon was built with TensorRT, ONNX Runtime on CPU otherwise.
 */
export async function openDetector(opts: OpenDetectorOptions): Promise<Detector> {
  const isEngine = ENGINE_EXT.has(extname(opts.modelPath).toLowerCase());
  const backend = opts.backend ?? 'auto';
  const wantsTensorRt = backend === 'tensorrt' || (backend === 'auto' && isEngine);
  if (wantsTensorRt && !addonInfo.tensorrt) {
    throw new ConfigError(
      `${opts.modelPath}: ${isEngine ? 'TensorRT engines need' : 'model.backend: tensorrt needs'} the addon built with TensorRT (on a Jetson: npm run setup finds TensorRT; elsewhere use the .onnx model with backend onnxruntime)`,
    );
  }
  if (wantsTensorRt) {
    throw new ConfigError(`${opts.modelPath}: the TensorRT backend is not part of this build yet (use backend: onnxruntime)`);
  }
  if (isEngine) {
    throw new ConfigError(`${opts.modelPath}: ONNX Runtime cannot load a TensorRT engine (use the .onnx model or backend: tensorrt on a Jetson)`);
  }
  return OnnxRuntimeDetector.open(opts);
}
