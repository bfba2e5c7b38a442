import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mp4Writer } from '../../daemon/sinks/mp4-writer.js';
import { listSegments, segmentPath } from '../../daemon/sinks/recorder.js';
import { CameraOutput } from '../../daemon/sinks/camera-output.js';
import { EncodedStream } from '../../daemon/sinks/encoded-stream.js';
import { silentLogger } from '../../daemon/core/log.js';
import { probeFrames, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('mp4');
afterAll(cleanup);

function gradient(w: number, h: number, k: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) b.fill((i + k * 7) & 255, i * 3, i * 3 + 3);
  return b;
}

describe('Mp4Writer (real ffmpeg)', () => {
  it('writes a fragmented H.264 MP4 with every frame at the given rate', async () => {
    const file = join(dir, 'out.mp4');
    const w = new Mp4Writer(file, { width: 128, height: 72, fps: '30000/1001', atomic: true });
    for (let k = 0; k < 45; k++) await w.write(gradient(128, 72, k));
    expect(existsSync(`${file}.partial`)).toBe(true);
    await w.finish();
    expect(existsSync(`${file}.partial`)).toBe(false);
    const p = probeFrames(file);
    expect(p).toMatchObject({ count: 45, width: 128, height: 72, fps: '30000/1001' });
    p.pts.forEach((t, i) => expect(t).toBeCloseTo((i * 1001) / 30000, 3));
  });

  it("keeps every frame's own time: a variable rate, a gap, a first frame later than 0", async () => {
    // as a live camera that dropped frames, or a phone video, gives them (source seconds)
    const pts = [10, 10.04, 10.08, 10.12, 10.68, 10.72, 10.76, 11.5, 11.54, 11.6];
    // x264: one ffmpeg; stream: the Jetson's path (a stream encoder, here libx264, then muxing)
    for (const [timescale, name, encoder] of [
      [12800, 'vfr-12800.mp4', 'x264'],
      [null, 'vfr-default.mp4', 'x264'],
      [12800, 'vfr-stream.mp4', 'stream'],
    ] as const) {
      const file = join(dir, name);
      const w = new Mp4Writer(file, { width: 64, height: 48, fps: 25, timescale, encoder });
      for (const [k, t] of pts.entries()) await w.write(gradient(64, 48, k), t);
      await w.finish();
      const p = probeFrames(file);
      expect(p.count, name).toBe(pts.length);
      // the file starts at its first frame; each frame where the source had it
      p.pts.forEach((t, i) => expect(t).toBeCloseTo(pts[i] - pts[0], 5));
    }
  });

  it('RGBA frames with their times too', async () => {
    const file = join(dir, 'rgba-times.mp4');
    const w = new Mp4Writer(file, { width: 64, height: 48, fps: 10, pixelFormat: 'rgba', encoder: 'x264' });
    for (const t of [0, 0.1, 0.5, 0.6]) await w.write(Buffer.alloc(64 * 48 * 4, 128), t);
    await w.finish();
    expect(probeFrames(file).pts).toEqual([0, 0.1, 0.5, 0.6]);
  });

  it("I420 frames (the ffmpeg sources' layout) go in as they are: the planes come back out, times kept", async () => {
    const W = 64;
    const H = 48;
    // Y a horizontal ramp, U and V two flat values: what ffmpeg decodes equals what went in, give or take the encoder's loss
    const frame = Buffer.alloc(W * H * 1.5);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) frame[y * W + x] = 32 + x * 3;
    frame.fill(90, W * H, W * H * 1.25);
    frame.fill(200, W * H * 1.25);
    for (const encoder of ['x264', 'stream'] as const) {
      const file = join(dir, `i420-${encoder}.mp4`);
      const w = new Mp4Writer(file, { width: W, height: H, fps: 10, pixelFormat: 'i420', encoder });
      for (const t of [0, 0.1, 0.5, 0.6]) await w.write(frame, t);
      await w.finish();
      expect(probeFrames(file).pts, encoder).toEqual([0, 0.1, 0.5, 0.6]);
      const out = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);
      expect(out.length).toBe(frame.length);
      let worst = 0;
      for (let i = 0; i < frame.length; i++) worst = Math.max(worst, Math.abs(out[i] - frame[i]));
      expect(worst, encoder).toBeLessThanOrEqual(6);
    }
  });

  it('an aborted atomic write leaves nothing behind', async () => {
    const file = join(dir, 'aborted.mp4');
    const w = new Mp4Writer(file, { width: 64, height: 64, fps: 10, atomic: true });
    await w.write(gradient(64, 64, 0));
    await w.abort();
    expect(readdirSync(dir).filter((f) => f.startsWith('aborted'))).toEqual([]);
  });
});

describe('SegmentRecorder', () => {
  it('names segments <path>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4', () => {
    expect(segmentPath('/rec', 'front', new Date(2026, 10, 23, 9, 5, 7))).toBe('/rec/front/2026-11-23/09-05-07.mp4');
  });

  it('cuts consecutive segments by source time with no frame lost', async () => {
    const root = join(dir, 'rec');
    const rec = new CameraOutput({
      camera: 'cam',
      stream: new EncodedStream('cam'),
      video: { width: 64, height: 48, fpsRational: '10' },
      live: false,
      record: { path: root, segment_seconds: 1, retain_days: 7, min_free_percent: 0 },
      rtsp: null,
      logger: silentLogger(),
    });
    for (let k = 0; k < 25; k++) await rec.write(gradient(64, 48, k), k / 10);
    await rec.close();
    const segs = listSegments(root, 'cam');
    expect(segs.length).toBe(3);
    expect(segs.map((s) => probeFrames(s).count)).toEqual([10, 10, 5]);
  });
});
