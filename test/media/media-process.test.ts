import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getMediaNice, renice, setMediaNice, spawnMedia } from '../../daemon/media/media-process.js';
import { probeVideo } from '../../daemon/media/probe.js';
import { Mp4Writer } from '../../daemon/sinks/mp4-writer.js';
import { FfmpegFileSource } from '../../daemon/sources/ffmpeg-file-source.js';
import { childrenNamed, threadNices } from '../support/proc.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('media-process');
afterAll(cleanup);
afterEach(() => setMediaNice(0));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ffmpeg encoding a synthetic 720p clip with several x264 threads, running until killed. */
function spawnEncoder() {
  return spawnMedia(
    'ffmpeg',
    [
      '-v',
      'error',
      '-nostdin',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1280x720:rate=30',
      '-t',
      '60',
      '-c:v',
      'libx264',
      '-threads',
      '4',
      '-f',
      'null',
      '-',
    ],
    { stdio: 'ignore' },
  );
}

/** Waits until `pid` runs at least `threads` threads (the codec is open). */
async function waitForThreads(pid: number, threads: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (readdirSync(`/proc/${pid}/task`).length < threads) {
    if (Date.now() > until) throw new Error(`ffmpeg ${pid} never started ${threads} threads`);
    await sleep(50);
  }
}

describe.runIf(process.platform === 'linux')('media processes run nicer than the daemon (media.nice)', () => {
  const base = getPriority();

  it('every thread of a spawned encoder, including those its codec starts later, gets the lower priority', async () => {
    setMediaNice(7);
    expect(getMediaNice()).toBe(7);
    const proc = spawnEncoder();
    try {
      await waitForThreads(proc.pid as number, 4);
      const nices = threadNices(proc.pid as number);
      expect(nices.length).toBeGreaterThanOrEqual(4);
      expect(new Set(nices)).toEqual(new Set([Math.min(19, base + 7)]));
      // the daemon itself keeps its priority
      expect(getPriority()).toBe(base);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it("0 leaves them at the daemon's priority; values are clamped to 0..19", async () => {
    setMediaNice(0);
    const proc = spawnEncoder();
    try {
      await waitForThreads(proc.pid as number, 4);
      expect(new Set(threadNices(proc.pid as number))).toEqual(new Set([base]));
    } finally {
      proc.kill('SIGKILL');
    }
    setMediaNice(40);
    expect(getMediaNice()).toBe(19);
    setMediaNice(-3);
    expect(getMediaNice()).toBe(0);
  });

  it('renice of a process that has ended says so instead of throwing', async () => {
    const proc = spawnMedia('ffmpeg', ['-version'], { stdio: 'ignore' });
    await new Promise((r) => proc.on('close', r));
    expect(renice(proc.pid as number, 5)).toBe(false);
  });

  it("a camera's decoder and its recording's encoder both run at the lower priority", async () => {
    setMediaNice(5);
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 640, height: 360, fps: 25, frames: 60 });
    const source = new FfmpegFileSource(clip, await probeVideo(clip));
    const writer = new Mp4Writer(join(dir, 'out.mp4'), { width: 640, height: 360, fps: 25, pixelFormat: 'i420', encoder: 'x264' });
    let seen: number[][] = [];
    let n = 0;
    for await (const frame of source.frames()) {
      await writer.write(frame.data, frame.pts);
      if (++n === 30) seen = childrenNamed(process.pid, 'ffmpeg').map(threadNices);
    }
    await writer.finish();
    // the decoder and the encoder, each with all of its threads at base + 5
    expect(seen.length).toBe(2);
    for (const nices of seen) expect(new Set(nices)).toEqual(new Set([Math.min(19, base + 5)]));
  });
});
