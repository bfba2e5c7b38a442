/**
 * The web UI's reading of a camera-stream segment's detections file (web/src/detections.ts): the
 * header's frame size, lines in pts order, a last line cut short while written, the line drawn at
 * a media time (at or before it, within 1.5 steps), and the picture's rectangle under
 * object-fit: contain.
 */
import { describe, expect, it } from 'vitest';
import { caption, classColour, frameAt, parseDetections, videoRect } from '../../web/src/detections.js';

const header = '{"type":"segment","camera":"front","file":"14-00-00.raw.mp4","width":1920,"height":1080,"codec":"h264"}';
const line = (pts: number, boxes: string) => `{"pts":${pts},"frame":${Math.round(pts * 25)},"detections":[${boxes}]}`;
const car = '{"label":"car","class_id":3,"score":0.91,"box":[100,200,300,400],"track_id":5}';

describe('detections of a camera-stream segment', () => {
  it('parses the header and the frames, skipping what does not parse', () => {
    const text = [header, line(0, car), line(0.04, ''), 'garbage', line(0.08, car), '{"pts":0.12,"frame":3,"detec'].join('\n');
    const d = parseDetections(text);
    expect([d.width, d.height]).toEqual([1920, 1080]);
    expect(d.frames.map((f) => [f.pts, f.boxes.length])).toEqual([
      [0, 1],
      [0.04, 0],
      [0.08, 1],
    ]);
    expect(d.frames[0].boxes[0]).toEqual({ label: 'car', class_id: 3, score: 0.91, x1: 100, y1: 200, x2: 300, y2: 400, track_id: 5 });
    expect(d.step).toBeCloseTo(0.04, 6);
    // MQTT's box shape is read too; no track id without tracking; a box that is no box is dropped
    const other = parseDetections(
      [line(1, '{"label":"bus","class_id":5,"score":0.5,"box":{"x1":1,"y1":2,"x2":3,"y2":4}}'), line(1.5, '{"label":"x","box":[1,2,3]}')].join('\n'),
    );
    expect([other.width, other.height]).toEqual([null, null]);
    expect(other.frames[0].boxes).toEqual([{ label: 'bus', class_id: 5, score: 0.5, x1: 1, y1: 2, x2: 3, y2: 4 }]);
    expect(other.frames[1].boxes).toEqual([]);
    expect(caption(other.frames[0].boxes[0])).toBe('bus 0.50');
    expect(caption(d.frames[0].boxes[0])).toBe('#5 car 0.91');
    expect(parseDetections('').frames).toEqual([]);
  });

  it('draws the line at or before the media time, within 1.5 steps, else nothing', () => {
    // detector frames every 0.2 s (detect.interval 4 at 25 fps), a gap between 0.4 and 2.0
    const d = parseDetections([header, line(0, car), line(0.2, car), line(0.4, ''), line(2, car), line(2.2, car)].join('\n'));
    expect(d.step).toBeCloseTo(0.2, 6);
    expect(frameAt(d, -0.1)).toBeNull();
    expect(frameAt(d, 0)?.pts).toBe(0);
    expect(frameAt(d, 0.1999)?.pts).toBe(0.2); // rounding of the media time
    expect(frameAt(d, 0.35)?.pts).toBe(0.2);
    expect(frameAt(d, 0.45)?.boxes).toEqual([]); // a frame without detections clears the boxes
    expect(frameAt(d, 0.69)?.pts).toBe(0.4);
    expect(frameAt(d, 0.75)).toBeNull(); // nothing detected for longer than 1.5 steps
    expect(frameAt(d, 2.1)?.pts).toBe(2);
    expect(frameAt(d, 9)).toBeNull();
  });

  it('places the picture inside the element as object-fit: contain does', () => {
    expect(videoRect(1600, 900, 1920, 1080)).toEqual({ x: 0, y: 0, w: 1600, h: 900 });
    expect(videoRect(1600, 900, 640, 480)).toEqual({ x: 200, y: 0, w: 1200, h: 900 }); // pillarbox
    expect(videoRect(800, 800, 1920, 1080)).toEqual({ x: 0, y: 175, w: 800, h: 450 }); // letterbox
    expect(videoRect(800, 450, 0, 0)).toEqual({ x: 0, y: 0, w: 800, h: 450 }); // no metadata yet
    expect(classColour(1)).toEqual([60, 180, 75]); // native/src/osd.cc kPalette
    expect(classColour(13)).toEqual(classColour(1));
  });
});
