import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePercent, listSegments, SegmentRecorder, type RecordSettings } from '../../daemon/sinks/recorder.js';
import { CameraOutput } from '../../daemon/sinks/camera-output.js';
import { EncodedStream } from '../../daemon/sinks/encoded-stream.js';
import { silentLogger } from '../../daemon/core/log.js';
import { probeFrames, tempDir } from '../support/videos.js';
import { until } from '../support/mosquitto.js';

const { dir, cleanup } = tempDir('recorder');
afterAll(cleanup);

const DAY = 86_400_000;

/** Lays out segment files `<root>/cam/<day>/<time>.mp4` with the given ages (days). */
function layout(root: string, entries: Array<[string, string, number]>): string[] {
  const now = Date.now();
  return entries.map(([day, time, ageDays]) => {
    const d = join(root, 'cam', day);
    mkdirSync(d, { recursive: true });
    const f = join(d, `${time}.mp4`);
    writeFileSync(f, 'x');
    const t = new Date(now - ageDays * DAY);
    utimesSync(f, t, t);
    return f;
  });
}

function frame(w: number, h: number, k: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let i = 0; i < b.length; i += 3) b[i] = (i + k * 11) & 255;
  return b;
}

/** The daemon's path for a recording camera: frames → one encoder → the recorder (a file source: nothing dropped). */
function recording(settings: RecordSettings, video: { width: number; height: number; fps: number }, diskFree?: (p: string) => Promise<number | null>) {
  const out = new CameraOutput({
    camera: 'cam',
    stream: new EncodedStream('cam'),
    video: { width: video.width, height: video.height, fpsRational: String(video.fps) },
    live: false,
    record: settings,
    rtsp: null,
    logger: silentLogger(),
    diskFree,
  });
  return Object.assign(out, { applyRetention: (now?: number) => (out.recorder as SegmentRecorder).applyRetention(now) });
}

describe('SegmentRecorder retention', () => {
  it('deletes segments older than retain_days, oldest first, and empty day folders', async () => {
    const root = join(dir, 'age');
    const files = layout(root, [
      ['2026-11-01', '10-00-00', 10],
      ['2026-11-01', '10-01-00', 9.9],
      ['2026-11-05', '08-00-00', 6],
      ['2026-11-09', '23-59-00', 1],
    ]);
    const rec = recording({ path: root, segment_seconds: 60, retain_days: 7, min_free_percent: 0 }, { width: 64, height: 48, fps: 10 }, async () => 90);
    const deleted = await rec.applyRetention();
    expect(deleted).toEqual(files.slice(0, 2));
    expect(listSegments(root, 'cam')).toEqual(files.slice(2));
    expect(existsSync(join(root, 'cam', '2026-11-01'))).toBe(false);
  });

  it('deletes the oldest segments while the disk is nearly full, and stops once there is room', async () => {
    const root = join(dir, 'full');
    const files = layout(root, [
      ['2026-11-08', '09-00-00', 0.5],
      ['2026-11-08', '09-01-00', 0.4],
      ['2026-11-08', '10-00-00', 0.3],
      ['2026-11-09', '00-00-00', 0.2],
      ['2026-11-09', '00-01-00', 0.1],
    ]);
    // a disk that gains 10 % per deleted segment: 5 segments → 40 % free
    const simulated = async () => 90 - 10 * listSegments(root, 'cam').length;
    const rec = recording({ path: root, segment_seconds: 60, retain_days: 30, min_free_percent: 65 }, { width: 64, height: 48, fps: 10 }, simulated);
    const deleted = await rec.applyRetention();
    expect(deleted).toEqual(files.slice(0, 3));
    expect(listSegments(root, 'cam')).toEqual(files.slice(3));
  });

  it('never deletes the segment being written', async () => {
    const root = join(dir, 'current');
    const rec = recording({ path: root, segment_seconds: 60, retain_days: 0, min_free_percent: 99 }, { width: 64, height: 48, fps: 10 }, async () => 1);
    // the segment starts once the encoder's first picture is out; ffmpeg creates the file once it has output
    for (let k = 0; !(rec.currentFile && existsSync(rec.currentFile)) && k < 400; k++) {
      await rec.write(frame(64, 48, k), k / 10);
      await new Promise((r) => setTimeout(r, 10));
    }
    const current = rec.currentFile as string;
    expect(existsSync(current)).toBe(true);
    await rec.applyRetention(Date.now() + 10 * DAY);
    expect(existsSync(current)).toBe(true);
    await rec.close();
  });

  it('reads free space from the real file system', async () => {
    const free = await freePercent(dir);
    expect(free).not.toBeNull();
    expect(free as number).toBeGreaterThan(0);
    expect(free as number).toBeLessThanOrEqual(100);
  });
});

