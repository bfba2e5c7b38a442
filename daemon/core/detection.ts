/** One detection in source-frame pixels (docs/mqtt.md). */
export interface Detection {
  label: string;
  class_id: number;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
  /** stable per camera while the object is tracked (cameras.<name>.track) */
  track_id?: number;
}
