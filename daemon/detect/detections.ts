import type { RawDetection } from '../native.js';
import type { Detection } from './types.js';

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** Addon output -> SPEC detections (labels resolved, numbers rounded for the wire). */
export function toDetections(raw: RawDetection[], labels: string[]): Detection[] {
  return raw.map((r) => ({
    label: labels[r.classId] ?? `class_${r.classId}`,
    class_id: r.classId,
    score: round(r.score, 4),
    box: { x1: round(r.x1, 2), y1: round(r.y1, 2), x2: round(r.x2, 2), y2: round(r.y2, 2) },
  }));
}

/** What the addon's draw() needs: one box and its caption per detection. */
export function drawBoxes(detections: Detection[]) {
  return detections.map((d) => ({ ...d.box, classId: d.class_id, text: `${d.label} ${d.score.toFixed(2)}` }));
}
