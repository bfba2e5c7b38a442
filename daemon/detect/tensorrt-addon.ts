/**
 * The typed face of the addon's TensorRT part (`exports.tensorrt`, native/src/trt/trt_addon.cc),
 * present only when the addon was built with TensorRT (addonInfo.tensorrt). Every function runs on
 * the libuv thread pool and returns a Promise; errors are one-line Error messages.
 */
import { RuntimeFailure } from '../core/errors.js';
import { addonExports, addonInfo, type DecodeOptions, type InputTransform, type NativeLayout, type PreprocessSpec, type RawDetection } from '../native.js';
import type { PixelFormat } from '../core/frame.js';

export interface TensorRtDeviceInfo {
  /** of the loaded libnvinfer, e.g. "8.2.1" */
  tensorrtVersion: string;
  /** of the headers the addon was compiled with */
  compiledVersion: string;
  gpuName: string;
  /** "5.3" on a Jetson Nano */
  computeCapability: string;
  totalMemory: number;
  fastFp16: boolean;
  fastInt8: boolean;
}

export interface TensorRtBuildOptions {
  onnxPath: string;
  enginePath: string;
  precision: 'fp32' | 'fp16' | 'int8';
  /** int8: raw float32 NCHW input tensors, one image each (see tensorrt-calibration.ts) */
  calibrationFiles?: string[];
  /** int8: TensorRT calibration cache, read when present and written after calibration */
  calibrationCache?: string;
  /** TensorRT timing cache (tactic timings of this GPU): read when valid, written after the build */
  timingCache?: string;
  workspaceMb?: number;
  /** for ONNX inputs with dynamic H/W */
  inputWidth?: number | null;
  inputHeight?: number | null;
}

export interface TensorRtBuildResult {
  precision: string;
  engineBytes: number;
  seconds: number;
  calibrationBatches: number;
  warnings: string[];
}

export interface TensorRtTensor {
  name: string;
  input: boolean;
  /** batch dimension included */
  shape: number[];
  type: 'float32' | 'int32';
  elements: number;
}

/** An opaque engine handle (a native External). */
export type EngineHandle = { readonly __engine: unique symbol };

export interface OpenedEngine {
  handle: EngineHandle;
  tensors: TensorRtTensor[];
  /** pre-processing runs as CUDA kernels (else on the CPU) */
  gpuPreprocess: boolean;
  deviceMemoryBytes: number;
}

/** One frame's result: only the final boxes, and where the frame landed in the model input. */
export interface TensorRtDetectResult extends InputTransform {
  detections: RawDetection[];
  /** staging copy + upload + pre-processing */
  preprocessMs: number;
  /** the network on the GPU */
  inferenceMs: number;
  /** score filter + download + decode and NMS on the host */
  postprocessMs: number;
  /** the score filter ran on the GPU (scores_boxes models, CUDA kernels built) */
  gpuDecode: boolean;
  /** the buffer set (0 or 1) the frame went through */
  slot: number;
}

/** Frames the engine holds at once (native Engine::kSlots: double buffering). */
export const TENSORRT_SLOTS = 2;

export interface TensorRtAddon {
  compiledVersion: string;
  deviceInfo(): Promise<TensorRtDeviceInfo>;
  /** parses the ONNX model with TensorRT's parser; shapes use -1 for dynamic dimensions */
  inspectOnnx(path: string): Promise<Array<{ name: string; input: boolean; shape: number[] }>>;
  buildEngine(options: TensorRtBuildOptions, onProgress?: (line: string) => void): Promise<TensorRtBuildResult>;
  openEngine(path: string): Promise<OpenedEngine>;
  /**
   * One native call per frame: upload, pre-processing, inference, decode and NMS; only the final
   * boxes come back. `layout` indexes the engine's outputs in tensors order. Up to TENSORRT_SLOTS
   * calls may run at once (frame N+1 is uploaded and pre-processed while N runs); the frame must
   * not change until the call settles.
   */
  detect(
    handle: EngineHandle,
    frame: Uint8Array,
    width: number,
    height: number,
    format: PixelFormat | undefined,
    spec: PreprocessSpec,
    layout: NativeLayout,
    options: DecodeOptions,
  ): Promise<TensorRtDetectResult>;
  closeEngine(handle: EngineHandle): Promise<void>;
}

/** The TensorRT functions, or null when the addon was built without TensorRT. */
export function tensorRtAddon(): TensorRtAddon | null {
  if (!addonInfo.tensorrt) return null; // also loads the addon (RuntimeFailure when it is missing)
  const mod = addonExports() as { tensorrt?: TensorRtAddon };
  if (!mod.tensorrt) throw new RuntimeFailure('the native addon reports TensorRT but exports no tensorrt functions: rebuild it (npm run setup)');
  return mod.tensorrt;
}
