import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeVideo } from '../../daemon/media/probe.js';
import { FfmpegFileSource } from '../../daemon/sources/ffmpeg-file-source.js';
import { openSource, parseSource } from '../../daemon/sources/open-source.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('source');
afterAll(cleanup);

/** Writes the first half of `full` to cut-<name> and decodes all of it. */
async function decodeFirstHalf(full: string) {
  const cut = join(dir, `cut-${basename(full)}`);
  const bytes = readFileSync(full);
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const src = await openSource(cut);
  let n = 0;
  for await (const f of src.frames()) {
    n++;
    src.pool.release(f.data);
  }
  return { cut, src, n };
}

describe('file source (real ffmpeg)', () => {
  it('realtime: no frame comes before its presentation time, like a camera', async () => {
    // Only a lower bound can be checked without a clock race: a paced frame never arrives early,
    // whatever the load; a busy machine can only make it later. That files are read as fast as
    // they decode when realtime is off is what `trt-detect bench` shows (FPS above the clip's own).
    const file = makeTestVideo(join(dir, 'paced.mp4'), { width: 64, height: 48, fps: 10, frames: 20 });
    const t0 = performance.now(); // before the source exists: load can only make `at` larger
    const src = await openSource(file, { realtime: true });
    const early: string[] = [];
    let n = 0;
    for await (const f of src.frames()) {
      const at = (performance.now() - t0) / 1000;
      if (at < f.pts - 0.05) early.push(`frame ${f.index} at ${at.toFixed(3)} s, pts ${f.pts}`);
      src.pool.release(f.data);
      n++;
    }
    expect(n).toBe(20);
    expect(early).toEqual([]);
  });

  it('decodes every frame in order with its pts, I420 of the right size', async () => {
    const file = makeTestVideo(join(dir, 'a.mp4'), { width: 160, height: 96, fps: 10, frames: 25 });
    const info = await probeVideo(file);
    expect(info).toMatchObject({ width: 160, height: 96, fps: 10, fpsRational: '10/1', frameCount: 25, codec: 'h264' });
    const src = new FfmpegFileSource(file, info);
    const seen: Array<[number, number]> = [];
    for await (const f of src.frames()) {
      expect(f.format).toBe('i420');
      expect(f.data.length).toBe(160 * 96 * 1.5);
      seen.push([f.index, f.pts]);
      src.pool.release(f.data);
    }
    expect(seen.length).toBe(25);
    expect(seen.map((s) => s[0])).toEqual([...Array(25).keys()]);
    seen.forEach(([i, pts]) => expect(pts).toBeCloseTo(i / 10, 3));
    expect(src.truncated).toBeNull();
  });

  it('never drops a frame when the consumer is slow (backpressure)', async () => {
    const file = makeTestVideo(join(dir, 'slow.mp4'), { width: 64, height: 64, fps: 30, frames: 40 });
    const src = await openSource(file);
    let n = 0;
    for await (const f of src.frames()) {
      if (n % 10 === 0) await new Promise((r) => setTimeout(r, 30));
      expect(f.index).toBe(n++);
      src.pool.release(f.data);
    }
    expect(n).toBe(40);
  });

  it('loops a file when asked, with pts continuing', async () => {
    const file = makeTestVideo(join(dir, 'loop.mp4'), { width: 64, height: 48, fps: 10, frames: 5 });
    const src = await openSource(file, { loop: true });
    const pts: number[] = [];
    for await (const f of src.frames()) {
      pts.push(f.pts);
      src.pool.release(f.data);
      if (pts.length === 12) src.stop();
    }
    expect(pts.length).toBe(12);
    pts.forEach((p, i) => expect(p).toBeCloseTo(i / 10, 3));
  });

  it('reads other containers/codecs ffmpeg reads (MPEG-4 in AVI)', async () => {
    const file = makeTestVideo(join(dir, 'b.avi'), { width: 96, height: 64, frames: 7, codec: 'mpeg4' });
    const src = await openSource(`file://${file}`);
    let n = 0;
    for await (const f of src.frames()) {
      n++;
      src.pool.release(f.data);
    }
    expect(n).toBe(7);
  });

  it('gives one clear line for a missing file, a non-video file and an empty file', async () => {
    await expect(openSource(join(dir, 'nope.mp4'))).rejects.toThrow(`${join(dir, 'nope.mp4')}: not found (check the path)`);
    const text = join(dir, 'notes.mp4');
    writeFileSync(text, 'this is not a video\n'.repeat(50));
    await expect(openSource(text)).rejects.toThrow(new RegExp(`^${text}: not a video ffmpeg can read`));
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    await expect(openSource(empty)).rejects.toThrow(/not a video ffmpeg can read/);
  });

  it('delivers the frames of a truncated file and reports the damage', async () => {
    // an MP4 with its index first (what cameras and `-movflags +faststart` write) cut in half:
    // ffmpeg exits 0 after logging the damage; the container's frame count shows what is missing
    const full = join(dir, 'full.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10',
      '-frames:v',
      '60',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      '-y',
      full,
    ]);
    const { cut, src, n } = await decodeFirstHalf(full);
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(60);
    expect(src.truncated).toMatch(new RegExp(`^${cut}: decoding stopped early after ${n} of 60 frames \\(.+\\)$`));
    // the whole file is not damage
    const whole = await openSource(full);
    for await (const f of whole.frames()) whole.pool.release(f.data);
    expect(whole.truncated).toBeNull();
  });

  it('a Matroska file cut short (ffmpeg just ends, no error) is caught by its stated length', async () => {
    const full = makeTestVideo(join(dir, 'full.mkv'), { width: 160, height: 120, fps: 10, frames: 60 });
    const { cut, src, n } = await decodeFirstHalf(full);
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(60);
    expect(src.truncated).toBe(`${cut}: the video ends after ${n} frames (${(n / 10).toFixed(1)} s) but the file says it lasts 6.0 s (cut short?)`);
    // a whole file whose audio outlasts its video is not short
    const av = join(dir, 'av.mkv');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10:duration=3',
      '-f',
      'lavfi',
      '-i',
      'sine=duration=8',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-y',
      av,
    ]);
    const whole = await openSource(av);
    let frames = 0;
    for await (const f of whole.frames()) {
      frames++;
      whole.pool.release(f.data);
    }
    expect(frames).toBe(30);
    expect(whole.truncated).toBeNull();
  });

  it('parses source URIs', () => {
    expect(parseSource('/data/in.mp4')).toEqual({ kind: 'file', target: '/data/in.mp4' });
    expect(parseSource('file:///data/in%20x.mp4')).toEqual({ kind: 'file', target: '/data/in x.mp4' });
    expect(parseSource('rtsp://u:p@192.0.2.10:554/s')).toEqual({ kind: 'rtsp', target: 'rtsp://u:p@192.0.2.10:554/s' });
    expect(parseSource('csi://1')).toEqual({ kind: 'csi', target: '1' });
    expect(parseSource('v4l2:///dev/video2')).toEqual({ kind: 'v4l2', target: '/dev/video2' });
    expect(() => parseSource('rtps://x')).toThrow('source: unsupported scheme "rtps" (expected csi, rtsp, v4l2, file)');
  });
});
