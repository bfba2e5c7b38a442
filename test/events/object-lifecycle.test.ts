import { describe, expect, it } from 'vitest';
import type { Detection } from '../../daemon/core/detection.js';
import type { FilterSettings } from '../../daemon/config/types.js';
import { StreamClock } from '../../daemon/events/clock.js';
import { ObjectFilters, median } from '../../daemon/events/filters.js';
import { ObjectLifecycle, type LifecycleOptions } from '../../daemon/events/object-lifecycle.js';
import { StationaryDetector } from '../../daemon/events/stationary.js';
import type { ObjectEvent } from '../../daemon/events/types.js';
import { ZonePresence, insidePolygon, resolveZones } from '../../daemon/events/zones.js';

const W = 640;
const H = 360;
const FPS = 10;

function det(track_id: number, x: number, y: number, score = 0.8, label = 'vehicle', w = 40, h = 30): Detection {
  return { label, class_id: 1, score, box: { x1: x, y1: y, x2: x + w, y2: y + h }, track_id };
}

function lifecycle(more: Partial<LifecycleOptions> = {}, filters: Record<string, FilterSettings> = {}): ObjectLifecycle {
  let n = 0;
  return new ObjectLifecycle({
    camera: 'cam',
    minHits: 3,
    maxAgeSeconds: 1,
    stationarySeconds: 10,
    stationaryIou: 0.6,
    maxObjects: 100,
    zones: [],
    filters: new ObjectFilters(filters, W, H),
    randomId: () => `r${++n}`,
    ...more,
  });
}

/** Runs frames 0..n-1 at FPS with the detections `at(frame)` gives; wall = 1000 + pts. */
function run(l: ObjectLifecycle, n: number, at: (frame: number) => Detection[], from = 0): ObjectEvent[] {
  const out: ObjectEvent[] = [];
  for (let f = from; f < from + n; f++) out.push(...l.update(at(f), f / FPS, 1000 + f / FPS).events);
  return out;
}

const filter = (more: Partial<FilterSettings>): FilterSettings => ({
  min_area: 0,
  max_area: null,
  min_ratio: 0,
  max_ratio: null,
  min_score: 0,
  threshold: 0,
  ...more,
});

