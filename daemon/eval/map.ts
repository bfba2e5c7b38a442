import { fractionInside, iou as iouOf, type Box } from '../core/box.js';

/**
 * Mean average precision (VOC 2010+ all-point interpolation). Pure functions, no I/O.
 *
 * Matching, per class, detections taken by score across all images (ties keep input order):
 *  1. the unmatched, non-difficult ground truth box of the same class in the same image with the
 *     highest IoU >= `iou` -> true positive (that box is now matched);
 *  2. else a difficult box of the same class with IoU >= `iou` -> ignored (neither TP nor FP;
 *     difficult boxes may absorb any number of detections, as in VOC);
 *  3. else more than half of the detection's area inside one ignore region (KITTI DontCare)
 *     -> ignored;
 *  4. else false positive (this includes a second detection on an already matched box).
 * Difficult boxes never count as ground truth (missing them is not a false negative).
 */

export interface GroundTruthBox {
  label: string;
  box: Box;
  /** ignored like VOC "difficult": matching it is neither TP nor FP, missing it is no FN */
  difficult?: boolean;
}

export interface GroundTruthImage {
  id: string;
  boxes: GroundTruthBox[];
  /** ignore regions (KITTI DontCare): detections mostly inside them are neither TP nor FP */
  ignore?: Box[];
}

export interface ScoredBox {
  label: string;
  score: number;
  box: Box;
}

export interface DetectionImage {
  id: string;
  detections: ScoredBox[];
}

export interface ClassResult {
  /** all-point interpolated AP; null when the class has no (non-difficult) ground truth */
  ap: number | null;
  /** non-difficult ground truth boxes */
  gt: number;
  tp: number;
  fp: number;
  /** detections matched to difficult boxes or inside ignore regions */
  ignored: number;
  /** precision/recall after each counted detection, in score order */
  precision: number[];
  recall: number[];
}

export interface MapResult {
  /** mean of the APs of the classes with ground truth; null when no class has any */
  mAP: number | null;
  /** per class AP, null for classes without ground truth (left out of the mean) */
  ap: Record<string, number | null>;
  classes: Record<string, ClassResult>;
  iou: number;
}

/**
 * VOC 2010+ AP: make precision monotone non-increasing from the right (the envelope), then sum
 * the area under it at every recall change.
 */
export function averagePrecision(recall: number[], precision: number[]): number {
  const mrec = [0, ...recall, 1];
  const mpre = [0, ...precision, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 1; i < mrec.length; i++) {
    if (mrec[i] !== mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  }
  return ap;
}

interface PendingDetection {
  image: number;
  score: number;
  box: Box;
  order: number;
}

function evaluateClass(cls: string, gt: GroundTruthImage[], dets: DetectionImage[], imageIndex: Map<string, number>, iou: number): ClassResult {
  const boxesPerImage = gt.map((img) => img.boxes.filter((b) => b.label === cls));
  const matched = boxesPerImage.map((boxes) => boxes.map(() => false));
  const npos = boxesPerImage.reduce((n, boxes) => n + boxes.filter((b) => !b.difficult).length, 0);

  const pending: PendingDetection[] = [];
  let order = 0;
  for (const img of dets) {
    const image = imageIndex.get(img.id);
    for (const d of img.detections) {
      if (d.label !== cls) continue;
      // a detection on an image without ground truth entry can only be a false positive
      pending.push({ image: image ?? -1, score: d.score, box: d.box, order: order++ });
    }
  }
  pending.sort((a, b) => b.score - a.score || a.order - b.order);

  let tp = 0;
  let fp = 0;
  let ignored = 0;
  const precision: number[] = [];
  const recall: number[] = [];
  for (const d of pending) {
    const boxes = d.image >= 0 ? boxesPerImage[d.image] : [];
    let best = -1;
    let bestIou = -1;
    let onDifficult = false;
    for (let j = 0; j < boxes.length; j++) {
      const o = iouOf(d.box, boxes[j].box);
      if (o < iou) continue;
      if (boxes[j].difficult) {
        onDifficult = true;
      } else if (!matched[d.image][j] && o > bestIou) {
        best = j;
        bestIou = o;
      }
    }
    if (best >= 0) {
      matched[d.image][best] = true;
      tp++;
    } else if (onDifficult) {
      ignored++;
      continue;
    } else if (d.image >= 0 && (gt[d.image].ignore ?? []).some((r) => fractionInside(d.box, r) > 0.5)) {
      ignored++;
      continue;
    } else {
      fp++;
    }
    precision.push(tp / (tp + fp));
    recall.push(npos > 0 ? tp / npos : 0);
  }
  return { ap: npos > 0 ? averagePrecision(recall, precision) : null, gt: npos, tp, fp, ignored, precision, recall };
}

/**
 * Per class AP at IoU `iou` (default 0.5) and their mean over the classes that have ground truth.
 * Images are matched by `id`; labels are compared exactly (map them to `classes` beforehand).
 */
export function computeMap(gt: GroundTruthImage[], dets: DetectionImage[], classes: string[], iou = 0.5): MapResult {
  const imageIndex = new Map<string, number>();
  gt.forEach((img, i) => imageIndex.set(img.id, i));
  const ap: Record<string, number | null> = {};
  const perClass: Record<string, ClassResult> = {};
  const counted: number[] = [];
  for (const cls of classes) {
    if (cls in perClass) continue;
    const r = evaluateClass(cls, gt, dets, imageIndex, iou);
    perClass[cls] = r;
    ap[cls] = r.ap;
    if (r.ap !== null) counted.push(r.ap);
  }
  const mAP = counted.length > 0 ? counted.reduce((s, v) => s + v, 0) / counted.length : null;
  return { mAP, ap, classes: perClass, iou };
}
