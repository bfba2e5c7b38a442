/**
 * The core of `trt-detect eval --tracks`: run the detector and the tracker over a MOTChallenge
 * sequence the way a camera of the daemon does (the same detector options, detect.interval, and
 * the tracking step of daemon/track/frame-tracking.ts that the camera pipeline runs), then score
 * what it would publish against gt/gt.txt: CLEAR-MOT (MOTA, MOTP), the identity metrics (IDF1)
 * and ID switches, per class and over all classes. No argument parsing, no model loading.
 */
import { performance } from 'node:perf_hooks';
import type { Detection } from '../core/detection.js';
import type { Frame } from '../core/frame.js';
import type { TrackSettings } from '../config/types.js';
import type { Detector, DetectOptions } from '../detect/types.js';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { readImage } from '../media/image-io.js';
import { openSource } from '../sources/open-source.js';
import { FrameTracking, isDetectorFrame, trackingDetectOptions } from '../track/frame-tracking.js';
import { dropIgnored, motMetrics, type MotBox, type MotChallengeBox, type MotMetrics } from '../track/mot-metrics.js';
import { MOT_CLASSES, framePath, motClassOf, type MotSequence } from './mot-sequence.js';

/**
 * What is evaluated, by default KITTI's "moderate" difficulty: objects at least 25 px tall and at
 * most partly occluded (half of them visible or more); the rest is ignored on both sides.
 */
export const DEFAULT_MIN_HEIGHT = 25;
export const DEFAULT_MIN_VISIBILITY = 0.5;

export interface TrackEvalOptions {
  /** the detector options of the camera (detect section): threshold is the lowest score reported */
  detect: DetectOptions;
  track: Omit<TrackSettings, 'enabled'>;
  /** detect.interval: frames skipped by the detector between two it sees */
  interval: number;
  /** IoU for a ground-truth box and a tracked box to correspond (default 0.5, as MOTChallenge) */
  iou?: number;
  /** ground truth lower than this (pixels) is ignored, and so are tracked boxes that low matching none (default 25) */
  minHeight?: number;
  /** ground truth less visible than this is ignored (default 0.5) */
  minVisibility?: number;
  onFrame?: (done: number, total: number) => void;
}

/** The counts behind the figures, per class and in all. */
export interface TrackCounts {
  /** ground-truth boxes considered (conf 1) and their distinct objects */
  gt: number;
  gt_objects: number;
  /** tracked boxes evaluated (after those on ignored ground truth are left out) */
  hyp: number;
  matches: number;
  fp: number;
  fn: number;
  id_switches: number;
  /** distinct track ids among the evaluated boxes */
  num_tracks: number;
  /** distinct (object, track) pairs among the matches (mot-metrics.ts object_tracks) */
  object_tracks: number;
  idtp: number;
  idfp: number;
  idfn: number;
  iou_sum: number;
}

export interface TrackFigures extends TrackCounts {
  mota: number | null;
  idf1: number | null;
  motp: number | null;
  precision: number | null;
  recall: number | null;
  idp: number | null;
  idr: number | null;
  /** object_tracks / gt_objects: how many tracks (hence events) an object got, 1 at best */
  tracks_per_object: number | null;
}