describe('object lifecycle', () => {
  it('one new after min_hits frames and one end after max_age; ids match; times are wall times of the frames', () => {
    const l = lifecycle();
    // object 1 seen in frames 0..19, then gone; the camera goes on to frame 40
    const events = run(l, 40, (f) => (f < 20 ? [det(1, 10 + f * 5, 100)] : []));
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'new')).toHaveLength(1);
    expect(types.filter((t) => t === 'end')).toHaveLength(1);
    const created = events.find((e) => e.type === 'new') as ObjectEvent;
    const ended = events.find((e) => e.type === 'end') as ObjectEvent;
    expect(created.after.id).toBe(ended.after.id);
    expect(created.after.id).toBe('1000.000-r1');
    expect(created.before).toEqual(created.after);
    expect(created.after).toMatchObject({ camera: 'cam', label: 'vehicle', track_id: 1, start_time: 1000, end_time: null, frame_time: 1000.2 });
    // new at the 3rd frame it was seen in
    expect(events.indexOf(created)).toBe(0);
    expect(ended.after.end_time).toBeCloseTo(1001.9, 6);
    expect(ended.after.box).toEqual({ x1: 10 + 19 * 5, y1: 100, x2: 50 + 19 * 5, y2: 130 });
    expect(ended.after.area).toBe(1200);
    // end once it was lost for more than max_age (1 s): at frame 30 (pts 3.0 - 1.9 > 1)
    expect(l.active()).toEqual([]);
  });

  it('no event for a track seen fewer than min_hits frames', () => {
    const l = lifecycle();
    const events = run(l, 30, (f) => (f < 2 ? [det(7, 100, 100)] : []));
    expect(events).toEqual([]);
    expect(l.size).toBe(0);
  });

  it('updates only on a change of top score, zones or stationary, at most once a second', () => {
    const l = lifecycle();
    // the score rises every frame for 3 s: updates are throttled to one per second
    const events = run(l, 30, (f) => [det(1, 100 + f * 10, 100, 0.5 + f * 0.01)]);
    const updates = events.filter((e) => e.type === 'update');
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThanOrEqual(3);
    const times = [events[0], ...updates].map((e) => e.after.frame_time);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1 - 1e-9);
    // before is the previous event's after
    expect(updates[0].before).toEqual(events[0].after);
    expect(updates[1].before).toEqual(updates[0].after);
    expect(updates.every((u) => u.after.top_score > u.before.top_score)).toBe(true);
    // a steady score and no zones: the box moves, but nothing a user cares about changes
    const l2 = lifecycle();
    const quiet = run(l2, 50, (f) => [det(1, 100 + f * 10, 100, 0.8)]);
    expect(quiet.map((e) => e.type)).toEqual(['new']);
  });

  it('filters: min_score, area (pixels and fractions), ratio; threshold on the median of the scores', () => {
    const lowScore = lifecycle({}, { vehicle: filter({ min_score: 0.85 }) });
    expect(run(lowScore, 10, () => [det(1, 10, 10, 0.8)])).toEqual([]);
    const small = lifecycle({}, { vehicle: filter({ min_area: 2000 }) });
    expect(run(small, 10, () => [det(1, 10, 10)])).toEqual([]); // 40x30 = 1200 px
    const smallFraction = lifecycle({}, { vehicle: filter({ min_area: 0.01 }) }); // 1 % of 640x360 = 2304 px
    expect(run(smallFraction, 10, () => [det(1, 10, 10)])).toEqual([]);
    const large = lifecycle({}, { vehicle: filter({ max_area: 1000 }) });
    expect(run(large, 10, () => [det(1, 10, 10)])).toEqual([]);
    const wide = lifecycle({}, { vehicle: filter({ max_ratio: 1 }) }); // 40/30 > 1
    expect(run(wide, 10, () => [det(1, 10, 10)])).toEqual([]);
    const otherLabel = lifecycle({}, { pedestrian: filter({ min_score: 0.99 }) });
    expect(run(otherLabel, 10, () => [det(1, 10, 10)]).map((e) => e.type)).toEqual(['new']);
    // median threshold: scores 0.6, 0.6, 0.9, 0.9 -> the median is 0.6 for 3 frames (min_hits), 0.75 at the 4th
    const scores = [0.6, 0.6, 0.9, 0.9, 0.9, 0.9];
    const th = lifecycle({}, { vehicle: filter({ threshold: 0.7 }) });
    const ev = run(th, 6, (f) => [det(1, 10, 10, scores[f])]);
    expect(ev.map((e) => e.type)).toEqual(['new']);
    expect(ev[0].after.frame_time).toBeCloseTo(1000.3, 6);
    expect(ev[0].after.top_score).toBe(0.9);
    expect(median([0.6, 0.6, 0.9, 0.9])).toBe(0.75);
    expect(median([0.6, 0.6, 0.9])).toBe(0.6);
  });

  it('zones: bottom centre inside for inertia frames enters, outside for inertia frames leaves', () => {
    const [zone] = resolveZones(
      'cam',
      {
        gate: {
          coordinates: [
            [0.5, 0],
            [1, 0],
            [1, 1],
            [0.5, 1],
          ],
          objects: [],
          inertia: 3,
          loitering_seconds: 0,
        },
      },
      W,
      H,
    );
    expect(zone.points).toEqual([
      [320, 0],
      [640, 0],
      [640, 360],
      [320, 360],
    ]);
    const l = lifecycle({ zones: [zone] });
    // moves right 10 px a frame from x=205: its centre (x+20) is 315 at frame 9, 325 at frame 10
    const events = run(l, 45, (f) => (f < 30 ? [det(1, 205 + f * 10, 100)] : []));
    const entered = events.find((e) => e.type === 'update' && e.after.current_zones.includes('gate')) as ObjectEvent;
    expect(entered).toBeDefined();
    // inside from frame 10, the 3rd inside frame is 12
    expect(entered.after.frame_time).toBeCloseTo(1001.2, 6);
    expect(entered.before.current_zones).toEqual([]);
    expect(entered.after.entered_zones).toEqual(['gate']);
    const end = events.find((e) => e.type === 'end') as ObjectEvent;
    expect(end.after.entered_zones).toEqual(['gate']);
    // a zone for other labels only does not see vehicles
    const [peds] = resolveZones(
      'cam',
      {
        p: {
          coordinates: [
            [0, 0],
            [640, 0],
            [640, 360],
          ],
          objects: ['pedestrian'],
          inertia: 1,
          loitering_seconds: 0,
        },
      },
      W,
      H,
    );
    const presence = new ZonePresence([peds], 'vehicle');
    presence.update({ x1: 600, y1: 0, x2: 630, y2: 10 }, 0);
    expect(presence.current()).toEqual([]);
    // leaving takes inertia frames outside too
    const p2 = new ZonePresence([zone], 'vehicle');
    const inside = { x1: 400, y1: 0, x2: 420, y2: 10 };
    const outside = { x1: 10, y1: 0, x2: 20, y2: 10 };
    for (let i = 0; i < 3; i++) p2.update(inside, i);
    expect(p2.current()).toEqual(['gate']);
    p2.update(outside, 3);
    p2.update(outside, 4);
    expect(p2.current()).toEqual(['gate']);
    p2.update(outside, 5);
    expect(p2.current()).toEqual([]);
  });

  it('loitering: in a zone for loitering_seconds sets loitering (an update)', () => {
    const [zone] = resolveZones(
      'cam',
      {
        yard: {
          coordinates: [
            [0, 0],
            [640, 0],
            [640, 360],
            [0, 360],
          ],
          objects: [],
          inertia: 1,
          loitering_seconds: 2,
        },
      },
      W,
      H,
    );
    const l = lifecycle({ zones: [zone] });
    const events = run(l, 40, (f) => [det(1, 100 + (f % 2) * 30, 100)]);
    const loiter = events.find((e) => e.after.loitering) as ObjectEvent;
    expect(loiter.type).toBe('update');
    expect(loiter.before.loitering).toBe(false);
    expect(loiter.after.frame_time - loiter.after.start_time).toBeGreaterThanOrEqual(2);
  });

  it('stationary: still for stationary_seconds is stationary, then no updates for score; moving again is an update', () => {
    const l = lifecycle({ stationarySeconds: 2 });
    // still at x=100 for 4 s with a rising score, then moves away
    const events = run(l, 60, (f) => [det(1, f < 40 ? 100 + (f % 2) : 100 + (f - 39) * 40, 100, Math.min(0.95, 0.5 + f * 0.01))]);
    const still = events.find((e) => e.after.stationary) as ObjectEvent;
    expect(still.type).toBe('update');
    expect(still.after.frame_time - still.after.start_time).toBeGreaterThanOrEqual(2);
    const whileStill = events.filter((e) => e.type === 'update' && e.before.stationary && e.after.stationary);
    expect(whileStill).toEqual([]);
    const moved = events.find((e) => e.type === 'update' && e.before.stationary && !e.after.stationary);
    expect(moved).toBeDefined();
    // the detector alone
    const s = new StationaryDetector(1, 0.6);
    expect(s.update({ x1: 0, y1: 0, x2: 10, y2: 10 }, 0)).toBe(false);
    expect(s.update({ x1: 1, y1: 0, x2: 11, y2: 10 }, 0.5)).toBe(false);
    expect(s.update({ x1: 1, y1: 0, x2: 11, y2: 10 }, 1.0)).toBe(true);
    expect(s.update({ x1: 8, y1: 0, x2: 18, y2: 10 }, 1.5)).toBe(false);
  });

  it('endAll ends every reported object; max_objects bounds what is followed', () => {
    const l = lifecycle({ maxObjects: 2 });
    run(l, 5, () => [det(1, 10, 10), det(2, 200, 10), det(3, 400, 10)]);
    expect(l.size).toBe(2);
    expect(l.ignored).toBe(5);
    const last = l.endAll();
    expect(last.events.map((e) => [e.type, e.after.track_id])).toEqual([
      ['end', 1],
      ['end', 2],
    ]);
    expect(last.events.every((e) => e.after.end_time !== null)).toBe(true);
    expect(l.size).toBe(0);
  });
});

