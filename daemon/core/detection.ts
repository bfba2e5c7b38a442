import type { Box } from './box.js';

/** One detection in source-frame pixels (docs/mqtt.md). */
export interface Detection {
  label: string;
  class_id: number;
  score: number;
  box: Box;
  /** stable per camera while the object is tracked (cameras.<name>.track) */
  track_id?: number;
  /**
   * the box's colour feature, when the detector was asked for it (DetectOptions.appearance): for
   * the tracker only, never published (the tracking step reports detections without it)
   */
  appearance?: Float32Array;
}
