import { mkdirSync, readFileSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Detection } from '../../daemon/core/detection.js';
import { silentLogger } from '../../daemon/core/log.js';
import { SegmentDetections } from '../../daemon/sinks/segment-detections.js';
import { listSegments, SegmentRecorder } from '../../daemon/sinks/recorder.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('segdets');
afterAll(cleanup);

const det = (n: number): Detection[] => [{ label: 'car', class_id: 3, score: 0.9, box: { x1: n, y1: 1, x2: n + 10, y2: 11 }, track_id: 7 }];
const header = (file: string) => ({ camera: 'cam', file, width: 640, height: 480, codec: 'h264' });
const lines = (f: string) =>
  readFileSync(f, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type?: string; pts?: number; frame?: number });

describe('SegmentDetections', () => {
  it("puts each detection in the segment whose span holds its time, whether it comes before or after that segment's packets", async () => {
    const d = new SegmentDetections(silentLogger());
    const a = join(dir, 'a.mp4');
    const b = join(dir, 'b.mp4');
    d.segment(a, 10, header('a.mp4'));
    d.videoStart(a, 0);
    d.packet(10);
    d.add(10, 0, det(0)); // its packet came first
    d.add(10.5, 1, det(1)); // before its packet: waits
    d.add(11.2, 2, det(2)); // waits too
    d.packet(10.5);
    d.packet(11); // a keyframe that starts b
    d.segment(b, 11, header('b.mp4'));
    d.packet(11.5); // b's packets pass 11.2: it is b's
    d.add(11.9, 3, det(3));
    await d.close(); // b's start still unknown: 0
    expect(lines(join(dir, 'a.jsonl'))).toEqual([
      { type: 'segment', camera: 'cam', file: 'a.mp4', width: 640, height: 480, codec: 'h264' },
      expect.objectContaining({ pts: 0, frame: 0 }),
      expect.objectContaining({ pts: 0.5, frame: 1 }),
    ]);
    const inB = lines(join(dir, 'b.jsonl')).slice(1);
    expect(inB.map((l) => [l.frame, l.pts])).toEqual([
      [2, 0.2],
      [3, 0.9],
    ]);
    expect(d.written).toBe(4);
  });

  it("a frame a fraction of a millisecond before a segment's first packet is that packet's picture (Matroska rounds to ms)", async () => {
    const d = new SegmentDetections(silentLogger());
    const a = join(dir, 'r1.mp4');
    const b = join(dir, 'r2.mp4');
    d.segment(a, 0, header('r1.mp4'));
    d.videoStart(a, 0);
    d.packet(0);
    d.packet(1.933);
    d.add(1.9334, 29, det(29));
    d.add(1.9996, 30, det(30)); // its packet is stamped 2.000
    d.segment(b, 2.0, header('r2.mp4'));
    d.videoStart(b, 0);
    d.packet(2.0);
    await d.close();
    expect(
      lines(join(dir, 'r1.jsonl'))
        .slice(1)
        .map((l) => l.frame),
    ).toEqual([29]);
    expect(lines(join(dir, 'r2.jsonl')).slice(1)).toEqual([expect.objectContaining({ frame: 30, pts: 0 })]);
  });

  it("holds a segment's lines until its video's start is known, then writes them at the video's media times", async () => {
    const d = new SegmentDetections(silentLogger());
    const f = join(dir, 'bframes.mp4');
    d.segment(f, 5, header('bframes.mp4'));
    d.packet(6);
    d.add(5, 0, det(0));
    d.add(5.04, 1, det(1));
    await new Promise((r) => setTimeout(r, 100)); // the write stream opens its file
    expect(lines(join(dir, 'bframes.jsonl'))).toHaveLength(1); // the header only, so far
    expect(d.waitsForStart(f)).toBe(true);
    d.videoStart(f, 0.08); // a stream with B-frames: the first picture shown 2 frames late
    d.add(5.08, 2, det(2));
    await d.close();
    expect(
      lines(join(dir, 'bframes.jsonl'))
        .slice(1)
        .map((l) => l.pts),
    ).toEqual([0.08, 0.12, 0.16]);
  });

  it('a detection before any segment, or more waiting than the bound, is dropped and counted', async () => {
    const d = new SegmentDetections(silentLogger());
    d.add(1, 0, det(0));
    for (let i = 0; i < 400; i++) d.add(2 + i, i, []);
    await d.close();
    expect(d.written).toBe(0);
    expect(d.dropped).toBe(401);
  });
});

describe('camera-stream segments on disk', () => {
  it('retention deletes the .raw.mp4 segments of mode both with their detections, and leaves the annotated ones to their own recorder', async () => {
    const root = join(dir, 'ret');
    const day = join(root, 'cam', '2026-11-01');
    mkdirSync(day, { recursive: true });
    const old = new Date(Date.now() - 10 * 86_400_000);
    for (const f of ['10-00-00.mp4', '10-00-00.raw.mp4', '10-00-00.raw.jsonl', '10-01-00-1.raw.mp4', '10-01-00-1.raw.jsonl']) {
      writeFileSync(join(day, f), 'x');
      utimesSync(join(day, f), old, old);
    }
    expect(listSegments(root, 'cam', '.raw').map((f) => f.split('/').pop())).toEqual(['10-00-00.raw.mp4', '10-01-00-1.raw.mp4']);
    expect(listSegments(root, 'cam').map((f) => f.split('/').pop())).toEqual(['10-00-00.mp4']);
    const rec = new SegmentRecorder(
      'cam',
      { path: root, segment_seconds: 60, retain_days: 7, min_free_percent: 0, mode: 'both' },
      silentLogger(),
      async () => 90,
      {},
      'camera',
    );
    const deleted = await rec.applyRetention();
    expect(deleted.map((f) => f.split('/').pop())).toEqual(['10-00-00.raw.mp4', '10-01-00-1.raw.mp4']);
    for (const f of ['10-00-00.raw.jsonl', '10-01-00-1.raw.jsonl']) expect(existsSync(join(day, f))).toBe(false);
    expect(existsSync(join(day, '10-00-00.mp4'))).toBe(true);
    // mode raw: plain names, and the detections go with them
    writeFileSync(join(day, '11-00-00.jsonl'), 'x');
    utimesSync(join(day, '10-00-00.mp4'), old, old);
    const raw = new SegmentRecorder(
      'cam',
      { path: root, segment_seconds: 60, retain_days: 7, min_free_percent: 0, mode: 'raw' },
      silentLogger(),
      async () => 90,
      {},
      'camera',
    );
    writeFileSync(join(day, '10-00-00.jsonl'), 'x');
    expect((await raw.applyRetention()).map((f) => f.split('/').pop())).toEqual(['10-00-00.mp4']);
    expect(existsSync(join(day, '10-00-00.jsonl'))).toBe(false);
  });
});
