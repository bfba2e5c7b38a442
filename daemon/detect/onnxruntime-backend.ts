import { statSync } from 'node:fs';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import * as native from '../native.js';
import { bindLayout, nativeLayout, type BoxOrderSetting } from './layouts.js';
import { DEFAULT_MODEL_INPUT } from '../config/config-schema.js';
import { requireModelFile } from './model-file.js';
import { modelClasses, type LabelMapSetting } from './labels.js';
import type { DetectOptions, Detector, InferResult, ModelInfo, OutputLayout } from './types.js';
import type { Frame } from '../core/frame.js';
import { decodeOptions, toDetections } from './detections.js';
import { inferenceThreads } from './inference-threads.js';
import { OnnxRuntimeThread } from './onnxruntime-thread.js';

export interface OnnxBackendOptions {
  modelPath: string;
  labels?: string[] | null;
  /** model.label_map (default auto) */
  labelMap?: LabelMapSetting;
  layout?: OutputLayout | 'auto';
  /** model.box_order for scores_boxes models (default auto) */
  boxOrder?: BoxOrderSetting;
  input?: {
    color: 'rgb' | 'bgr';
    mean: [number, number, number];
    std: [number, number, number];
    resize: 'stretch' | 'letterbox';
    width?: number | null;
    height?: number | null;
  };
  /** intra-op threads (`model.threads`); 0 or undefined = auto (see inferenceThreads) */
  threads?: number;
  /** video is decoded and encoded on the same cores (run, bench, detect on a video): auto leaves it a core */
  withVideo?: boolean;
}

/** frames in the detector at once: one in the thread's inference, the next being pre-processed, one waiting */
const FRAME_SLOTS = 3;

/**
 * ONNX Runtime on CPU: fixed input shape, batch 1. One message per frame to the inference thread,
 * which pre-processes into the input tensor, infers into preallocated outputs and decodes in the
 * addon; only the final boxes come back (onnxruntime-worker.ts).
 */
export class OnnxRuntimeDetector implements Detector {
  /** every call not finished yet (close waits for them) */
  private readonly running = new Set<Promise<unknown>>();
  /** frame slots not in use */
  private readonly idle: number[] = Array.from({ length: FRAME_SLOTS }, (_, i) => i);
  /** waiting for a frame slot to be free */
  private readonly waiting: Array<(slot: number) => void> = [];

  private constructor(
    readonly info: ModelInfo,
    private readonly session: OnnxRuntimeThread,
  ) {}

  static async open(opts: OnnxBackendOptions): Promise<OnnxRuntimeDetector> {
    const { modelPath } = opts;
    requireModelFile(modelPath);
    if (statSync(modelPath).isDirectory()) throw new ConfigError(`${modelPath}: is a directory, not a model file (check model.path or -m)`);
    let session: OnnxRuntimeThread;
    const threads = inferenceThreads(opts.threads, opts.withVideo ?? false);
    try {
      session = await OnnxRuntimeThread.open(modelPath, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : { interOpNumThreads: 1 }),
        // ONNX Runtime's pool threads spin while waiting for work by default: CPU the decoder,
        // encoder and drawing of the same frames need (measured with trt-detect bench)
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      });
    } catch (err) {
      if (statSync(modelPath).size === 0) throw new ConfigError(`${modelPath}: the file is empty (copy the model again)`);
      throw new ConfigError(
        `${modelPath}: not a model ONNX Runtime can load (${errorMessage(err).split('\n')[0]}) (use an .onnx SSD model or a TensorRT engine on a Jetson)`,
      );
    }
    if (session.inputNames.length !== 1) {
      throw new ConfigError(`${modelPath}: expected one image input, the model has ${session.inputNames.length} (${session.inputNames.join(', ')})`);
    }
    const inMeta = session.inputMetadata[0];
    const shape = inMeta && inMeta.isTensor ? (inMeta.shape ?? []) : [];
    const dim = (i: number, fallback: number | null | undefined): number => {
      const d = shape[i];
      if (typeof d === 'number' && d > 0) return d;
      if (fallback && fallback > 0) return fallback;
      throw new ConfigError(
        `${modelPath}: input ${session.inputNames[0]} has a dynamic size [${shape.join(',')}] (set model.input.width and model.input.height)`,
      );
    };
    if (shape.length !== 4 || (typeof shape[1] === 'number' && shape[1] !== 3)) {
      throw new ConfigError(`${modelPath}: input ${session.inputNames[0]} has shape [${shape.join(',')}], expected [1,3,H,W] (an NCHW RGB image)`);
    }
    const input = { ...DEFAULT_MODEL_INPUT, ...(opts.input ?? {}) };
    const height = dim(2, input.height);
    const width = dim(3, input.width);
    const outputs = session.outputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? (m.shape ?? []) : [] }));
    const binding = bindLayout(modelPath, outputs, opts.layout ?? 'auto', opts.boxOrder);
    const classes = modelClasses(modelPath, binding, opts.labels, opts.labelMap);
    const info: ModelInfo = {
      path: modelPath,
      backend: 'onnxruntime',
      inputName: session.inputNames[0],
      inputWidth: width,
      inputHeight: height,
      layout: binding.layout,
      outputNames: [...session.outputNames],
      labels: classes.labels,
      modelLabels: classes.modelLabels,
      ignoreClasses: classes.ignoreClasses,
      nmsGroups: classes.nmsGroups,
      threads,
    };
    const spec: native.PreprocessSpec = { width, height, mean: input.mean, std: input.std, color: input.color, resize: input.resize };
    const outputNames = [...session.outputNames];
    await session.setup({ inputName: session.inputNames[0], spec, layout: nativeLayout(binding, outputNames), outputNames, slots: FRAME_SLOTS });
    return new OnnxRuntimeDetector(info, session);
  }

  /** ONNX Runtime writes into preallocated output tensors (every output of the model has a fixed shape) */
  get preallocatedOutputs(): boolean {
    return this.session.preallocatedOutputs;
  }

  /**
   * Calls may overlap and finish in call order: while one frame is inferred in the thread, the next
   * is pre-processed there (the addon, on the libuv pool) and a third waits. A call holds one frame
   * slot until its boxes are back; nothing frame-sized is allocated.
   */
  infer(frame: Frame, options: DetectOptions): Promise<InferResult> {
    const done = this.takeSlot().then((slot) => this.detect(slot, frame, options).finally(() => this.giveSlot(slot)));
    const tracked = done.catch(() => undefined);
    this.running.add(tracked);
    void tracked.then(() => this.running.delete(tracked));
    return done;
  }

  private takeSlot(): Promise<number> {
    const slot = this.idle.pop();
    return slot !== undefined ? Promise.resolve(slot) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private giveSlot(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.idle.push(slot);
  }

  private async detect(slot: number, frame: Frame, options: DetectOptions): Promise<InferResult> {
    let r;
    try {
      r = await this.session.detect(slot, frame, decodeOptions(options, this.info));
    } catch (err) {
      throw new RuntimeFailure(`${this.info.path}: inference failed (${errorMessage(err).split('\n')[0]})`);
    }
    return {
      detections: toDetections(r.detections, this.info.labels),
      timings: { preprocess_ms: r.preprocessMs, inference_ms: r.inferenceMs, postprocess_ms: r.postprocessMs },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.running]);
    await this.session.close();
  }
}
