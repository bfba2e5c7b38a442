import { ConfigError } from '../core/errors.js';
import type { NativeLayout } from '../native.js';
import type { OutputLayout } from './types.js';

/** An output tensor as a backend describes it (ONNX Runtime metadata or TensorRT named tensors). */
export interface TensorDesc {
  name: string;
  shape: ReadonlyArray<number | string>;
}

/** Corner order of a scores_boxes model's boxes (`model.box_order`). */
export type BoxOrder = 'xyxy' | 'yxyx';
export type BoxOrderSetting = BoxOrder | 'auto';

/** Which output plays which role in a layout. Shared by every backend. */
export type LayoutBinding =
  | { layout: 'scores_boxes'; scores: string; boxes: string; numBoxes: number; numClasses: number; boxOrder: BoxOrder }
  | { layout: 'nms7'; detections: string; keepCount: string | null; count: number }
  | { layout: 'efficient_nms'; numDets: string; boxes: string; scores: string; classes: string; maxDets: number };

const dims = (t: TensorDesc): number[] => t.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1));
const last = (t: TensorDesc): number => dims(t)[t.shape.length - 1] ?? -1;
const volume = (t: TensorDesc): number => dims(t).reduce((a, b) => a * b, 1);
const named = (outs: TensorDesc[], ...patterns: RegExp[]) => outs.find((o) => patterns.some((p) => p.test(o.name)));

/**
 * TensorFlow SSD exports give boxes as ymin, xmin, ymax, xmax: `auto` takes that order when the
 * boxes tensor's name says so (`boxes_yxyx`, `..._ymin_xmin...`, as the project's converter names
 * it), else x1, y1, x2, y2 (PyTorch SSD exports).
 */
function boxOrderOf(boxes: TensorDesc, setting: BoxOrderSetting): BoxOrder {
  if (setting !== 'auto') return setting;
  return /yxyx|ymin/i.test(boxes.name) ? 'yxyx' : 'xyxy';
}

function bindScoresBoxes(outs: TensorDesc[], boxOrder: BoxOrderSetting = 'auto'): LayoutBinding | null {
  if (outs.length < 2) return null;
  const boxes = named(outs, /^boxes$/i, /box/i, /loc/i) ?? outs.find((o) => o.shape.length === 3 && last(o) === 4);
  const scores =
    named(
      outs.filter((o) => o !== boxes),
      /^scores$/i,
      /score|conf|cls|prob/i,
    ) ?? outs.find((o) => o !== boxes && o.shape.length === 3 && last(o) >= 2);
  if (!boxes || !scores) return null;
  const b = dims(boxes);
  const s = dims(scores);
  if (b.length !== 3 || s.length !== 3 || b[2] !== 4 || s[2] < 2 || b[1] <= 0 || b[1] !== s[1]) return null;
  return { layout: 'scores_boxes', scores: scores.name, boxes: boxes.name, numBoxes: b[1], numClasses: s[2], boxOrder: boxOrderOf(boxes, boxOrder) };
}

function bindNms7(outs: TensorDesc[]): LayoutBinding | null {
  const det = outs.find((o) => last(o) === 7 && o.shape.length === 4 && volume(o) > 0);
  if (!det) return null;
  const keep = outs.find((o) => o !== det && volume(o) === 1) ?? null;
  const d = dims(det);
  return { layout: 'nms7', detections: det.name, keepCount: keep ? keep.name : null, count: d[2] };
}

function bindEfficientNms(outs: TensorDesc[]): LayoutBinding | null {
  if (outs.length < 4) return null;
  const numDets = named(outs, /num_?det/i);
  const boxes = named(outs, /det_?boxes|nmsed_?boxes/i) ?? named(outs, /boxes/i);
  const scores = named(outs, /det_?scores|nmsed_?scores/i) ?? named(outs, /scores/i);
  const classes = named(outs, /det_?classes|nmsed_?classes/i) ?? named(outs, /classes|labels/i);
  if (!numDets || !boxes || !scores || !classes) return null;
  const b = dims(boxes);
  if (b.length !== 3 || b[2] !== 4 || b[1] <= 0) return null;
  return { layout: 'efficient_nms', numDets: numDets.name, boxes: boxes.name, scores: scores.name, classes: classes.name, maxDets: b[1] };
}

const binders: Record<OutputLayout, (o: TensorDesc[], boxOrder: BoxOrderSetting) => LayoutBinding | null> = {
  efficient_nms: bindEfficientNms,
  nms7: bindNms7,
  scores_boxes: bindScoresBoxes,
};

function describe(outs: TensorDesc[]): string {
  return outs.map((o) => `${o.name}[${o.shape.join(',')}]`).join(', ');
}

/**
 * Recognises a model's output layout from tensor names and shapes (`layout: auto`), or checks that
 * the outputs fit the requested one. Throws a ConfigError naming the outputs when nothing fits.
 */
export function bindLayout(modelPath: string, outputs: TensorDesc[], requested: OutputLayout | 'auto', boxOrder: BoxOrderSetting = 'auto'): LayoutBinding {
  if (requested !== 'auto') {
    const b = binders[requested](outputs, boxOrder);
    if (!b) {
      throw new ConfigError(
        `${modelPath}: outputs ${describe(outputs)} do not match model.layout "${requested}" (set model.layout: auto or the model's real layout)`,
      );
    }
    return b;
  }
  for (const layout of ['efficient_nms', 'nms7', 'scores_boxes'] as const) {
    const b = binders[layout](outputs, boxOrder);
    if (b) return b;
  }
  throw new ConfigError(
    `${modelPath}: unsupported model outputs ${describe(outputs)} (expected an SSD with scores_boxes, nms7 or efficient_nms outputs; see README "Models")`,
  );
}

/**
 * The binding as the addon's one-call decode takes it: each role as the index of its tensor in
 * `outputNames` (the order in which the outputs are handed to the addon).
 */
export function nativeLayout(binding: LayoutBinding, outputNames: readonly string[]): NativeLayout {
  const at = (name: string): number => {
    const i = outputNames.indexOf(name);
    if (i < 0) throw new ConfigError(`model output "${name}" is not among the outputs ${outputNames.join(', ')}`);
    return i;
  };
  switch (binding.layout) {
    case 'scores_boxes':
      return {
        layout: 'scores_boxes',
        scores: at(binding.scores),
        boxes: at(binding.boxes),
        numBoxes: binding.numBoxes,
        numClasses: binding.numClasses,
        boxOrder: binding.boxOrder,
      };
    case 'nms7':
      return { layout: 'nms7', detections: at(binding.detections), keepCount: binding.keepCount ? at(binding.keepCount) : null, count: binding.count };
    case 'efficient_nms':
      return { layout: 'efficient_nms', numDets: at(binding.numDets), boxes: at(binding.boxes), scores: at(binding.scores), classes: at(binding.classes) };
  }
}