describe('SegmentRecorder segments', () => {
  it('record.preset and record.crf reach the encoder: a lower crf makes a bigger file of the same frames', async () => {
    const size = async (name: string, preset: string, crf: number) => {
      const root = join(dir, name);
      const rec = recording(
        { path: root, segment_seconds: 60, retain_days: 7, min_free_percent: 0, preset, crf },
        { width: 64, height: 48, fps: 10 },
        async () => 90,
      );
      for (let k = 0; k < 20; k++) await rec.write(frame(64, 48, k), k / 10);
      await rec.close();
      const [file] = listSegments(root, 'cam');
      expect(probeFrames(file).count).toBe(20);
      return statSync(file).size;
    };
    const fine = await size('crf-10', 'veryfast', 10);
    const coarse = await size('crf-45', 'veryfast', 45);
    expect(fine).toBeGreaterThan(2 * coarse);
    expect(await size('ultrafast', 'ultrafast', 23)).toBeGreaterThan(0);
  });

  it('consecutive segments join without a gap: every frame in exactly one, cut at the first keyframe past segment_seconds', async () => {
    const root = join(dir, 'gapless');
    const rec = recording({ path: root, segment_seconds: 2, retain_days: 7, min_free_percent: 0 }, { width: 64, height: 48, fps: 10 }, async () => 90);
    // a live camera's pts: jittery spacing around 100 ms
    let pts = 0;
    const all: number[] = [];
    for (let k = 0; k < 57; k++) {
      all.push(pts);
      await rec.write(frame(64, 48, k), pts);
      pts += 0.1 + ((k % 3) - 1) * 0.02;
    }
    await rec.close();
    const segs = listSegments(root, 'cam');
    const counts = segs.map((s) => probeFrames(s).count);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(57);
    // the frames each segment should hold: cut at the first keyframe (every 10th frame: one a
    // second at 10 fps) whose pts is segment_seconds past the segment's start
    const expected: number[] = [];
    let start = all[0];
    let n = 0;
    for (const [k, p] of all.entries()) {
      if (k % 10 === 0 && p - start >= 2) {
        expected.push(n);
        n = 0;
        start = p;
      }
      n++;
    }
    expected.push(n);
    expect(counts).toEqual(expected);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    // each segment starts at its own time 0 and keeps the frames' spacing
    const first = probeFrames(segs[1]).pts;
    expect(first[0]).toBeCloseTo(0, 3);
    const k0 = expected[0];
    expect(first[1] - first[0]).toBeCloseTo(all[k0 + 1] - all[k0], 2);
    expect(readdirSync(join(root, 'cam')).length).toBeGreaterThan(0);
  });

  it("a record.path that cannot be made is one clear error at once, not thrown into the camera (under /proc Node's own recursive mkdir never returns)", async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    for (const [root, why] of [
      ['/proc/trt-detect-recordings', '/proc/trt-detect-recordings cannot be created there (ENOENT'],
      [join(blocker, 'rec'), `${blocker} is a file, not a folder`],
    ]) {
      const rec = recording({ path: root, segment_seconds: 60, retain_days: 7, min_free_percent: 0 }, { width: 64, height: 48, fps: 10 }, async () => 90);
      const t0 = Date.now();
      for (let k = 0; k < 3; k++) await rec.write(frame(64, 48, k), k / 10);
      await rec.close();
      expect(rec.error).toContain(`record.path ${root}: cannot create the recordings folder: ${why}`);
      expect(rec.recordingState()).toMatchObject({ recording: false, errors: 1 });
      expect(Date.now() - t0).toBeLessThan(5000);
    }
  });
});

describe('SegmentRecorder on a full disk (a real tmpfs; needs root to mount)', () => {
  const root = join(dir, 'tmpfs');
  mkdirSync(root, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', root]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', ['-l', root]);
  });

  it.skipIf(!mounted)(
    'on ENOSPC deletes the oldest segments, then records again by itself (nobody frees the disk)',
    async () => {
      // an earlier day's segments: 3 x 400 KB, oldest first
      const old = ['10-00-00', '10-01-00', '10-02-00'].map((t) => {
        const d = join(root, 'cam', '2026-11-01');
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, `${t}.mp4`), Buffer.alloc(400 * 1024, 1));
        return join(d, `${t}.mp4`);
      });
      const logger = silentLogger();
      const errors: string[] = [];
      const infos: string[] = [];
      logger.error = ((_obj: unknown, msg?: string) => void errors.push(msg ?? '')) as typeof logger.error;
      logger.info = ((_obj: unknown, msg?: string) => void infos.push(msg ?? '')) as typeof logger.info;
      const rec = new CameraOutput({
        camera: 'cam',
        stream: new EncodedStream('cam'),
        video: { width: 64, height: 48, fpsRational: '10' },
        live: false,
        // one long segment: retention runs at its start (60 % is free then) and after a failure
        record: { path: root, segment_seconds: 3600, retain_days: 3650, min_free_percent: 60 },
        rtsp: null,
        logger,
        recorderTiming: { retryMinMs: 200, retryMaxMs: 400, retentionIntervalMs: 3_600_000 },
      });
      let k = 0;
      for (; k < 30; k++) await rec.write(frame(64, 48, k), k / 10);
      await until(() => (rec.currentFile ? existsSync(rec.currentFile) : false), 10_000, 'the segment');
      expect(old.every((f) => existsSync(f))).toBe(true);
      // something else fills the disk to the last byte
      spawnSync('sh', ['-c', `cat /dev/zero > ${join(root, 'filler')}`]);
      const t0 = Date.now();
      while (Date.now() - t0 < 30_000 && !infos.includes('recording resumed')) {
        await rec.write(frame(64, 48, k), k / 10);
        k++;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(errors.filter((e) => e.startsWith('recording stopped'))).toHaveLength(1);
      expect(errors[0]).toMatch(/No space left on device/);
      expect(infos).toContain('old recordings deleted');
      expect(infos).toContain('recording resumed');
      expect(rec.recordingState()).toMatchObject({ recording: true, error: null, errors: 1 });
      expect(existsSync(old[0])).toBe(false); // the oldest went to make room
      expect(existsSync(join(root, 'filler'))).toBe(true);
      await rec.close();
      // the segments written here play (the one cut by the full disk up to its last fragment, or it was removed)
      for (const s of listSegments(root, 'cam').filter((f) => !old.includes(f))) expect(probeFrames(s).count).toBeGreaterThan(0);
    },
    60_000,
  );
});
