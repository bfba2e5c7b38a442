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
  labels: string[];
}

/**
 * How a frame's bytes are laid out, rows packed: `rgb24` (3 bytes a pixel, what ffmpeg and the
 * software GStreamer pipelines hand over) or `rgba` (4 bytes, R G B then a byte nobody reads: what
 * the Jetson's nvvidconv hands over, so no CPU color conversion is needed on the way in or out).
 */
export type PixelFormat = 'rgb24' | 'rgba';

export function bytesPerPixel(format: PixelFormat | undefined): 3 | 4 {
  return format === 'rgba' ? 4 : 3;
}

/** One frame held in a Node Buffer (pixels are only touched by the addon and the encoders). */
export interface Frame {
  /** width * height * bytesPerPixel(format) bytes */
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
