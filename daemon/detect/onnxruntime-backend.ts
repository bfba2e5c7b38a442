import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import * as native from '../native.js';
import { bindLayout, type BoxOrderSetting, type LayoutBinding } from './layouts.js';
import { DEFAULT_MODEL_INPUT } from '../config/config-schema.js';
import { requireModelFile } from './model-file.js';
import { modelClasses, type LabelMapSetting } from './labels.js';
import type { DetectOptions, Detector, InferResult, ModelInfo, OutputLayout } from './types.js';
import type { Frame } from '../core/frame.js';
import { decodeDetections } from './detections.js';
import { inferenceThreads } from './inference-threads.js';
import { OnnxRuntimeThread, type OutputTensor } from './onnxruntime-thread.js';

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

/** frames in the detector at once: pre-processing, inference, post-processing */
const TENSOR_SLOTS = 3;

function tensorData(t: OutputTensor | undefined, name: string): Float32Array | Int32Array {
  if (!t) throw new RuntimeFailure(`model output "${name}" missing from the inference result`);
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Int32Array) return d;
  if (d instanceof BigInt64Array) return Int32Array.from(d, (v) => Number(v));
  if (ArrayBuffer.isView(d)) return Float32Array.from(d as unknown as ArrayLike<number>);
  throw new RuntimeFailure(`model output "${name}" has unsupported type ${t.type}`);
}

const asFloat = (a: Float32Array | Int32Array): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** Turns a backend's named outputs into the addon's post-processing input for the bound layout. */
export function postprocessInput(binding: LayoutBinding, out: (name: string) => Float32Array | Int32Array): native.PostprocessInput {
  switch (binding.layout) {
    case 'scores_boxes':
      return {
        layout: 'scores_boxes',
        scores: asFloat(out(binding.scores)),
        boxes: asFloat(out(binding.boxes)),
        numBoxes: binding.numBoxes,
        numClasses: binding.numClasses,
        boxOrder: binding.boxOrder,
      };
    case 'nms7': {
      const keep = binding.keepCount ? out(binding.keepCount)[0] : undefined;
      return { layout: 'nms7', detections: asFloat(out(binding.detections)), count: binding.count, ...(keep !== undefined ? { keepCount: keep } : {}) };
    }
    case 'efficient_nms': {
      const boxes = asFloat(out(binding.boxes));
      let max = 0;
      for (const v of boxes) if (v > max) max = v;
      return {
        layout: 'efficient_nms',
        numDets: out(binding.numDets)[0],
        boxes,
        scores: asFloat(out(binding.scores)),
        classes: out(binding.classes),
        normalized: max <= 1.5,
      };
    }
  }
}

/** ONNX Runtime on CPU: fixed input shape, batch 1, pre/post-processing in the addon off the event loop. */
export class OnnxRuntimeDetector implements Detector {
  /** the pre-processing of the previous call; each call's starts after it (calls stay in order) */
  private preChain: Promise<unknown> = Promise.resolve();
  /** the inference of the previous call: the model runs one frame at a time, in call order */
  private runChain: Promise<unknown> = Promise.resolve();
  /** every call not finished yet (close waits for them) */
  private readonly running = new Set<Promise<unknown>>();
  /** tensor slots not in use */
  private readonly idle: number[] = Array.from({ length: TENSOR_SLOTS }, (_, i) => i);
  /** waiting for a tensor slot to be free */
  private readonly waiting: Array<(slot: number) => void> = [];

  private constructor(
    readonly info: ModelInfo,
    private readonly session: OnnxRuntimeThread,
    private readonly binding: LayoutBinding,
    private readonly spec: native.PreprocessSpec,
    /**
     * The input tensors of the slots shared with the inference thread (SharedArrayBuffers). There
     * are three, so one frame is post-processed (from its slot's outputs) while the next is
     * inferred and the one after it pre-processed.
     */
    private readonly tensors: Float32Array[],
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
    const tensors: Float32Array[] = [];
    for (let slot = 0; slot < TENSOR_SLOTS; slot++) {
      const buffer = new SharedArrayBuffer(3 * width * height * Float32Array.BYTES_PER_ELEMENT);
      await session.addSlot(slot, buffer);
      tensors.push(new Float32Array(buffer));
    }
    return new OnnxRuntimeDetector(info, session, binding, spec, tensors);
  }

  /**
   * Calls may overlap and finish in call order: pre-processing of one frame (addon worker thread)
   * runs while the previous frame is inferred (inference thread), and post-processing of a frame
   * while the next is inferred. The model itself sees one frame at a time. A call holds one tensor
   * slot from pre-processing to the end of post-processing; nothing frame-sized is allocated.
   */
  infer(frame: Frame, options: DetectOptions): Promise<InferResult> {
    const pre = this.preChain.then(() => this.preprocess(frame));
    this.preChain = pre.catch(() => undefined);
    const ran = Promise.all([pre, this.runChain]).then(([p]) => this.run(p));
    // the next inference waits for this one's pre-processing too, so a failed one lets it go
    this.runChain = ran.catch(() => undefined);
    const done = ran.then((r) => this.postprocess(frame, options, r).finally(() => this.giveSlot(r.slot)));
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

  private async preprocess(frame: Frame): Promise<{ slot: number; transform: native.InputTransform; ms: number }> {
    const slot = await this.takeSlot();
    const t0 = performance.now();
    try {
      const transform = await native.preprocess(frame.data, frame.width, frame.height, this.spec, this.tensors[slot], frame.format);
      return { slot, transform, ms: performance.now() - t0 };
    } catch (err) {
      this.giveSlot(slot);
      throw err;
    }
  }

  private async run(p: { slot: number; transform: native.InputTransform; ms: number }) {
    const t0 = performance.now();
    try {
      const outputs = await this.session.run(this.info.inputName, p.slot, [1, 3, this.spec.height, this.spec.width]);
      return { slot: p.slot, outputs, transform: p.transform, preprocessMs: p.ms, inferenceMs: performance.now() - t0 };
    } catch (err) {
      this.giveSlot(p.slot);
      throw new RuntimeFailure(`${this.info.path}: inference failed (${errorMessage(err).split('\n')[0]})`);
    }
  }

  private async postprocess(
    frame: Frame,
    options: DetectOptions,
    r: { outputs: Record<string, OutputTensor>; transform: native.InputTransform; preprocessMs: number; inferenceMs: number },
  ): Promise<InferResult> {
    const t0 = performance.now();
    const input = postprocessInput(this.binding, (name) => tensorData(r.outputs[name], name));
    const detections = await decodeDetections(input, frame, this.spec, r.transform, options, this.info);
    return {
      detections,
      timings: { preprocess_ms: r.preprocessMs, inference_ms: r.inferenceMs, postprocess_ms: performance.now() - t0 },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.running]);
    await this.session.close();
  }
}
