/** One detection in source-frame pixels (SPEC section 4). */
export interface Detection {
  label: string;
  class_id: number;
  score: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}
