import { describe, expect, it } from 'vitest';
import type { Detection } from '../../daemon/core/detection.js';
import { ConfigError } from '../../daemon/core/errors.js';
import { frameBytes, type Frame } from '../../daemon/core/frame.js';
import { silentLogger } from '../../daemon/core/log.js';
import { DEFAULT_EVENTS, DEFAULT_SNAPSHOTS } from '../../daemon/config/config-schema.js';
import type { ZoneSettings } from '../../daemon/config/types.js';
import { CameraEvents } from '../../daemon/events/camera-events.js';
import type { ObjectEvent } from '../../daemon/events/types.js';

const W = 640;
const H = 360;

function setup(zones: Record<string, ZoneSettings> = {}, snapshots = false) {
  const events: ObjectEvent[] = [];
  const counts: Array<[string | null, string, number]> = [];
  // events and counts in the order they were handed out
  const order: string[] = [];
  const ce = new CameraEvents({
    camera: 'cam',
    live: false,
    track: { min_hits: 2, max_age_seconds: 0.5 },
    events: DEFAULT_EVENTS,
    zones,
    filters: {},
    snapshots: { ...DEFAULT_SNAPSHOTS, enabled: snapshots, path: null },
    labels: ['vehicle', 'pedestrian'],
    sinks: () => [
      {
        event: (e) => {
          events.push(e);
          order.push(`${e.type} ${e.after.track_id}`);
        },
        snapshot: () => undefined,
      },
    ],
    counts: () => ({
      count: (_camera, zone, label, value) => {
        counts.push([zone, label, value]);
        if (zone === null) order.push(`${label}=${value}`);
      },
    }),
    logger: silentLogger(),
    now: () => 1000,
  });
  const data = Buffer.alloc(frameBytes('i420', W, H));
  const frame = (index: number): Frame => ({ data, width: W, height: H, index, pts: index / 10, format: 'i420' });
  return { ce, events, counts, order, frame };
}

const det = (track_id: number, x: number, label = 'vehicle'): Detection => ({
  label,
  class_id: 1,
  score: 0.8,
  box: { x1: x, y1: 100, x2: x + 40, y2: 140 },
  track_id,
});

describe('CameraEvents', () => {
  it('counts per label and zone start at 0, follow the objects, and go back to 0 when they end or the camera stops', async () => {
    const right: ZoneSettings = {
      coordinates: [
        [0.5, 0],
        [1, 0],
        [1, 1],
        [0.5, 1],
      ],
      objects: [],
      inertia: 1,
      loitering_seconds: 0,
    };
    const { ce, events, counts, frame } = setup({ right });
    // two vehicles from frame 0 (one on the right), a pedestrian from frame 5; vehicle 1 leaves at frame 10
    for (let f = 0; f < 20; f++) {
      const d: Detection[] = [det(2, 400)];
      if (f < 10) d.push(det(1, 50));
      if (f >= 5) d.push(det(3, 100, 'pedestrian'));
      ce.frame(frame(f), d);
    }
    const of = (zone: string | null, label: string) => counts.filter((c) => c[0] === zone && c[1] === label).map((c) => c[2]);
    expect(of(null, 'vehicle')).toEqual([0, 2, 1]); // 0 at the first frame, 2 once both are events, 1 after vehicle 1 ended
    expect(of(null, 'pedestrian')).toEqual([0, 1]);
    expect(of('right', 'vehicle')).toEqual([0, 1]);
    expect(of('right', 'pedestrian')).toEqual([0]);
    expect(ce.stats()).toMatchObject({ active: 2, followed: 2 });
    await ce.close();
    expect(of(null, 'vehicle').at(-1)).toBe(0);
    expect(of(null, 'pedestrian').at(-1)).toBe(0);
    expect(of('right', 'vehicle').at(-1)).toBe(0);
    expect(events.filter((e) => e.type === 'new')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'end')).toHaveLength(3);
    // stopped: later frames are ignored
    const sent = events.length;
    for (let f = 30; f < 35; f++) ce.frame(frame(f), [det(9, 10)]);
    expect(events).toHaveLength(sent);
    expect(ce.stats().followed).toBe(0);
  });

  it('the counts agree with the order of the events: a frame ends objects before it reports new ones', () => {
    const { ce, order, frame } = setup();
    // vehicle 1 is last seen at frame 4 and ends at frame 10 (max_age 0.5 s); vehicle 4 appears
    // at frame 9 and is reported at frame 10 (min_hits 2): one end and one new in the same frame
    for (let f = 0; f < 12; f++) {
      const d: Detection[] = [];
      if (f < 5) d.push(det(1, 50));
      if (f >= 9) d.push(det(4, 300));
      ce.frame(frame(f), d);
    }
    expect(order.filter((o) => !o.startsWith('pedestrian'))).toEqual(['vehicle=0', 'new 1', 'vehicle=1', 'end 1', 'new 4']);
  });

  it('a zone in pixels outside the frame it sees is a ConfigError naming the key (a live camera of unknown size)', () => {
    const { ce, frame } = setup({
      far: {
        coordinates: [
          [0, 0],
          [1000, 0],
          [0, 200],
        ],
        objects: [],
        inertia: 1,
        loitering_seconds: 0,
      },
    });
    expect(() => ce.frame(frame(0), [])).toThrow(ConfigError);
    expect(() =>
      setup({
        far: {
          coordinates: [
            [0, 0],
            [1000, 0],
            [0, 200],
          ],
          objects: [],
          inertia: 1,
          loitering_seconds: 0,
        },
      }).ce.frame(frame(0), []),
    ).toThrow(/^cameras\.cam\.zones\.far\.coordinates: corner \[1000, 0\] is outside the 640x360 frame/);
  });

  it('an object that ends while its first snapshot is being made: the end waits for it and says has_snapshot', async () => {
    const { ce, events, order, frame } = setup({}, true);
    // a short-lived object: confirmed after 2 frames, gone after 3, ended 0.5 s later; the JPEG
    // encode (a real ffmpeg) is still running when the lifecycle ends it
    for (let f = 0; f < 3; f++) ce.frame(frame(f), [det(1, 100)]);
    for (let f = 3; f < 12; f++) ce.frame(frame(f), []);
    await ce.close();
    const mine = events.filter((e) => e.after.track_id === 1);
    expect(mine.map((e) => e.type)).toEqual(['new', 'end']);
    expect(mine[1].after.has_snapshot).toBe(true);
    expect(mine[1].before).toEqual(mine[0].after);
    // it is counted until its end is sent
    expect(order.filter((o) => !o.startsWith('pedestrian'))).toEqual(['vehicle=0', 'new 1', 'vehicle=1', 'end 1', 'vehicle=0']);
  });
});