describe('zones geometry and config', () => {
  it('point in polygon, pixel polygons checked against the frame', () => {
    const tri: Array<[number, number]> = [
      [0, 0],
      [100, 0],
      [0, 100],
    ];
    expect(insidePolygon(10, 10, tri)).toBe(true);
    expect(insidePolygon(60, 60, tri)).toBe(false);
    expect(() =>
      resolveZones(
        'front',
        {
          z: {
            coordinates: [
              [0, 0],
              [700, 0],
              [0, 100],
            ],
            objects: [],
            inertia: 1,
            loitering_seconds: 0,
          },
        },
        W,
        H,
      ),
    ).toThrow(/^cameras\.front\.zones\.z\.coordinates: corner \[700, 0\] is outside the 640x360 frame/);
  });
});

describe('stream clock', () => {
  it('files: start + pts, never re-anchored; live: re-anchored when pts and the clock part', () => {
    let now = 5000;
    const file = new StreamClock(false, () => now);
    expect(file.wall(0)).toBe(5000);
    now = 5001; // decoded faster than real time: pts 10 s after 1 s
    expect(file.wall(10)).toBe(5010);
    const live = new StreamClock(true, () => now);
    expect(live.wall(2)).toBe(5001);
    now = 5002;
    expect(live.wall(3)).toBe(5002);
    now = 5100; // a reconnect restarted pts
    expect(live.wall(0.5)).toBe(5100);
  });
});
