import { ConfigError, errorMessage } from '../core/errors.js';
import { addonInfo } from '../native.js';
import { OnnxRuntimeDetector } from './onnxruntime-backend.js';
import { TensorRtDetector, isEnginePath, type TensorRtBackendOptions } from './tensorrt-backend.js';
import { tensorRtAddon } from './tensorrt-addon.js';
import type { Detector } from './types.js';
import { requireModelFile } from './model-file.js';
import type { ModelConfig } from '../config/types.js';

export interface OpenDetectorOptions extends TensorRtBackendOptions {
  backend?: 'auto' | 'tensorrt' | 'onnxruntime';
}

/** The `model` section of a config as detector options (every command that opens the configured model). */
export function modelOptions(m: ModelConfig): OpenDetectorOptions {
  return {
    modelPath: m.path,
    backend: m.backend,
    labels: m.labels,
    labelMap: m.label_map,
    layout: m.layout,
    boxOrder: m.box_order,
    input: m.input,
    threads: m.threads,
    precision: m.precision,
    strictPrecision: m.strict_precision,
    calibration: m.calibration,
  };
}

export interface BackendChoice {
  backend: 'tensorrt' | 'onnxruntime';
  /** why auto chose ONNX Runtime (logged at info level); null otherwise */
  fallback: string | null;
}

/**
 * Which backend runs a model. `tensorrt` (or an .engine/.plan model) needs the addon built with
 * TensorRT and a GPU: without them it is a ConfigError (exit 2). `auto` takes TensorRT when it can
 * and falls back to ONNX Runtime on the CPU, saying why. `gpuError` is null when a GPU answered,
 * a reason when it did not, undefined when not asked (TensorRT not built).
 */
export function chooseBackend(
  modelPath: string,
  requested: 'auto' | 'tensorrt' | 'onnxruntime',
  tensorrtBuilt: boolean,
  gpuError?: string | null,
): BackendChoice {
  const isEngine = isEnginePath(modelPath);
  if (requested === 'onnxruntime') {
    if (isEngine) throw new ConfigError(`${modelPath}: ONNX Runtime cannot load a TensorRT engine (use the .onnx model or backend: tensorrt on a Jetson)`);
    return { backend: 'onnxruntime', fallback: null };
  }
  const needsTensorRt = requested === 'tensorrt' || isEngine;
  const what = isEngine ? 'TensorRT engines need' : 'model.backend: tensorrt needs';
  if (!tensorrtBuilt) {
    if (needsTensorRt) {
      throw new ConfigError(
        `${modelPath}: ${what} the addon built with TensorRT (on a Jetson: npm run setup finds TensorRT; elsewhere use the .onnx model with backend onnxruntime)`,
      );
    }
    return { backend: 'onnxruntime', fallback: 'this build has no TensorRT: running the ONNX model with ONNX Runtime on the CPU' };
  }
  if (gpuError) {
    if (needsTensorRt) throw new ConfigError(`${modelPath}: ${what} a GPU: ${gpuError}`);
    return { backend: 'onnxruntime', fallback: `TensorRT cannot run here (${gpuError}): running the ONNX model with ONNX Runtime on the CPU` };
  }
  return { backend: 'tensorrt', fallback: null };
}

/**
 * Opens the detector backend for a model: TensorRT for .engine/.plan files and, where the addon
 * was built with TensorRT and a GPU answers, for .onnx models with backend auto|tensorrt (engine
 * built once and cached beside the model); ONNX Runtime on the CPU otherwise.
 */
export async function openDetector(opts: OpenDetectorOptions): Promise<Detector> {
  // first, before any note about the backend: a missing model is the one thing to say
  requireModelFile(opts.modelPath);
  const requested = opts.backend ?? 'auto';
  const built = requested === 'onnxruntime' ? false : addonInfo.tensorrt;
  let gpuError: string | null | undefined;
  if (built) {
    const trt = tensorRtAddon();
    gpuError = trt
      ? await trt.deviceInfo().then(
          () => null,
          (err: unknown) => errorMessage(err),
        )
      : 'no TensorRT functions in the addon';
  }
  const choice = chooseBackend(opts.modelPath, requested, built, gpuError);
  if (choice.fallback) opts.log?.('info', `${opts.modelPath}: ${choice.fallback}`);
  if (choice.backend === 'tensorrt') return TensorRtDetector.open(opts);
  return OnnxRuntimeDetector.open(opts);
}
