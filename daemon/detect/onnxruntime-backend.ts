import { existsSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ConfigError, RuntimeFailure, errorMessage } from '../errors.js';
import * as native from '../native.js';
import { bindLayout, type LayoutBinding } from './layouts.js';
import { backgroundIds, resolveLabels } from './labels.js';
import type { DetectOptions, Detector, Frame, InferResult, ModelInfo, OutputLayout } from './types.js';
import { toDetections } from './detections.js';
import { OnnxRuntimeThread, type OutputTensor } from './onnxruntime-thread.js';

export interface OnnxBackendOptions {
  modelPath: string;
  labels?: string[] | null;
  layout?: OutputLayout | 'auto';
  input?: { color: 'rgb' | 'bgr'; mean: [number, number, number]; std: [number, number, number]; resize: 'stretch' | 'letterbox'; width?: number | null; height?: number | null };
  /** intra-op threads; 0 or undefined = ONNX Runtime's default (one per core) */
  threads?: number;
}

const DEFAULT_INPUT = { color: 'rgb' as const, mean: [0.5, 0.5, 0.5] as [number, number, number], std: [0.5, 0.5, 0.5] as [number, number, number], resize: 'stretch' as const };

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
      return { layout: 'scores_boxes', scores: asFloat(out(binding.scores)), boxes: asFloat(out(binding.boxes)), numBoxes: binding.numBoxes, numClasses: binding.numClasses };
    case 'nms7': {
      const keep = binding.keepCount ? out(binding.keepCount)[0] : undefined;
      return { layout: 'nms7', detections: asFloat(out(binding.detections)), count: binding.count, ...(keep !== undefined ? { keepCount: keep } : {}) };
    }
    case 'efficient_nms': {
      const boxes = asFloat(out(binding.boxes));
      let max = 0;
      for (const v of boxes) if (v > max) max = v;
      return { layout: 'efficient_nms', numDets: out(binding.numDets)[0], boxes, scores: asFloat(out(binding.scores)), classes: out(binding.classes), normalized: max <= 1.5 };
    }
  }
}

/** ONNX Runtime on CPU: fixed input shape, batch 1, pre/post-processing in the addon off the event loop. */
export class OnnxRuntimeDetector implements Detector {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly info: ModelInfo,
    private readonly session: OnnxRuntimeThread,
    private readonly binding: LayoutBinding,
    private readonly spec: native.PreprocessSpec,
    /** the input tensor; its buffer travels to the inference thread and back on every call */
    private inputBuffer: Float32Array,
    private readonly ignore: number[],
  ) {}

  static async open(opts: OnnxBackendOptions): Promise<OnnxRuntimeDetector> {
    const { modelPath } = opts;
    if (!existsSync(modelPath)) throw new ConfigError(`${modelPath}: model file not found (check model.path or -m)`);
    if (statSync(modelPath).isDirectory()) throw new ConfigError(`${modelPath}: is a directory, not a model file (check model.path or -m)`);
    let session: OnnxRuntimeThread;
    try {
      session = await OnnxRuntimeThread.open(modelPath, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(opts.threads && opts.threads > 0 ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : { interOpNumThreads: 1 }),
      });
    } catch (err) {
      throw new ConfigError(`${modelPath}: not a model ONNX Runtime can load (${errorMessage(err).split('\n')[0]}) (use an .onnx SSD model or a TensorRT engine on a Jetson)`);
    }
    if (session.inputNames.length !== 1) {
      throw new ConfigError(`${modelPath}: expected one image input, the model has ${session.inputNames.length} (${session.inputNames.join(', ')})`);
    }
    const inMeta = session.inputMetadata[0];
    const shape = inMeta && inMeta.isTensor ? inMeta.shape ?? [] : [];
    const dim = (i: number, fallback: number | null | undefined): number => {
      const d = shape[i];
      if (typeof d === 'number' && d > 0) return d;
      if (fallback && fallback > 0) return fallback;
      throw new ConfigError(`${modelPath}: input ${session.inputNames[0]} has a dynamic size [${shape.join(',')}] (set model.input.width and model.input.height)`);
    };
    if (shape.length !== 4 || (typeof shape[1] === 'number' && shape[1] !== 3)) {
      throw new ConfigError(`${modelPath}: input ${session.inputNames[0]} has shape [${shape.join(',')}], expected [1,3,H,W] (an NCHW RGB image)`);
    }
    const input = { ...DEFAULT_INPUT, ...(opts.input ?? {}) };
    const height = dim(2, input.height);
    const width = dim(3, input.width);
    const outputs = session.outputMetadata.map((m) => ({ name: m.name, shape: m.isTensor ? m.shape ?? [] : [] }));
    const binding = bindLayout(modelPath, outputs, opts.layout ?? 'auto');
    const numClasses = binding.layout === 'scores_boxes' ? binding.numClasses : null;
    const labels = resolveLabels(modelPath, opts.labels, numClasses);
    if (numClasses !== null && labels.length !== numClasses) {
      throw new ConfigError(`${modelPath}: the model has ${numClasses} classes but ${labels.length} labels were given (fix model.labels or the .labels.txt file)`);
    }
    const info: ModelInfo = {
      path: modelPath,
      backend: 'onnxruntime',
      inputName: session.inputNames[0],
      inputWidth: width,
      inputHeight: height,
      layout: binding.layout,
      outputNames: [...session.outputNames],
      labels,
    };
    const spec: native.PreprocessSpec = { width, height, mean: input.mean, std: input.std, color: input.color, resize: input.resize };
    return new OnnxRuntimeDetector(info, session, binding, spec, new Float32Array(3 * width * height), backgroundIds(labels));
  }

  /** Calls are serialised: the input tensor is reused, never reallocated per frame. */
  infer(frame: Frame, options: DetectOptions): Promise<InferResult> {
    const run = this.chain.then(() => this.inferNow(frame, options));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async inferNow(frame: Frame, options: DetectOptions): Promise<InferResult> {
    const t0 = performance.now();
    const transform = await native.preprocess(frame.data, frame.width, frame.height, this.spec, this.inputBuffer);
    const t1 = performance.now();
    let results: Record<string, OutputTensor>;
    try {
      const reply = await this.session.run(this.info.inputName, this.inputBuffer.buffer as ArrayBuffer, [1, 3, this.spec.height, this.spec.width]);
      this.inputBuffer = new Float32Array(reply.buffer);
      results = reply.outputs;
    } catch (err) {
      const back = (err as { buffer?: ArrayBuffer }).buffer;
      if (back) this.inputBuffer = new Float32Array(back);
      throw new RuntimeFailure(`${this.info.path}: inference failed (${errorMessage(err).split('\n')[0]})`);
    }
    const t2 = performance.now();
    const input = postprocessInput(this.binding, (name) => tensorData(results[name], name));
    const raw = await native.postprocess(input, {
      inputWidth: this.spec.width,
      inputHeight: this.spec.height,
      srcWidth: frame.width,
      srcHeight: frame.height,
      transform,
      threshold: options.threshold,
      nmsIou: options.nmsIou,
      topK: options.topK,
      classes: options.classes,
      ignoreClasses: this.ignore,
    });
    const t3 = performance.now();
    return {
      detections: toDetections(raw, this.info.labels),
      timings: { preprocess_ms: t1 - t0, inference_ms: t2 - t1, postprocess_ms: t3 - t2 },
    };
  }

  async close(): Promise<void> {
    await this.chain;
    await this.session.close();
  }
}
