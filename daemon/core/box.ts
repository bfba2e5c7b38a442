/** A box in pixels: x1 < x2, y1 < y2 (the same for detections, tracks and ground truth). */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export function area(b: Box): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union; 0 for boxes that do not overlap or are empty. */
export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  if (inter === 0) return 0;
  return inter / (area(a) + area(b) - inter);
}

/** Share of `b`'s area that lies inside `region` (0 for an empty box). */
export function fractionInside(b: Box, region: Box): number {
  const a = area(b);
  return a > 0 ? intersection(b, region) / a : 0;
}
