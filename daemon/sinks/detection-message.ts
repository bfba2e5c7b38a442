import type { Detection } from '../core/detection.js';
import type { Frame } from '../core/frame.js';

/** The detection message (docs/mqtt.md): one per processed frame. */
export interface DetectionMessage {
  camera: string;
  frame: number;
  pts: number;
  timestamp: string;
  width: number;
  height: number;
  inference_ms: number;
  detections: Detection[];
}

export function detectionMessage(camera: string, frame: Frame, detections: Detection[], inferenceMs: number, when: Date = new Date()): DetectionMessage {
  return {
    camera,
    frame: frame.index,
    pts: Number(frame.pts.toFixed(3)),
    timestamp: when.toISOString(),
    width: frame.width,
    height: frame.height,
    inference_ms: Number(inferenceMs.toFixed(1)),
    detections,
  };
}
