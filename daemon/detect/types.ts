import type { Detection } from '../core/detection.js';
import type { Frame } from '../core/frame.js';

export type OutputLayout = 'scores_boxes' | 'nms7' | 'efficient_nms';

/** What a backend reports about the model it opened. */
export interface ModelInfo {
  path: string;
  backend: 'onnxruntime' | 'tensorrt';
  /** fixed input shape, batch 1, NCHW */
  inputName: string;
  inputWidth: number;
  inputHeight: number;
  layout: OutputLayout;
  outputNames: string[];
  /** the reported label per class id (model.label_map applied) */
  labels: string[];
  /** the model's own label per class id */
  modelLabels: string[];
  /** class ids never reported: background, and labels model.label_map drops */
  ignoreClasses: number[];
  /** NMS group per class id (classes reported under one label suppress each other); default each class alone */
  nmsGroups?: number[];
  /** ONNX Runtime's intra-op threads as asked for (0: its own default, one per physical core); absent for TensorRT */
  threads?: number;
}

export interface DetectOptions {
  threshold: number;
  nmsIou: number;
  /** class ids to keep; empty = all */
  classes: number[];
  topK: number;
  /** drop a box that holds two or more better-scored boxes of its class (default false) */
  dropGroupBoxes?: boolean;
  /** each detection also gets its appearance feature (for the tracker; default false) */
  appearance?: boolean;
}

export interface InferResult {
  detections: Detection[];
  timings: { preprocess_ms: number; inference_ms: number; postprocess_ms: number };
}

/** A detector backend: fixed input shape, named outputs, batch 1, async infer. */
export interface Detector {
  readonly info: ModelInfo;
  infer(frame: Frame, options: DetectOptions): Promise<InferResult>;
  close(): Promise<void>;
}
