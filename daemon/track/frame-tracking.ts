/**
 * The tracking step of a camera, frame by frame, as the daemon runs it: which frames the detector
 * sees (detect.interval), the detector's score threshold lowered to the tracker's low-score tail,
 * the tracker's update on detector frames and its prediction on the frames in between, and what is
 * reported of it (tracked boxes at or above detect.threshold, inside the frame, clipped to it).
 * Shared by the camera pipeline (daemon/service/camera-pipeline.ts) and `trt-detect eval --tracks`,
 * so that the evaluation measures exactly what the daemon publishes.
 */
import type { Detection } from '../core/detection.js';
import type { TrackSettings } from '../config/types.js';
import type { DetectOptions } from '../detect/types.js';
import { DEFAULT_TRACKER_OPTIONS, Tracker } from './tracker.js';

/** Whether the detector runs on frame `index` (from 0) with `detect.interval` frames skipped between. */
export function isDetectorFrame(index: number, interval: number): boolean {
  return index % (interval + 1) === 0;
}

/**
 * The detector's score threshold with tracking: it also returns the low-score boxes, which carry a
 * tracked object through an occlusion (ByteTrack's second pass); only tracked ones are reported.
 */
export function trackingThreshold(threshold: number): number {
  return Math.min(threshold, DEFAULT_TRACKER_OPTIONS.lowScore);
}

/**
 * The detector's options with tracking: the low-score tail (trackingThreshold) and, when the
 * tracker matches by appearance, each box's appearance feature, computed in the detector's own
 * native call from the frame's pixels.
 */
export function trackingDetectOptions(options: DetectOptions, track: Pick<TrackSettings, 'appearance'>): DetectOptions {
  return { ...options, threshold: trackingThreshold(options.threshold), appearance: track.appearance };
}

const r2 = (v: number, hi: number): number => Number(Math.min(Math.max(v, 0), hi).toFixed(2));

/** One camera's tracker and the rules of what it reports. */
export class FrameTracking {
  readonly tracker: Tracker;

  /**
   * @param settings cameras.<name>.track
   * @param threshold detect.threshold: the lowest score reported (and the tracker's high score)
   * @param fps the source's frame rate (max_age_seconds is counted in its frames)
   */
  constructor(
    settings: Omit<TrackSettings, 'enabled'>,
    private readonly threshold: number,
    fps: number,
  ) {
    this.tracker = Tracker.fromSeconds(settings.max_age_seconds, fps > 0 ? fps : 25, {
      minHits: settings.min_hits,
      matchIou: settings.match_iou,
      highScore: threshold,
      appearance: settings.appearance,
    });
  }

  /**
   * The tracked detections of frame `index` of a `width`×`height` source: `detections` from the
   * detector on its frames, null on a frame it skipped (the tracks' predicted boxes).
   */
  step(detections: readonly Detection[] | null, index: number, width: number, height: number): Detection[] {
    const tracked = detections ? this.tracker.update(detections, index) : this.tracker.predict(index);
    // a low-score match keeps its track alive through an occlusion, but detect.threshold stays
    // the lowest score reported; a predicted box that left the frame is not one
    const inFrame = tracked.filter(
      (d) => d.score >= this.threshold && d.box.x2 > Math.max(d.box.x1, 0) && d.box.y2 > Math.max(d.box.y1, 0) && d.box.x1 < width && d.box.y1 < height,
    );
    return inFrame.map((d) => ({
      label: d.label,
      class_id: d.class_id,
      score: d.score,
      box: { x1: r2(d.box.x1, width), y1: r2(d.box.y1, height), x2: r2(d.box.x2, width), y2: r2(d.box.y2, height) },
      track_id: d.track_id,
    }));
  }
}
