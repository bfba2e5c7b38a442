/**
 * Multi-object tracking by detection, in the manner of ByteTrack (Zhang et al., 2022): each
 * track's box is predicted by a Kalman filter, detections are matched to the predictions by IoU
 * with the Hungarian algorithm, high-score detections first and then low-score ones to the tracks
 * left over, so an object that is partly hidden (and detected with a low score) keeps its track;
 * a track lost for a few frames is taken up again at a lower IoU, so an object coming out from
 * behind another keeps its id.
 * One tracker per camera; it only sees detections and frame numbers, never pixels.
 */
import type { Detection } from '../core/detection.js';
import { assign } from './hungarian.js';
import { iou } from '../core/box.js';
import { BoxKalman } from './kalman.js';
import type { Box } from '../core/box.js';

export interface TrackerOptions {
  /** the least IoU between a track's predicted box and a detection for them to be matched */
  matchIou: number;
  /** detections at or above this score are matched first and may start tracks */
  highScore: number;
  /** detections from this score up to highScore only keep existing tracks going; below, ignored */
  lowScore: number;
  /**
   * the least IoU for a low-score detection to keep a track going (ByteTrack's second association
   * uses 0.5): a low-score box is mostly a partly hidden object, often beside another one, and
   * at matchIou it carries tracks over to the neighbour
   */
  lowMatchIou: number;
  /** consecutive matched frames before a new track is confirmed and gets an id */
  minHits: number;
  /** a track not matched for more than this many frames is removed */
  maxAgeFrames: number;
  /**
   * the least IoU for a lost track (not matched at the last update) to be taken up again by a
   * high-score detection that no track took at matchIou: its predicted box drifts while the
   * object is unseen, and without this the object would come back under a new id
   */
  lostMatchIou: number;
  /**
   * use the detections' appearance features (Detection.appearance) where both sides have one: a
   * pair less similar than minAppearance (dot product of the features, 0..1) is never matched, and
   * among the allowed pairs the cost is 1 − IoU + appearanceWeight · (1 − similarity)
   */
  appearance: boolean;
  minAppearance: number;
  appearanceWeight: number;
  /** a track's feature follows its matched high-score detections: new = m · old + (1 − m) · seen */
  featureMomentum: number;

  /**
   * re-identification: a lost track may be taken up by a high-score detection left over that
   * overlaps its predicted box not at all, when their features are at least this similar and the
   * detection's centre is within reidDistance box heights of the predicted one (1 = off)
   */
  reidAppearance: number;
  reidDistance: number;
}

export const DEFAULT_TRACKER_OPTIONS: Readonly<TrackerOptions> = {
  matchIou: 0.3,
  highScore: 0.5,
  lowScore: 0.2,
  lowMatchIou: 0.5,
  minHits: 3,
  maxAgeFrames: 30,
  lostMatchIou: 0.1,
  appearance: true,
  minAppearance: 0.5,
  appearanceWeight: 5,
  featureMomentum: 0.9,
  reidAppearance: 0.9,
  reidDistance: 1.5,
};

/** A detection of this frame that belongs to a confirmed track. */
export type TrackedDetection = Detection & { track_id: number };

/** A confirmed track's box predicted for a frame the detector skipped (score: its last one). */
export type TrackedBox = TrackedDetection;

/** A confirmed track, for the events layer. */
export interface TrackInfo {
  id: number;
  label: string;
  class_id: number;
  /** the filtered box at the last update */
  box: Box;
  /** the last matched detection's score, and the highest so far */
  score: number;
  top_score: number;
  /** frames matched in all */
  hits: number;
  /** frames from the first to the last match (0 for a track seen once) */
  age: number;
  first_frame: number;
  last_frame: number;
  /** frames since the last match, up to the last update (0: matched then) */
  missed: number;
}

