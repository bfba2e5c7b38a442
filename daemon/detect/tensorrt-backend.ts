/**
 * The TensorRT backend (Jetson / any host where the addon was built with TensorRT): loads a
 * serialized engine, or builds one from ONNX into the engine cache beside the model (see
 * tensorrt-engine-cache.ts) with the precision fallback of tensorrt-precision.ts and INT8
 * calibration from tensorrt-calibration.ts. Detection is one native call per frame (the addon's
 * tensorrt.detect): upload from pinned memory, pre-processing (CUDA kernels when built),
 * inference, the score filter on the GPU, decode and NMS, only the final boxes back; two frames in
 * flight at once (double buffering, one CUDA stream and execution context each).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import * as native from '../native.js';
import { DEFAULT_MODEL_INPUT } from '../config/config-schema.js';
import { requireModelFile } from './model-file.js';
import { modelClasses } from './labels.js';
import { bindLayout, nativeLayout } from './layouts.js';
import type { OnnxBackendOptions } from './onnxruntime-backend.js';
import { decodeOptions, toDetections } from './detections.js';
import { writeCalibrationTensors } from './tensorrt-calibration.js';
import {
  engineCacheLocation,
  foreignEngineReasons,
  inputKey,
  lookupCachedEngine,
  readSidecar,
  sha256File,
  writeSidecar,
  type EngineKey,
  type EngineSidecar,
  type Precision,
} from './tensorrt-engine-cache.js';
import { resolvePrecision } from './tensorrt-precision.js';
import { TENSORRT_SLOTS, tensorRtAddon, type OpenedEngine, type TensorRtAddon, type TensorRtDeviceInfo } from './tensorrt-addon.js';
import type { DetectOptions, Detector, InferResult, ModelInfo } from './types.js';
import type { Frame } from '../core/frame.js';

export const ENGINE_EXTENSIONS = ['.engine', '.plan', '.trt'];

/** TensorRT's tactic timings, shared by the engines of one folder: rebuilds skip timing done before. */
export const TIMING_CACHE_NAME = 'tensorrt.timing.cache';

export type TensorRtLog = (level: 'info' | 'warn', message: string) => void;

export interface TensorRtBackendOptions extends OnnxBackendOptions {
  precision?: Precision;
  strictPrecision?: boolean;
  /** INT8: a folder of images/recordings and the calibration cache file (TensorRT format, TAO cal.bin works) */
  calibration?: { images: string; cache: string } | null;
  /** where to write the built engine (default: the cache path beside the model) */
  enginePath?: string;
  /** rebuild even when a fresh cached engine exists */
  rebuild?: boolean;
  workspaceMb?: number;
  /** warnings (precision fallback) and info lines (cache hits, builds) */
  log?: TensorRtLog;
  /** progress lines during an engine build */
  onProgress?: (line: string) => void;
  /**
   * Called with true when an engine build (INT8 calibration included) starts and false when it
   * ends, either way: the daemon keeps systemd's start timeout from running out meanwhile.
   */
  onBuilding?: (building: boolean) => void;
  /** the TensorRT functions (default: the addon's; tests pass a stand-in) */
  addon?: TensorRtAddon;
}

export function isEnginePath(path: string): boolean {
  return ENGINE_EXTENSIONS.includes(extname(path).toLowerCase());
}

function requireAddon(modelPath: string, given?: TensorRtAddon): TensorRtAddon {
  const trt = given ?? tensorRtAddon();
  if (!trt) {
    throw new ConfigError(
      `${modelPath}: this build of trt-detect has no TensorRT (the addon was built where TensorRT was not found; on a Jetson run npm run setup, elsewhere use the .onnx model with model.backend: onnxruntime)`,
    );
  }
  return trt;
}

async function deviceInfo(trt: TensorRtAddon, modelPath: string): Promise<TensorRtDeviceInfo> {
  try {
    return await trt.deviceInfo();
  } catch (err) {
    throw new RuntimeFailure(`${modelPath}: ${errorMessage(err)}`);
  }
}