export interface TrackEvalReport extends TrackFigures {
  sequence: string;
  frames: number;
  fps: number;
  interval: number;
  /** frames the detector ran on */
  detector_frames: number;
  /** the lowest score reported (detect.threshold) and the detector's own threshold with tracking */
  threshold: number;
  detector_threshold: number;
  track: Omit<TrackSettings, 'enabled'>;
  iou: number;
  min_height: number;
  min_visibility: number;
  /** tracked boxes with a label that stands for no class of the ground truth (e.g. road_sign) */
  not_evaluated: number;
  /** tracked boxes left out because they cover ignored ground truth (conf 0: tiny, hidden, cut off) */
  on_ignored: number;
  ms_per_frame: number;
  track_ms_per_frame: number;
  seconds: number;
  classes: Record<string, TrackFigures>;
  model: string;
  source: string;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** MOTA, IDF1 and the rest from summed counts. */
export function trackFigures(c: TrackCounts): TrackFigures {
  return {
    ...c,
    mota: c.gt > 0 ? 1 - (c.fn + c.fp + c.id_switches) / c.gt : null,
    idf1: ratio(2 * c.idtp, c.gt + c.hyp),
    motp: ratio(c.iou_sum, c.matches),
    precision: ratio(c.matches, c.hyp),
    recall: ratio(c.matches, c.gt),
    idp: ratio(c.idtp, c.hyp),
    idr: ratio(c.idtp, c.gt),
    tracks_per_object: ratio(c.object_tracks, c.gt_objects),
  };
}

function countsOf(m: MotMetrics, gt: readonly MotBox[], hyp: readonly MotBox[]): TrackCounts {
  return {
    gt: m.gt,
    gt_objects: new Set(gt.map((b) => b.id)).size,
    hyp: m.hyp,
    matches: m.matches,
    fp: m.fp,
    fn: m.fn,
    id_switches: m.idsw,
    num_tracks: new Set(hyp.map((b) => b.id)).size,
    object_tracks: m.object_tracks,
    idtp: m.idtp,
    idfp: m.idfp,
    idfn: m.idfn,
    iou_sum: m.iou_sum,
  };
}

function sumCounts(list: TrackCounts[]): TrackCounts {
  const out: TrackCounts = {
    gt: 0,
    gt_objects: 0,
    hyp: 0,
    matches: 0,
    fp: 0,
    fn: 0,
    id_switches: 0,
    num_tracks: 0,
    object_tracks: 0,
    idtp: 0,
    idfp: 0,
    idfn: 0,
    iou_sum: 0,
  };
  for (const c of list) for (const k of Object.keys(out) as (keyof TrackCounts)[]) out[k] += c[k];
  return out;
}

/** The frames of the sequence in order: its clip through the daemon's file source, else its images. */
async function* sequenceFrames(seq: MotSequence): AsyncGenerator<{ frame: Frame; release: () => void }> {
  if (seq.video) {
    const src = await openSource(seq.video, { loop: false });
    try {
      for await (const frame of src.frames()) yield { frame, release: () => src.pool.release(frame.data) };
    } finally {
      src.stop();
    }
    if (src.truncated) throw new RuntimeFailure(`${seq.video}: ${src.truncated}`);
    return;
  }
  for (let n = 1; n <= seq.seqLength; n++) {
    const img = await readImage(framePath(seq, n));
    yield { frame: { data: img.data, width: img.width, height: img.height, index: n - 1, pts: (n - 1) / seq.frameRate }, release: () => undefined };
  }
}

/** Runs detector + tracker over the sequence and scores the tracks against its ground truth. */
export async function runTrackEval(detector: Detector, seq: MotSequence, opts: TrackEvalOptions): Promise<TrackEvalReport> {
  const started = performance.now();
  const iou = opts.iou ?? 0.5;
  const minHeight = opts.minHeight ?? DEFAULT_MIN_HEIGHT;
  const minVisibility = opts.minVisibility ?? DEFAULT_MIN_VISIBILITY;
  const detectOpts: DetectOptions = trackingDetectOptions(opts.detect, opts.track);
  const tracking = new FrameTracking(opts.track, opts.detect.threshold, seq.frameRate);
  const hyp: (MotBox & { cls: number })[] = [];
  let frames = 0;
  let detectorFrames = 0;
  let inferMs = 0;
  let trackMs = 0;
  let notEvaluated = 0;
  for await (const { frame, release } of sequenceFrames(seq)) {
    let reported: Detection[];
    try {
      if (frames >= seq.seqLength) continue; // a clip longer than seqLength: the rest has no ground truth
      if (frame.width !== seq.imWidth || frame.height !== seq.imHeight)
        throw new ConfigError(`${seq.video ?? seq.dir}: frames are ${frame.width}x${frame.height}, seqinfo.ini says ${seq.imWidth}x${seq.imHeight}`);
      let detections: Detection[] | null = null;
      if (isDetectorFrame(frame.index, opts.interval)) {
        const t0 = performance.now();
        try {
          detections = (await detector.infer(frame, detectOpts)).detections;
        } catch (err) {
          if (err instanceof RuntimeFailure || err instanceof ConfigError) throw err;
          throw new RuntimeFailure(`frame ${frame.index + 1}: detection failed (${errorMessage(err)})`);
        }
        inferMs += performance.now() - t0;
        detectorFrames++;
      }
      const t1 = performance.now();
      reported = tracking.step(detections, frame.index, frame.width, frame.height);
      trackMs += performance.now() - t1;
    } finally {
      release();
    }
    for (const d of reported) {
      const cls = motClassOf(d.label);
      if (cls === null || d.track_id === undefined) notEvaluated++;
      else hyp.push({ frame: frame.index + 1, id: d.track_id, box: d.box, cls });
    }
    frames++;
    opts.onFrame?.(frames, seq.seqLength);
  }
  if (frames < seq.seqLength) throw new RuntimeFailure(`${seq.video ?? seq.dir}: ${frames} frames, seqinfo.ini says seqLength=${seq.seqLength}`);

  const perClass: Record<string, TrackFigures> = {};
  const counts: TrackCounts[] = [];
  let onIgnored = 0;
  for (const [k, c] of Object.entries(MOT_CLASSES)) {
    const cls = Number(k);
    const ofClass = seq.gt.filter((b) => b.class === cls);
    const counted = (b: MotChallengeBox): boolean => b.conf !== 0 && b.visibility >= minVisibility && b.box.y2 - b.box.y1 >= minHeight;
    const considered = ofClass.filter(counted);
    const ignored = ofClass.filter((b) => !counted(b));
    const mine = hyp.filter((b) => b.cls === cls);
    const kept = dropIgnored(mine, considered, ignored, iou, minHeight);
    onIgnored += mine.length - kept.length;
    if (considered.length === 0 && kept.length === 0) continue;
    const cc = countsOf(motMetrics(considered, kept, iou), considered, kept);
    counts.push(cc);
    perClass[c.name] = trackFigures(cc);
  }
  const all = trackFigures(sumCounts(counts));
  return {
    ...all,
    sequence: seq.name,
    frames,
    fps: seq.frameRate,
    interval: opts.interval,
    detector_frames: detectorFrames,
    threshold: opts.detect.threshold,
    detector_threshold: detectOpts.threshold,
    track: opts.track,
    iou,
    min_height: minHeight,
    min_visibility: minVisibility,
    not_evaluated: notEvaluated,
    on_ignored: onIgnored,
    ms_per_frame: detectorFrames ? inferMs / detectorFrames : 0,
    track_ms_per_frame: frames ? trackMs / frames : 0,
    seconds: (performance.now() - started) / 1000,
    classes: perClass,
    model: detector.info.path,
    source: seq.video ?? `${seq.dir}/${seq.imDir}`,
  };
}

const fmt = (v: number | null, digits = 3): string => (v === null ? 'n/a' : v.toFixed(digits));

/** The human-readable table: one row per class and one for all. */
export function formatTrackReport(r: TrackEvalReport): string {
  const names = Object.keys(r.classes);
  const w = Math.max(10, ...names.map((n) => n.length));
  const cols = ['MOTA', 'IDF1', 'IDsw', 'MOTP', 'FP', 'FN', 'prec', 'recall', 'GT', 'objects', 'tracks', 'trk/obj'];
  const row = (name: string, cells: string[]): string => `${name.padEnd(w)}  ${cells.map((c, i) => c.padStart(Math.max(6, cols[i].length))).join('  ')}`;
  const cells = (f: TrackFigures): string[] => [
    fmt(f.mota),
    fmt(f.idf1),
    String(f.id_switches),
    fmt(f.motp),
    String(f.fp),
    String(f.fn),
    fmt(f.precision),
    fmt(f.recall),
    String(f.gt),
    String(f.gt_objects),
    String(f.num_tracks),
    fmt(f.tracks_per_object, 2),
  ];
  const lines = [row('class', cols)];
  for (const n of names) lines.push(row(n, cells(r.classes[n])));
  lines.push(row('all', cells(r)));
  lines.push(
    `${r.sequence}: ${r.frames} frames at ${r.fps} fps, interval ${r.interval} (${r.detector_frames} detector frames, ${r.ms_per_frame.toFixed(1)} ms each; tracking ${r.track_ms_per_frame.toFixed(3)} ms/frame), threshold ${r.threshold}, IoU ${r.iou}; objects >= ${r.min_height} px tall, >= ${r.min_visibility} visible`,
  );
  if (r.not_evaluated > 0 || r.on_ignored > 0)
    lines.push(`not scored: ${r.not_evaluated} tracked boxes of other labels, ${r.on_ignored} on ignored ground truth or too small`);
  return `${lines.join('\n')}\n`;
}

/** The --json document: mota, idf1, id_switches first, then the details. */
export function trackReportJson(r: TrackEvalReport): string {
  const { mota, idf1, id_switches, ...rest } = r;
  return `${JSON.stringify({ mota, idf1, id_switches, ...rest }, null, 2)}\n`;
}
