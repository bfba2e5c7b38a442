/**
 * The core of `trt-detect eval`: run a detector over a KITTI-format dataset, compute AP per
 * class and mAP, format the table. No argument parsing, no model loading.
 */
import { performance } from 'node:perf_hooks';
import type { Detector, DetectOptions } from '../detect/types.js';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { readImage, type RgbImage } from '../media/image-io.js';
import { DEFAULT_DIFFICULT_RULE, readKittiDataset, type DifficultRule } from './kitti.js';
import { computeMap, type DetectionImage } from './map.js';

export const DEFAULT_EVAL_THRESHOLD = 0.01;

export interface EvalOptions {
  detect: DetectOptions;
  /** IoU for a match (default 0.5) */
  iou?: number;
  difficult?: DifficultRule;
  /** classes to evaluate; default: the model's labels except "background" (or detect.classes when set) */
  classes?: string[];
  /** images decoded ahead of the one being inferred (default 2) */
  prefetch?: number;
  onImage?: (done: number, total: number) => void;
}

export interface EvalClassReport {
  ap: number | null;
  gt: number;
  tp: number;
  fp: number;
  ignored: number;
  /** highest recall reached at the score threshold */
  recall: number;
}

export interface EvalReport {
  mAP: number | null;
  ap: Record<string, number | null>;
  images: number;
  iou: number;
  threshold: number;
  nms_iou: number;
  /** mean wall time of one detector call (pre-processing + inference + post-processing) */
  ms_per_image: number;
  /** mean of the backend's inference_ms */
  inference_ms: number;
  seconds: number;
  classes: Record<string, EvalClassReport>;
  /** KITTI types that mapped to no evaluated class, with the number of boxes dropped */
  unmapped: Record<string, number>;
  model: string;
  dataset: string;
}

/** The classes eval reports: `detect.classes` ids when set, else every label except background. */
export function evaluatedClasses(labels: string[], classIds: number[]): string[] {
  const pick = classIds.length > 0 ? classIds.map((i) => labels[i]).filter((l): l is string => l !== undefined) : labels;
  const out: string[] = [];
  for (const l of pick) if (l.trim().toLowerCase() !== 'background' && !out.includes(l)) out.push(l);
  return out;
}

/** Runs `detector` on every image of a KITTI-format dataset and computes AP per class and mAP. */
export async function runEval(detector: Detector, datasetDir: string, opts: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const classes = opts.classes ?? evaluatedClasses(detector.info.labels, opts.detect.classes);
  const iou = opts.iou ?? 0.5;
  const dataset = await readKittiDataset(datasetDir, classes, opts.difficult ?? DEFAULT_DIFFICULT_RULE);
  const { samples } = dataset;
  const prefetch = Math.max(0, opts.prefetch ?? 2);

  const pending = new Map<number, Promise<RgbImage>>();
  const load = (i: number): void => {
    if (i >= samples.length) return;
    const p = readImage(samples[i].imagePath);
    p.catch(() => undefined); // awaited below; this only stops an "unhandled rejection" while it waits
    pending.set(i, p);
  };
  for (let i = 0; i <= prefetch; i++) load(i);

  const dets: DetectionImage[] = [];
  let inferMs = 0;
  let inferenceMs = 0;
  for (let i = 0; i < samples.length; i++) {
    const img = await pending.get(i)!;
    pending.delete(i); // let the decoded image go once it is used
    load(i + prefetch + 1);
    const t0 = performance.now();
    let result;
    try {
      result = await detector.infer({ data: img.data, width: img.width, height: img.height, index: i, pts: 0 }, opts.detect);
    } catch (err) {
      if (err instanceof RuntimeFailure || err instanceof ConfigError) throw err;
      throw new RuntimeFailure(`${samples[i].imagePath}: detection failed (${errorMessage(err)})`);
    }
    inferMs += performance.now() - t0;
    inferenceMs += result.timings.inference_ms;
    dets.push({ id: samples[i].id, detections: result.detections.map((d) => ({ label: d.label, score: d.score, box: d.box })) });
    opts.onImage?.(i + 1, samples.length);
  }

  const map = computeMap(dataset.gt, dets, classes, iou);
  const perClass: Record<string, EvalClassReport> = {};
  for (const c of classes) {
    const r = map.classes[c];
    perClass[c] = { ap: r.ap, gt: r.gt, tp: r.tp, fp: r.fp, ignored: r.ignored, recall: r.recall.length ? r.recall[r.recall.length - 1] : 0 };
  }
  const n = samples.length;
  return {
    mAP: map.mAP,
    ap: map.ap,
    images: n,
    iou,
    threshold: opts.detect.threshold,
    nms_iou: opts.detect.nmsIou,
    ms_per_image: n ? inferMs / n : 0,
    inference_ms: n ? inferenceMs / n : 0,
    seconds: (performance.now() - started) / 1000,
    classes: perClass,
    unmapped: dataset.unmapped,
    model: detector.info.path,
    dataset: datasetDir,
  };
}

const fmt = (v: number | null, digits = 3): string => (v === null ? 'n/a' : v.toFixed(digits));

/** The human-readable results table. */
export function formatReport(r: EvalReport): string {
  const names = Object.keys(r.classes);
  const w = Math.max(10, ...names.map((n) => n.length));
  const row = (name: string, ap: string, gt: string, tp: string, fp: string, recall: string): string =>
    `${name.padEnd(w)}  ${ap.padStart(6)}  ${gt.padStart(6)}  ${tp.padStart(6)}  ${fp.padStart(7)}  ${recall.padStart(6)}`;
  const lines = [row('class', 'AP', 'GT', 'TP', 'FP', 'recall')];
  for (const n of names) {
    const c = r.classes[n];
    lines.push(row(n, fmt(c.ap), String(c.gt), String(c.tp), String(c.fp), c.gt ? fmt(c.recall) : '-'));
  }
  const counted = names.filter((n) => r.classes[n].ap !== null).length;
  lines.push(
    `${`mAP@${r.iou}`.padEnd(w)}  ${fmt(r.mAP).padStart(6)}  (${counted} of ${names.length} classes with ground truth; ${r.images} images, ${r.ms_per_image.toFixed(1)} ms/image, threshold ${r.threshold})`,
  );
  const dropped = Object.entries(r.unmapped);
  if (dropped.length) lines.push(`not evaluated (no matching model label): ${dropped.map(([t, k]) => `${t} x${k}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** The --json document: the documented fields first (mAP, ap, images), then the details. */
export function reportJson(r: EvalReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