export interface EngineBuildOutcome {
  enginePath: string;
  sidecar: EngineSidecar;
  /** true when a fresh cached engine was used and nothing was built */
  cached: boolean;
  precision: Precision;
  /** TensorRT's own warnings during the build (the precision fallback goes to `log`) */
  warnings: string[];
}

/**
 * Returns a usable engine for an ONNX model: the cached one when its key matches this host and
 * model, else a new build (precision fallback, INT8 calibration, progress lines).
 */
export async function ensureEngine(onnxPath: string, opts: TensorRtBackendOptions): Promise<EngineBuildOutcome> {
  requireModelFile(onnxPath);
  if (statSync(onnxPath).isDirectory()) throw new ConfigError(`${onnxPath}: is a directory, not a model file (check model.path or -m)`);
  const trt = requireAddon(onnxPath, opts.addon);
  const log = opts.log ?? (() => undefined);
  const dev = await deviceInfo(trt, onnxPath);
  const requested = opts.precision ?? 'fp16';
  const choice = resolvePrecision(
    requested,
    { fastFp16: dev.fastFp16, fastInt8: dev.fastInt8, gpuName: dev.gpuName, computeCapability: dev.computeCapability },
    opts.strictPrecision ?? false,
  );
  if (choice.warning) log('warn', `${onnxPath}: ${choice.warning}`);
  const precision = choice.precision;
  const input = { ...DEFAULT_MODEL_INPUT, ...(opts.input ?? {}) };
  const key: EngineKey = {
    model_sha256: await sha256File(onnxPath),
    tensorrt: dev.tensorrtVersion,
    gpu: dev.gpuName,
    compute_capability: dev.computeCapability,
    precision,
    input: inputKey(input.width, input.height),
  };
  const enginePath = opts.enginePath ?? engineCacheLocation(onnxPath, precision);
  if (!opts.rebuild) {
    const found = await lookupCachedEngine(enginePath, key);
    if (found.status === 'fresh') {
      log('info', `${onnxPath}: using the cached TensorRT engine ${enginePath} (${precision}, TensorRT ${key.tensorrt}, ${key.gpu})`);
      return { enginePath, sidecar: found.sidecar, cached: true, precision, warnings: [] };
    }
    if (found.status === 'stale') log('info', `${enginePath}: rebuilding the engine: ${found.reasons.join('; ')}`);
  }

  // The input size decides the calibration tensors: from the model, else from model.input.
  const tensors = await trt.inspectOnnx(onnxPath).catch((err: unknown) => {
    throw new ConfigError(`${errorMessage(err)} (use an .onnx SSD model)`);
  });
  const inputs = tensors.filter((t) => t.input);
  if (inputs.length !== 1 || inputs[0].shape.length !== 4) {
    throw new ConfigError(
      `${onnxPath}: expected one image input [1,3,H,W], the model has ${inputs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ') || 'none'}`,
    );
  }
  const shape = inputs[0].shape;
  const height = shape[2] > 0 ? shape[2] : input.height;
  const width = shape[3] > 0 ? shape[3] : input.width;
  if (!width || !height)
    throw new ConfigError(`${onnxPath}: input ${inputs[0].name} has a dynamic size [${shape.join(',')}] (set model.input.width and model.input.height)`);
  const spec: native.PreprocessSpec = { width, height, mean: input.mean, std: input.std, color: input.color, resize: input.resize };

  let calibrationFiles: string[] = [];
  let calibDir: string | null = null;
  const cache = opts.calibration?.cache ?? '';
  for (const file of removeAbandonedPartials(enginePath))
    log('info', `${file}: removed the partial engine of a build that did not finish (a restart or crash during the build)`);
  opts.onBuilding?.(true);
  try {
    if (precision === 'int8') {
      if (cache && existsSync(cache)) {
        log('info', `${onnxPath}: INT8 calibration from the cache ${cache} (delete it to calibrate again from images)`);
      } else {
        const images = opts.calibration?.images;
        if (!images) throw new ConfigError(`${onnxPath}: INT8 needs calibration images (model.calibration.images or --calib DIR) or a calibration cache`);
        calibDir = mkdtempSync(join(tmpdir(), 'trt-detect-calib-'));
        calibrationFiles = await writeCalibrationTensors({ dir: images, spec, outDir: calibDir, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
      }
    }
    const started = performance.now();
    let result;
    try {
      result = await trt.buildEngine(
        {
          onnxPath,
          enginePath,
          precision,
          calibrationFiles,
          ...(cache ? { calibrationCache: cache } : {}),
          timingCache: join(dirname(enginePath), TIMING_CACHE_NAME),
          ...(opts.workspaceMb ? { workspaceMb: opts.workspaceMb } : {}),
          inputWidth: shape[3] > 0 ? null : width,
          inputHeight: shape[2] > 0 ? null : height,
        },
        opts.onProgress,
      );
    } catch (err) {
      throw new RuntimeFailure(errorMessage(err));
    }
    log(
      'info',
      `${enginePath}: built ${precision} engine in ${((performance.now() - started) / 1000).toFixed(0)} s (${(result.engineBytes / 1e6).toFixed(1)} MB)`,
    );
    const sidecar: EngineSidecar = {
      format: 1,
      built_by: 'trt-detect',
      built_at: new Date().toISOString(),
      ...key,
      engine_sha256: await sha256File(enginePath),
      engine_bytes: result.engineBytes,
      input_shape: [1, 3, height, width],
      ...(precision !== requested ? { requested_precision: requested } : {}),
      ...(precision === 'int8' ? { calibration: { images: result.calibrationBatches, cache: cache || null } } : {}),
    };
    await writeSidecar(enginePath, sidecar);
    return { enginePath, sidecar, cached: false, precision, warnings: result.warnings };
  } finally {
    opts.onBuilding?.(false);
    if (calibDir) rmSync(calibDir, { recursive: true, force: true });
  }
}

/** Is there a process with this pid (ours or another user's)? */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The builder writes `<engine>.tmp.<pid>` and renames it when done (native/src/trt/builder.cc), so
 * a build killed midway (systemd restarting a slow first start, a power cut) leaves that file
 * behind. Removes those whose process is gone; a build still running elsewhere keeps its file.
 */
export function removeAbandonedPartials(enginePath: string): string[] {
  const prefix = `${basename(enginePath)}.tmp.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dirname(enginePath));
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || (pid !== process.pid && processAlive(pid))) continue;
    const file = join(dirname(enginePath), name);
    try {
      unlinkSync(file);
      removed.push(file);
    } catch {
      /* gone meanwhile, or not ours to remove: the build writes its own name */
    }
  }
  return removed;
}

export class TensorRtDetector implements Detector {
  /** the last TENSORRT_SLOTS calls (settled never rejects): a call starts when the one SLOTS before it ended */
  private readonly window: Array<Promise<unknown>> = [];
  /** the previous call's result: results come back in call order */
  private last: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly info: ModelInfo,
    private readonly trt: TensorRtAddon,
    private readonly engine: OpenedEngine,
    private readonly layout: native.NativeLayout,
    private readonly spec: native.PreprocessSpec,
    /** true when pre-processing runs as CUDA kernels */
    readonly gpuPreprocess: boolean,
  ) {}

  /** Opens an .engine/.plan, or an .onnx through the engine cache. */
  static async open(opts: TensorRtBackendOptions): Promise<TensorRtDetector> {
    const { modelPath } = opts;
    requireModelFile(modelPath);
    if (statSync(modelPath).isDirectory()) throw new ConfigError(`${modelPath}: is a directory, not a model file (check model.path or -m)`);
    const trt = requireAddon(modelPath, opts.addon);
    let enginePath = modelPath;
    if (!isEnginePath(modelPath)) {
      enginePath = (await ensureEngine(modelPath, opts)).enginePath;
    } else {
      const dev = await deviceInfo(trt, modelPath);
      const reasons = foreignEngineReasons(await readSidecar(modelPath), {
        tensorrt: dev.tensorrtVersion,
        gpu: dev.gpuName,
        compute_capability: dev.computeCapability,
      });
      if (reasons.length) {
        throw new ConfigError(
          `${modelPath}: this engine cannot run here: ${reasons.join('; ')} (rebuild it on this device: trt-detect build-engine -m MODEL.onnx)`,
        );
      }
    }
    let engine: OpenedEngine;
    try {
      engine = await trt.openEngine(enginePath);
    } catch (err) {
      throw new ConfigError(errorMessage(err));
    }
    try {
      const inputT = engine.tensors.find((t) => t.input);
      if (!inputT) throw new ConfigError(`${enginePath}: the engine has no input tensor`);
      const [, , height, width] = inputT.shape;
      const outs = engine.tensors.filter((t) => !t.input).map((t) => ({ name: t.name, shape: t.shape }));
      const binding = bindLayout(enginePath, outs, opts.layout ?? 'auto', opts.boxOrder);
      const classes = modelClasses(modelPath, binding, opts.labels, opts.labelMap);
      const input = { ...DEFAULT_MODEL_INPUT, ...(opts.input ?? {}) };
      const info: ModelInfo = {
        path: modelPath,
        backend: 'tensorrt',
        inputName: inputT.name,
        inputWidth: width,
        inputHeight: height,
        layout: binding.layout,
        outputNames: outs.map((o) => o.name),
        labels: classes.labels,
        modelLabels: classes.modelLabels,
        ignoreClasses: classes.ignoreClasses,
        nmsGroups: classes.nmsGroups,
      };
      const spec: native.PreprocessSpec = { width, height, mean: input.mean, std: input.std, color: input.color, resize: input.resize };
      const layout = nativeLayout(
        binding,
        outs.map((o) => o.name),
      );
      return new TensorRtDetector(info, trt, engine, layout, spec, engine.gpuPreprocess);
    } catch (err) {
      await trt.closeEngine(engine.handle).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Up to TENSORRT_SLOTS calls run in the engine at once (double buffering: frame N+1 is uploaded
   * and pre-processed while N is inferred); results come back in call order.
   */
  infer(frame: Frame, options: DetectOptions): Promise<InferResult> {
    const gate = this.window.length >= TENSORRT_SLOTS ? this.window[this.window.length - TENSORRT_SLOTS] : Promise.resolve();
    const run = gate.then(() => this.detectNow(frame, options));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.window.push(settled);
    if (this.window.length > TENSORRT_SLOTS) void this.window.shift();
    const ordered = this.last.then(() => run);
    this.last = settled;
    return ordered;
  }

  private async detectNow(frame: Frame, options: DetectOptions): Promise<InferResult> {
    if (this.closed) throw new RuntimeFailure(`${this.info.path}: the detector is closed`);
    let r;
    try {
      r = await this.trt.detect(
        this.engine.handle,
        frame.data,
        frame.width,
        frame.height,
        frame.format,
        this.spec,
        this.layout,
        decodeOptions(options, this.info),
      );
    } catch (err) {
      throw new RuntimeFailure(`${this.info.path}: inference failed (${errorMessage(err).split('\n')[0]})`);
    }
    return {
      detections: toDetections(r.detections, this.info.labels),
      timings: { preprocess_ms: r.preprocessMs, inference_ms: r.inferenceMs, postprocess_ms: r.postprocessMs },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.last, ...this.window]);
    if (this.closed) return;
    this.closed = true;
    await this.trt.closeEngine(this.engine.handle);
  }
}
