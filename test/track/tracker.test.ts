import { describe, expect, it } from 'vitest';
import type { Detection } from '../../daemon/core/detection.js';
import { benchTracker } from '../../daemon/track/bench-tracker.js';
import { trackingDetectOptions } from '../../daemon/track/frame-tracking.js';
import { Tracker, similarity, type TrackedDetection } from '../../daemon/track/tracker.js';

/** a 40×80 person whose top-left corner is at (x, y) */
const person = (x: number, y: number, score = 0.9): Detection => ({ label: 'person', class_id: 1, score, box: { x1: x, y1: y, x2: x + 40, y2: y + 80 } });

/** an appearance feature of one colour above and one below (bins `top` and 64 + `bottom`), unit length */
const colours = (top: number, bottom = top): Float32Array => {
  const f = new Float32Array(128);
  f[top] = Math.SQRT1_2;
  f[64 + bottom] = Math.SQRT1_2;
  return f;
};
const dressed = (d: Detection, f: Float32Array): Detection => ({ ...d, appearance: f });

/** the id given to the detection whose box starts at y (the tests tell objects apart by y) */
const idAt = (out: TrackedDetection[], y: number) => out.find((d) => d.box.y1 === y)?.track_id;

describe('Tracker', () => {
  it('two objects crossing paths keep their ids', () => {
    const tracker = new Tracker();
    const ids: [number | undefined, number | undefined][] = [];
    for (let f = 0; f < 40; f++) {
      // A goes right, B goes left 10 px lower, 15 px per frame: they pass each other between frames
      // 13 and 14. Matched against last frame's boxes (no prediction) each detection then overlaps
      // the other object's box more (IoU 0.78) than its own (0.45) and the ids would swap
      const out = tracker.update([person(15 * f, 100), person(400 - 15 * f, 110)], f);
      ids.push([idAt(out, 100), idAt(out, 110)]);
    }
    expect(ids[0]).toEqual([1, 2]);
    for (const pair of ids) expect(pair).toEqual([1, 2]);
  });

  it('an object missed for 5 frames (below maxAge) keeps its id, and is not reported meanwhile', () => {
    const tracker = new Tracker();
    const reported: (number | undefined)[] = [];
    for (let f = 0; f < 30; f++) {
      const missing = f >= 10 && f < 15;
      const out = tracker.update(missing ? [] : [person(50 + 5 * f, 200)], f);
      reported.push(out[0]?.track_id);
      if (missing) expect(tracker.activeTracks().map((t) => [t.id, t.missed])).toEqual([[1, f - 9]]);
    }
    expect(reported.slice(0, 10)).toEqual(new Array(10).fill(1));
    expect(reported.slice(10, 15)).toEqual(new Array(5).fill(undefined));
    expect(reported.slice(15)).toEqual(new Array(15).fill(1));
    expect(tracker.ended).toEqual([]);
  });

  it('a track not matched for more than maxAgeFrames ends, is listed in `ended` once, and its object comes back with a new id', () => {
    const tracker = new Tracker({ maxAgeFrames: 5 });
    for (let f = 0; f < 10; f++) tracker.update([person(100, 100)], f);
    for (let f = 10; f < 15; f++) {
      tracker.update([], f);
      expect(tracker.ended).toEqual([]); // 1..5 frames missed: still there
    }
    tracker.update([], 15); // 6 frames without a match: gone
    expect(tracker.ended.map((t) => [t.id, t.first_frame, t.last_frame, t.hits])).toEqual([[1, 0, 9, 10]]);
    expect(tracker.activeTracks()).toEqual([]);
    tracker.update([], 16);
    expect(tracker.ended).toEqual([]);
    // it comes back: a new track, tentative for 2 frames, then id 2
    const out = [17, 18, 19].map((f) => tracker.update([person(100, 100)], f)[0]?.track_id);
    expect(out).toEqual([undefined, undefined, 2]);
  });

  it('a low-score detection keeps a track going only at lowMatchIou', () => {
    // still at x = 100, then a low-score box 16 px to the right: IoU (40 − 16) / (40 + 16) = 0.43,
    // above matchIou 0.3 but under lowMatchIou 0.5 (the default): a neighbour's partial box
    const run = (lowMatchIou?: number) => {
      const tracker = new Tracker(lowMatchIou === undefined ? {} : { lowMatchIou });
      for (let f = 0; f < 5; f++) tracker.update([person(100, 100)], f);
      return tracker.update([person(116, 100, 0.3)], 5)[0]?.track_id;
    };
    expect(run()).toBeUndefined();
    expect(run(0.3)).toBe(1);
  });

  it('a lost track is taken up again at lostMatchIou when its object comes back off its predicted path', () => {
    // still for 10 frames at x = 100, then unseen for 4 frames; it comes back 24 px to the right:
    // IoU with the predicted box (velocity ~0, still at 100) = (40 − 24)·80 / ((40 + 24)·80) = 0.25,
    // under matchIou 0.3 but above lostMatchIou 0.1
    const run = (lostMatchIou: number) => {
      const tracker = new Tracker({ lostMatchIou });
      for (let f = 0; f < 10; f++) tracker.update([person(100, 100)], f);
      for (let f = 10; f < 14; f++) tracker.update([], f);
      return [14, 15, 16].map((f) => tracker.update([person(124, 100)], f)[0]?.track_id);
    };
    expect(run(0.1)).toEqual([1, 1, 1]);
    // without it (lostMatchIou = matchIou): a new tentative track, confirmed as id 2 after min_hits
    expect(run(0.3)).toEqual([undefined, undefined, 2]);
    // an active track (matched at the last update) is not matched that loosely: a detection
    // 24 px off in the frame after is a new object
    const tracker = new Tracker();
    for (let f = 0; f < 10; f++) tracker.update([person(100, 100)], f);
    expect(tracker.update([person(124, 100)], 10)).toEqual([]);
  });

  it('with appearance, a detection of other colours where a lost object was is another object', () => {
    // A (red above, blue below) stands at x = 100 for 10 frames, is unseen for 3, then a box of
    // other colours (no colour in common: similarity 0) is detected at the same place: the IoU
    // alone would give it A's id
    const run = (appearance: boolean) => {
      const tracker = new Tracker({ appearance });
      for (let f = 0; f < 10; f++) tracker.update([dressed(person(100, 100), colours(23, 13))], f);
      for (let f = 10; f < 13; f++) tracker.update([], f);
      return [13, 14, 15].map((f) => tracker.update([dressed(person(102, 100), colours(5, 40))], f)[0]?.track_id);
    };
    expect(similarity(colours(23, 13), colours(5, 40))).toBe(0);
    expect(run(true)).toEqual([undefined, undefined, 2]);
    expect(run(false)).toEqual([1, 1, 1]);
    // the same colours come back: the same object
    const tracker = new Tracker();
    for (let f = 0; f < 10; f++) tracker.update([dressed(person(100, 100), colours(23, 13))], f);
    for (let f = 10; f < 13; f++) tracker.update([], f);
    expect(tracker.update([dressed(person(102, 100), colours(23, 13))], 13)[0]?.track_id).toBe(1);
  });

  it('re-identification: an object that stopped while hidden comes back under its id, found by its colours', () => {
    // A walks right 10 px a frame for 10 frames (last box x = 90..130), is unseen for 10 frames
    // while its predicted box walks on (to about x = 190 and beyond: no overlap), and reappears
    // at x = 110, where it stopped: 20 px from its last box's centre, within 1.5 heights
    const run = (top: number, appearance = true) => {
      const tracker = new Tracker({ appearance });
      for (let f = 0; f < 10; f++) tracker.update([dressed(person(10 * f, 100), colours(23, 13))], f);
      for (let f = 10; f < 20; f++) tracker.update([], f);
      return [20, 21, 22].map((f) => tracker.update([dressed(person(110, 100), colours(top, 13))], f)[0]?.track_id);
    };
    expect(run(23)).toEqual([1, 1, 1]);
    // without appearance, or with other colours above (similarity 0.5, under reidAppearance 0.9):
    // a new object
    expect(run(23, false)).toEqual([undefined, undefined, 2]);
    expect(run(5)).toEqual([undefined, undefined, 2]);
  });

  it("a track's feature follows its high-score detections, not its low-score ones", () => {
    // momentum 0.5: after A (bins 23 above, 13 below) is seen once in bins 5/13 at a high score,
    // its feature is (23: 0.41, 5: 0.41, 13: 0.82), similarity 0.87 with A's own colours. Had the
    // low-score box of frame 5 (bins 5/13: partly hidden, partly another's pixels) counted too,
    // it would be (23: 0.21, 5: 0.58, 13: 0.79), similarity 0.71. Seen through re-identification
    // at reidAppearance 0.8: A comes back 45 px off (no overlap) after 3 frames unseen
    const run = (lowScore: number) => {
      const tracker = new Tracker({ featureMomentum: 0.5, minAppearance: 0.4, reidAppearance: 0.8 });
      for (let f = 0; f < 5; f++) tracker.update([dressed(person(100, 100), colours(23, 13))], f);
      expect(tracker.update([dressed(person(100, 100, lowScore), colours(5, 13))], 5)[0]?.track_id).toBe(1);
      expect(tracker.update([dressed(person(100, 100), colours(5, 13))], 6)[0]?.track_id).toBe(1);
      for (let f = 7; f < 10; f++) tracker.update([], f);
      return tracker.update([dressed(person(145, 100), colours(23, 13))], 10)[0]?.track_id;
    };
    expect(run(0.3)).toBe(1);
    // the same with the frame-5 box at a high score: it counts, and A is not recognised
    expect(run(0.9)).toBeUndefined();
  });

  it('low-score detections during an occlusion longer than maxAge keep the track alive (second pass)', () => {
    const tracker = new Tracker({ maxAgeFrames: 30 });
    const reported: (number | undefined)[] = [];
    for (let f = 0; f < 70; f++) {
      // 0.9 for 10 frames, 0.3 (partly hidden) for 40, then 0.9 again
      const score = f >= 10 && f < 50 ? 0.3 : 0.9;
      reported.push(tracker.update([person(20 + 3 * f, 300, score)], f)[0]?.track_id);
    }
    // without the second pass the track would miss 40 frames, end, and come back as id 2
    expect(reported).toEqual(new Array(70).fill(1));
  });

  it('low-score detections never start a track, nor revive a lost one', () => {
    const tracker = new Tracker();
    for (let f = 0; f < 10; f++) expect(tracker.update([person(300, 300, 0.3)], f)).toEqual([]);
    expect(tracker.activeTracks()).toEqual([]);
    // a confirmed track, lost for 2 frames, then only low-score detections: not brought back
    for (let f = 10; f < 20; f++) tracker.update([person(100, 100)], f);
    tracker.update([], 20);
    tracker.update([], 21);
    expect(tracker.update([person(100, 100, 0.3)], 22)).toEqual([]);
    expect(tracker.update([person(100, 100, 0.9)], 23).map((d) => d.track_id)).toEqual([1]);
  });

  it('a one-frame (or two-frame) false positive never gets an id, and uses none up', () => {
    const tracker = new Tracker(); // minHits 3
    const seen = new Set<number>();
    for (let f = 0; f < 20; f++) {
      const dets = [person(100 + 2 * f, 100)];
      if (f === 8) dets.push(person(600, 400)); // one frame
      if (f === 12 || f === 13) dets.push(person(800, 400)); // two frames
      for (const d of tracker.update(dets, f)) {
        seen.add(d.track_id);
        expect(d.box.y1).toBe(100);
      }
    }
    expect([...seen]).toEqual([1]);
    // the next real object gets id 2: the false positives took none
    const ids = [20, 21, 22].map((f) => tracker.update([person(100 + 2 * f, 100), person(600, 400)], f).map((d) => d.track_id));
    expect(ids).toEqual([[1], [1], [1, 2]]);
  });

  it('in the first minHits frames of the stream tracks are confirmed at once (ByteTrack)', () => {
    const tracker = new Tracker();
    expect(tracker.update([person(0, 0), person(200, 0)], 0).map((d) => d.track_id)).toEqual([1, 2]);
    expect(tracker.update([person(0, 0), person(200, 0), person(400, 0)], 1).map((d) => d.track_id)).toEqual([1, 2, 3]);
  });

  it('ids are never reused: objects that come and go get 1, 2, 3, … in order', () => {
    const tracker = new Tracker({ maxAgeFrames: 2 });
    const ids: number[] = [];
    let f = 0;
    for (let k = 0; k < 6; k++) {
      // the same place each time, so only the ending (not the position) can separate them
      for (let i = 0; i < 5; i++) for (const d of tracker.update([person(100, 100)], f++)) ids.push(d.track_id);
      for (let i = 0; i < 4; i++) tracker.update([], f++);
    }
    expect([...new Set(ids)]).toEqual([1, 2, 3, 4, 5, 6]);
    // ids never go back
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]);
  });

  it('another class at the same place is another track', () => {
    const tracker = new Tracker();
    for (let f = 0; f < 5; f++) tracker.update([person(100, 100)], f);
    const car: Detection = { label: 'car', class_id: 3, score: 0.9, box: { x1: 100, y1: 100, x2: 140, y2: 180 } };
    expect(tracker.update([car], 5)).toEqual([]); // tentative, not track 1
    expect(tracker.activeTracks().map((t) => [t.id, t.label, t.missed])).toEqual([[1, 'person', 1]]);
  });

  it('predict() on skipped frames moves the boxes along the velocity', () => {
    const tracker = new Tracker();
    const speed = 6; // px per frame
    // the detector sees every third frame
    for (let f = 0; f <= 60; f += 3) tracker.update([person(speed * f, 200)], f);
    for (const skipped of [61, 62]) {
      const boxes = tracker.predict(skipped);
      expect(boxes).toHaveLength(1);
      expect(boxes[0]).toMatchObject({ track_id: 1, label: 'person', class_id: 1, score: 0.9 });
      // where the object really is, within 1 px, not a copy of frame 60's box (6 or 12 px behind)
      expect(Math.abs(boxes[0].box.x1 - speed * skipped)).toBeLessThan(1);
      expect(Math.abs(boxes[0].box.y1 - 200)).toBeLessThan(0.5);
    }
    // predict changes nothing: the next update matches as before
    expect(tracker.update([person(speed * 63, 200)], 63).map((d) => d.track_id)).toEqual([1]);
  });

  it('predict() leaves out tentative and lost tracks', () => {
    const tracker = new Tracker();
    for (let f = 0; f < 5; f++) tracker.update([person(100, 100)], f);
    tracker.update([person(100, 100), person(500, 500)], 5); // the second is tentative
    expect(tracker.predict(6).map((b) => b.track_id)).toEqual([1]);
    tracker.update([], 7); // track 1 lost
    expect(tracker.predict(8)).toEqual([]);
  });

  it('activeTracks reports score, top score, hits, age and frames', () => {
    const tracker = new Tracker();
    const scores = [0.6, 0.95, 0.7, 0.4];
    scores.forEach((s, f) => tracker.update([person(100, 100, s)], 10 + f));
    const [t] = tracker.activeTracks();
    expect(t).toMatchObject({ id: 1, label: 'person', class_id: 1, score: 0.4, top_score: 0.95, hits: 4, age: 3, first_frame: 10, last_frame: 13, missed: 0 });
    expect(t.box.x1).toBeCloseTo(100, 3);
  });

  it('fromSeconds: maxAgeFrames from seconds and fps', () => {
    expect(Tracker.fromSeconds(2, 15).options).toMatchObject({ maxAgeFrames: 30, matchIou: 0.3, highScore: 0.5, lowScore: 0.2, lowMatchIou: 0.5, minHits: 3 });
    expect(Tracker.fromSeconds(1.5, 25, { minHits: 2 }).options).toMatchObject({ maxAgeFrames: 38, minHits: 2 });
    expect(() => Tracker.fromSeconds(1, 0)).toThrow(/fps/);
  });

  it('trackingDetectOptions: the low-score tail, and appearance features when track.appearance is on', () => {
    const base = { threshold: 0.4, nmsIou: 0.45, classes: [], topK: 200 };
    expect(trackingDetectOptions(base, { appearance: true })).toEqual({ ...base, threshold: 0.2, appearance: true });
    expect(trackingDetectOptions({ ...base, threshold: 0.05 }, { appearance: false })).toEqual({ ...base, threshold: 0.05, appearance: false });
  });

  it('benchTracker returns a mean time per update (no assertion on its size)', () => {
    const ms = benchTracker(10, 20);
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThan(0);
  });
});
