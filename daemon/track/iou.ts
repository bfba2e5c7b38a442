import type { Detection } from '../core/detection.js';

/** Intersection over union of two boxes (x1, y1, x2, y2 in pixels); 0 for empty boxes. */
export function iou(a: Detection['box'], b: Detection['box']): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}
