/** One detection in source-frame pixels (SPEC section 4). */
export interface Detection {
  label: string;
  class_id: number;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

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

/**
 * How a frame's bytes are laid out, rows and planes packed: `i420` (planar YUV 4:2:0, BT.601: the Y
 * plane, then U and V at half size each way, rounded up; what ffmpeg's decoders produce and its
 * encoders take, so no colour conversion happens on the way in or out, and half the bytes of RGB),
 * `rgb24` (3 bytes a pixel) or `rgba` (4 bytes, R G B then a byte nobody reads: what the Jetson's
 * nvvidconv and the GStreamer pipelines hand over).
 */
export type PixelFormat = 'rgb24' | 'rgba' | 'i420';

/** Bytes of one width x height frame in `format` (default rgb24). */
export function frameBytes(format: PixelFormat | undefined, width: number, height: number): number {
  if (format === 'i420') return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  return width * height * (format === 'rgba' ? 4 : 3);
}

/** One frame held in a Node Buffer (pixels are only touched by the addon and the encoders). */
export interface Frame {
  /** frameBytes(format, width, height) bytes */
  data: Buffer;
  width: number;
  height: number;
  /** index of the decoded frame from 0 */
  index: number;
  /** presentation time, seconds from the start of the source */
  pts: number;
  /** default rgb24 */
  format?: PixelFormat;
}

export interface DetectOptions {
  threshold: number;
  nmsIou: number;
  /** class ids to keep; empty = all */
  classes: number[];
  topK: number;
  /** drop a box that holds two or more better-scored boxes of its class (default false) */
  dropGroupBoxes?: boolean;
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