interface Track {
  /** 0 while tentative: ids are given at confirmation, so tentative tracks that die use none */
  id: number;
  label: string;
  class_id: number;
  kf: BoxKalman;
  /** the frame the filter's state is at */
  stateFrame: number;
  score: number;
  topScore: number;
  hits: number;
  /** consecutive matched updates */
  streak: number;
  firstFrame: number;
  lastFrame: number;
  /** the appearance feature (unit length), null until a detection with one was matched */
  feature: Float32Array | null;
  /** the last matched detection's box (re-identification looks for the object near it too) */
  lastBox: Box;
}

/** The dot product of two appearance features: their similarity, 0..1 for unit-length histograms. */
export function similarity(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

export class Tracker {
  readonly options: Readonly<TrackerOptions>;
  /** the confirmed tracks removed by the last update (not matched for more than maxAgeFrames) */
  ended: TrackInfo[] = [];
  private tracks: Track[] = [];
  private nextId = 1;
  private updates = 0;
  private lastUpdateFrame = -Infinity;

  constructor(options: Partial<TrackerOptions> = {}) {
    this.options = { ...DEFAULT_TRACKER_OPTIONS, ...options };
  }

  /** A tracker that forgets a track after `maxAgeSeconds` without a match at `fps` frames per second. */
  static fromSeconds(maxAgeSeconds: number, fps: number, options: Partial<Omit<TrackerOptions, 'maxAgeFrames'>> = {}): Tracker {
    if (!(fps > 0)) throw new Error(`tracker: fps must be above 0, not ${fps}`);
    return new Tracker({ ...options, maxAgeFrames: Math.max(1, Math.round(maxAgeSeconds * fps)) });
  }

  /**
   * Takes the detections of frame `frameIndex` (frame numbers increase; frames in between are
   * ones the detector skipped) and returns those that belong to confirmed tracks, with their ids,
   * in the order given.
   */
  update(detections: readonly Detection[], frameIndex: number): TrackedDetection[] {
    const o = this.options;
    this.updates++;
    this.ended = [];
    const previous = this.lastUpdateFrame;
    for (const t of this.tracks) {
      // a lost track's height stops changing (ByteTrack): a box shrinking or growing unseen would
      // never match again
      if (t.lastFrame < previous) t.kf.mean[7] = 0;
      t.kf.predict(frameIndex - t.stateFrame);
      t.stateFrame = frameIndex;
    }
    const high: number[] = [];
    const low: number[] = [];
    detections.forEach((d, i) => {
      if (d.score >= o.highScore) high.push(i);
      else if (d.score >= o.lowScore) low.push(i);
    });
    const confirmed = this.tracks.filter((t) => t.id !== 0);
    const tentative = this.tracks.filter((t) => t.id === 0);
    const matched = new Map<Track, number>();

    // 1. high-score detections to the confirmed tracks, lost ones included
    const first = this.match(confirmed, high, detections, matched);
    // 2. low-score detections to the confirmed tracks left over that were matched at the last
    //    update (ByteTrack), at lowMatchIou: a low score keeps a visible object's track going
    //    through an occlusion, but is not trusted to bring back a track already lost
    this.match(
      first.tracks.filter((t) => t.lastFrame === previous),
      low,
      detections,
      matched,
      o.lowMatchIou,
    );
    // 3. the high-score detections left over to the lost tracks at the lower lostMatchIou
    //    (re-activation within maxAgeFrames: the object keeps its id after an occlusion)
    const lost = first.tracks.filter((t) => !matched.has(t) && t.lastFrame < previous);
    let rest =
      o.lostMatchIou < o.matchIou ? this.match(lost, first.detections, detections, matched, o.lostMatchIou) : { tracks: lost, detections: first.detections };
    // 3b. the lost tracks left over to the high-score detections left over by appearance, near
    //     where they were lost (re-identification: the object was hidden longer than its
    //     predicted box stays on it)
    if (o.appearance && o.reidAppearance < 1) rest = this.reidentify(rest.tracks, rest.detections, detections, matched);
    // 4. the high-score detections left over to the tentative tracks
    const third = this.match(tentative, rest.detections, detections, matched);

    const early = this.updates <= o.minHits; // the stream's first frames: confirm at once (ByteTrack)
    const out: (TrackedDetection | undefined)[] = new Array<TrackedDetection | undefined>(detections.length);
    for (const [t, i] of matched) {
      const d = detections[i];
      t.kf.update(d.box);
      this.observed(t, d);
      t.score = d.score;
      t.topScore = Math.max(t.topScore, d.score);
      t.hits++;
      t.streak = t.lastFrame === previous ? t.streak + 1 : 1;
      t.lastFrame = frameIndex;
      if (t.id === 0 && (t.streak >= o.minHits || early)) t.id = this.nextId++;
      if (t.id !== 0) out[i] = { ...d, track_id: t.id };
    }
    // unmatched tracks: a tentative one dies at once (its run of consecutive hits is broken),
    // a confirmed one after maxAgeFrames
    this.tracks = this.tracks.filter((t) => {
      if (matched.has(t)) return true;
      t.streak = 0;
      if (t.id === 0) return false;
      if (frameIndex - t.lastFrame <= o.maxAgeFrames) return true;
      this.ended.push(this.info(t, frameIndex));
      return false;
    });
    // new tentative tracks from the high-score detections nobody took
    for (const i of third.detections) {
      const d = detections[i];
      const t: Track = {
        id: 0,
        label: d.label,
        class_id: d.class_id,
        kf: new BoxKalman(d.box),
        stateFrame: frameIndex,
        score: d.score,
        topScore: d.score,
        hits: 1,
        streak: 1,
        firstFrame: frameIndex,
        lastFrame: frameIndex,
        feature: o.appearance && d.appearance ? Float32Array.from(d.appearance) : null,
        lastBox: d.box,
      };
      if (o.minHits <= 1 || early) {
        t.id = this.nextId++;
        out[i] = { ...d, track_id: t.id };
      }
      this.tracks.push(t);
    }
    this.lastUpdateFrame = frameIndex;
    return out.filter((d): d is TrackedDetection => d !== undefined);
  }

  /**
   * The predicted boxes at `frameIndex` (a frame the detector skipped) of the confirmed tracks
   * matched at the last update, so that skipped frames show boxes that move with the objects.
   * Tracks already lost are left out: their boxes would drift on where nothing is seen.
   * Changes nothing: the next update predicts from the last one.
   */
  predict(frameIndex: number): TrackedBox[] {
    const out: TrackedBox[] = [];
    for (const t of this.tracks) {
      if (t.id === 0 || t.lastFrame !== this.lastUpdateFrame) continue;
      out.push({ label: t.label, class_id: t.class_id, score: t.score, box: t.kf.peek(frameIndex - t.stateFrame), track_id: t.id });
    }
    return out;
  }

  /** The confirmed tracks, lost ones (not yet removed) included. */
  activeTracks(): TrackInfo[] {
    return this.tracks.filter((t) => t.id !== 0).map((t) => this.info(t, this.lastUpdateFrame));
  }

  private info(t: Track, frame: number): TrackInfo {
    return {
      id: t.id,
      label: t.label,
      class_id: t.class_id,
      box: t.kf.box(),
      score: t.score,
      top_score: t.topScore,
      hits: t.hits,
      age: t.lastFrame - t.firstFrame,
      first_frame: t.firstFrame,
      last_frame: t.lastFrame,
      missed: frame - t.lastFrame,
    };
  }

  /** After a match: the box as last observed, and the feature following the detection's. */
  private observed(t: Track, d: Detection): void {
    const o = this.options;
    t.lastBox = d.box;
    // a low-score box is mostly a partly hidden one: its pixels are partly the object in front
    if (!o.appearance || !d.appearance || d.score < o.highScore) return;
    if (!t.feature) {
      t.feature = Float32Array.from(d.appearance);
      return;
    }
    const f = t.feature;
    const m = o.featureMomentum;
    let norm = 0;
    for (let k = 0; k < f.length; k++) {
      f[k] = m * f[k] + (1 - m) * d.appearance[k];
      norm += f[k] * f[k];
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let k = 0; k < f.length; k++) f[k] *= scale;
    }
  }

  /**
   * Re-identification (step 3b of update): lost tracks to detections by appearance alone, same
   * class, a similar height, the detection's centre within reidDistance heights of the track's
   * predicted or last observed box; the most similar pairs first (at least reidAppearance).
   */
  private reidentify(
    tracks: Track[],
    indices: number[],
    detections: readonly Detection[],
    matched: Map<Track, number>,
  ): { tracks: Track[]; detections: number[] } {
    const o = this.options;
    const candidates = tracks.filter((t) => t.feature !== null);
    if (candidates.length === 0 || indices.length === 0) return { tracks, detections: indices };
    const centre = (b: Box): [number, number] => [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2];
    const cost = candidates.map((t) => {
      const predicted = t.kf.box();
      const h = Math.max(t.lastBox.y2 - t.lastBox.y1, 1);
      const [px, py] = centre(predicted);
      const [lx, ly] = centre(t.lastBox);
      return indices.map((i) => {
        const d = detections[i];
        if (d.class_id !== t.class_id || !d.appearance || !t.feature) return Infinity;
        const dh = (d.box.y2 - d.box.y1) / h;
        if (dh < 2 / 3 || dh > 1.5) return Infinity;
        const [x, y] = centre(d.box);
        if (Math.min(Math.hypot(x - px, y - py), Math.hypot(x - lx, y - ly)) > o.reidDistance * h) return Infinity;
        return 1 - similarity(t.feature, d.appearance);
      });
    });
    const takenTracks = new Set<Track>();
    const takenDets = new Set<number>();
    for (const [r, c] of assign(cost, 1 - o.reidAppearance)) {
      matched.set(candidates[r], indices[c]);
      takenTracks.add(candidates[r]);
      takenDets.add(c);
    }
    return { tracks: tracks.filter((t) => !takenTracks.has(t)), detections: indices.filter((_, c) => !takenDets.has(c)) };
  }

  /**
   * Matches the given detections (indices) to the tracks by IoU between each track's predicted
   * box and the detection, same class only, IoU at least minIou (default matchIou); with
   * appearance, also a feature similarity of at least minAppearance where both have a feature,
   * and the cost then counts the dissimilarity too. Records the pairs in `matched` and returns
   * what is left of both.
   */
  private match(
    tracks: Track[],
    indices: number[],
    detections: readonly Detection[],
    matched: Map<Track, number>,
    minIou = this.options.matchIou,
  ): { tracks: Track[]; detections: number[] } {
    if (tracks.length === 0 || indices.length === 0) return { tracks, detections: indices };
    const o = this.options;
    const w = o.appearance ? o.appearanceWeight : 0;
    const boxes = tracks.map((t) => t.kf.box());
    const cost = tracks.map((t, r) =>
      indices.map((i) => {
        const d = detections[i];
        if (d.class_id !== t.class_id) return Infinity;
        const overlap = iou(boxes[r], d.box);
        if (overlap < minIou) return Infinity;
        if (!o.appearance || !t.feature || !d.appearance) return 1 - overlap;
        const sim = similarity(t.feature, d.appearance);
        return sim < o.minAppearance ? Infinity : 1 - overlap + w * (1 - sim);
      }),
    );
    const takenTracks = new Set<number>();
    const takenDets = new Set<number>();
    for (const [r, c] of assign(cost, 1 - minIou + w * (1 - o.minAppearance))) {
      matched.set(tracks[r], indices[c]);
      takenTracks.add(r);
      takenDets.add(c);
    }
    return { tracks: tracks.filter((_, r) => !takenTracks.has(r)), detections: indices.filter((_, c) => !takenDets.has(c)) };
  }
}
