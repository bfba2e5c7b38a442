import type * as native from '../native.js';
import type { RawDetection } from '../native.js';
import type { DetectOptions, ModelInfo } from './types.js';
import type { Detection } from '../core/detection.js';
import type { DetectSettings } from '../config/types.js';
import { classIdsFor } from './labels.js';

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

/** Addon output -> detections as published (labels resolved, numbers rounded for the wire). */
export function toDetections(raw: RawDetection[], labels: string[]): Detection[] {
  return raw.map((r) => {
    const d: Detection = {
      label: labels[r.classId] ?? `class_${r.classId}`,
      class_id: r.classId,
      score: round(r.score, 4),
      box: { x1: round(r.x1, 2), y1: round(r.y1, 2), x2: round(r.x2, 2), y2: round(r.y2, 2) },
    };
    if (r.appearance) d.appearance = r.appearance;
    return d;
  });
}

/** The `detect` settings (config keys) that become a backend's options; classes by label or id. */
export type DetectFields = Pick<DetectSettings, 'threshold' | 'nms_iou' | 'top_k'> & { classes: Array<string | number>; drop_group_boxes?: boolean };

/** A config's `detect` settings as a backend's options for this model (class names to ids). */
export function detectOptions(d: DetectFields, info: Pick<ModelInfo, 'labels' | 'ignoreClasses'>): DetectOptions {
  return {
    threshold: d.threshold,
    nmsIou: d.nms_iou,
    topK: d.top_k,
    classes: classIdsFor(d.classes, info.labels, info.ignoreClasses),
    dropGroupBoxes: d.drop_group_boxes ?? true,
  };
}

/** What the addon's draw() needs: one box and its caption per detection. */
export function drawBoxes(detections: Detection[]) {
  return detections.map((d) => ({
    ...d.box,
    classId: d.class_id,
    text: `${d.track_id !== undefined ? `#${d.track_id} ` : ''}${d.label} ${d.score.toFixed(2)}`,
  }));
}

/** A call's detect options and the model's classes as the addon's decode options (no geometry). */
export function decodeOptions(options: DetectOptions, model: { ignoreClasses: number[]; nmsGroups?: number[] }): native.DecodeOptions {
  return {
    threshold: options.threshold,
    nmsIou: options.nmsIou,
    topK: options.topK,
    classes: options.classes,
    ignoreClasses: model.ignoreClasses,
    dropGroupBoxes: options.dropGroupBoxes ?? false,
    ...(model.nmsGroups ? { nmsGroups: model.nmsGroups } : {}),
    ...(options.appearance ? { appearance: true } : {}),
  };
}
