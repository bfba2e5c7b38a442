import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frameBytes, type Frame } from '../../daemon/core/frame.js';
import { silentLogger } from '../../daemon/core/log.js';
import { sweepSnapshots } from '../../daemon/events/snapshot-retention.js';
import { copyLimit, MAX_COPY_BYTES, Snapshotter, type SnapshotResult } from '../../daemon/events/snapshots.js';
import { until } from '../support/mosquitto.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('snapshots');
afterAll(cleanup);

const W = 320;
const H = 180;

/** An I420 frame of one grey level (the pipeline's pooled buffer: the snapshotter must copy it). */
function frame(index: number, level: number, pool?: Buffer): Frame {
  const data = pool ?? Buffer.alloc(frameBytes('i420', W, H));
  data.fill(level, 0, W * H);
  data.fill(128, W * H);
  return { data, width: W, height: H, index, pts: index / 10, format: 'i420' };
}

describe('Snapshotter', () => {
  it('encodes each event object once it is reported, its best frame copied (not the reused buffer); files per event id', async () => {
    const out = join(dir, 'cam');
    const results: SnapshotResult[] = [];
    const s = new Snapshotter({
      camera: 'cam',
      dir: out,
      logger: silentLogger(),
      minIntervalMs: 60_000,
      onSnapshot: (r) => results.push(r),
    });
    const pool = Buffer.alloc(frameBytes('i420', W, H));
    const box = (x: number) => ({ x1: x, y1: 20, x2: x + 60, y2: 120 });
    // three objects whose best frame is frame 0 (level 200); later frames are worse for them
    s.offer(
      frame(0, 200, pool),
      [1, 2, 3].map((trackId) => ({ trackId, box: box(trackId * 80), label: 'vehicle', classId: 2, score: 0.9 })),
    );
    frame(1, 10, pool); // the pipeline reuses its buffer for the next frame
    expect(s.held).toBe(1); // one copy, shared by the three objects
    for (const id of [1, 2, 3]) s.reported(id, `100.000-obj00${id}`);
    // an object that never becomes an event holds its frame until it is gone, makes no snapshot
    s.offer(frame(2, 50), [{ trackId: 9, box: box(10), label: 'pedestrian', classId: 3, score: 0.5 }]);
    expect(s.held).toBe(2);
    s.ended(9);
    await until(() => results.length === 3, 30_000, 'three snapshots');
    await s.drain();
    expect(results.map((r) => r.eventId).sort()).toEqual(['100.000-obj001', '100.000-obj002', '100.000-obj003']);
    expect(readdirSync(out).sort()).toEqual(['100.000-obj001.jpg', '100.000-obj002.jpg', '100.000-obj003.jpg']);
    for (const r of results) {
      expect(r.path).toBe(join(out, `${r.eventId}.jpg`));
      expect(r.jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
      // the copy of frame 0 (grey 200), not the reused buffer's frame 1 (grey 10): decode one pixel far from the box
      const px = execFileSync(
        'ffmpeg',
        ['-v', 'error', '-i', r.path as string, '-vf', 'format=gray,crop=2:2:2:170', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
        { maxBuffer: 1 << 20 },
      );
      // (200 in video range is about 214 in the JPEG's full range; frame 1's 10 would be about 0)
      expect(px[0]).toBeGreaterThan(180);
    }
    expect(s.made).toBe(3);
    // encoded and not better since: the objects no longer hold a frame (the copy is kept for reuse)
    expect(s.held).toBe(0);
    expect(s.buffers).toBeLessThanOrEqual(3); // at most the two copies and the scratch frame
    // an ended object with a better frame since its last snapshot is encoded once more, then forgotten
    s.offer(frame(3, 90), [{ trackId: 1, box: box(80), label: 'vehicle', classId: 2, score: 0.95 }]);
    s.ended(1);
    await until(() => results.length === 4, 30_000, 'the final snapshot');
    await s.drain();
    expect(results[3].eventId).toBe('100.000-obj001');
    expect(s.held).toBe(0); // objects 2 and 3 still active, their frames encoded; 1 and 9 gone
    s.ended(2);
    s.ended(3);
    expect(s.held).toBe(0);
  }, 60_000);

  it('holds at most copyLimit frame copies, reused: objects not yet events give theirs up (lowest score first), a better frame while events hold all is skipped', async () => {
    const results: SnapshotResult[] = [];
    const s = new Snapshotter({ camera: 'cam', dir: null, logger: silentLogger(), minIntervalMs: 60_000, onSnapshot: (r) => results.push(r) });
    const pool = Buffer.alloc(frameBytes('i420', W, H));
    const MAX_FRAME_COPIES = copyLimit(pool.length);
    expect(MAX_FRAME_COPIES).toBe(32); // small frames: many; 1080p: 8
    expect(copyLimit(frameBytes('i420', 1920, 1080))).toBe(8);
    expect(copyLimit(MAX_COPY_BYTES)).toBe(2);
    const box = { x1: 10, y1: 20, x2: 70, y2: 120 };
    const offer = (id: number, score: number, level = 60) => s.offer(frame(id, level, pool), [{ trackId: id, box, label: 'vehicle', classId: 2, score }]);
    // objects that are not events yet each keep their best frame: a copy each, up to the limit;
    // then the lowest-scoring of them let theirs go (ids 1, 2, 3)
    for (let id = 1; id <= MAX_FRAME_COPIES + 3; id++) offer(id, 0.5 + id / 100);
    expect(s.held).toBe(MAX_FRAME_COPIES);
    expect(s.evicted).toBe(3);
    expect(s.skipped).toBe(0);
    // they become events: each is encoded; while they wait, a new object finds no copy to take
    for (let id = 4; id <= MAX_FRAME_COPIES + 3; id++) s.reported(id, `1.000-obj${String(id).padStart(3, '0')}`);
    offer(50, 0.9);
    expect(s.skipped).toBe(1);
    expect(s.held).toBe(MAX_FRAME_COPIES);
    // an evicted object became an event without a frame: it asks for one (the camera offers the
    // next frame it is seen in, whatever the score), and has no snapshot until it gets it
    s.reported(1, '1.000-obj001');
    expect(s.needsFrame(1)).toBe(true);
    expect(s.needsFrame(4)).toBe(false); // it has its frame
    expect(s.needsFrame(50)).toBe(false); // not an event
    await until(() => results.length === MAX_FRAME_COPIES, 60_000, 'the snapshots');
    await s.drain();
    expect(results.map((r) => r.eventId)).not.toContain('1.000-obj001');
    // encoded: the frames are let go; new frames reuse the buffers, nothing frame-sized is allocated per frame
    expect(s.held).toBe(0);
    offer(1, 0.2);
    expect(s.needsFrame(1)).toBe(false);
    await until(() => results.some((r) => r.eventId === '1.000-obj001'), 60_000, 'the snapshot of the evicted event');
    await s.drain();
    expect(s.held).toBe(0);
    for (let i = 0; i < 50; i++) offer(100 + (i % 4), 0.3 + i / 100);
    expect(s.held).toBe(4);
    expect(s.buffers).toBeLessThanOrEqual(MAX_FRAME_COPIES + 1); // copies and the scratch frame
    for (let i = 0; i < 4; i++) s.ended(100 + i);
    expect(s.held).toBe(0);
    // events whose snapshot is made give up a better frame before objects not yet events do
    s.reported(200, '1.000-obj200');
    offer(200, 0.5);
    await until(() => results.some((r) => r.eventId === '1.000-obj200'), 60_000, 'the snapshot of 200');
    await s.drain();
    offer(200, 0.6); // better, waits for its next encode (minIntervalMs)
    for (let id = 300; id < 300 + MAX_FRAME_COPIES - 1; id++) offer(id, 0.9);
    expect(s.held).toBe(MAX_FRAME_COPIES);
    const evicted = s.evicted;
    offer(400, 0.9);
    expect(s.evicted).toBe(evicted + 1);
    expect(s.pending(200)).toBe(false); // it keeps the snapshot it has
    expect(s.held).toBe(MAX_FRAME_COPIES);
  }, 120_000);

  it('first snapshots go first, and of those an ended object (its end event waits for it) before the others', async () => {
    const results: SnapshotResult[] = [];
    const s = new Snapshotter({ camera: 'cam', dir: null, logger: silentLogger(), minIntervalMs: 0, onSnapshot: (r) => results.push(r) });
    const box = { x1: 10, y1: 20, x2: 70, y2: 120 };
    for (let id = 1; id <= 5; id++) s.offer(frame(id, 60), [{ trackId: id, box, label: 'vehicle', classId: 2, score: 0.5 }]);
    for (let id = 1; id <= 5; id++) s.reported(id, `1.000-obj00${id}`); // 1 is encoded now, 2..5 wait
    s.offer(frame(6, 70), [{ trackId: 1, box, label: 'vehicle', classId: 2, score: 0.6 }]); // 1 better: a second snapshot, after the first ones
    s.ended(4);
    await until(() => results.length === 6, 60_000, 'the snapshots');
    await s.drain();
    expect(results.map((r) => r.eventId)).toEqual(['1.000-obj001', '1.000-obj004', '1.000-obj002', '1.000-obj003', '1.000-obj005', '1.000-obj001']);
  }, 60_000);

  it('a folder that cannot be written: published without a path, one warning', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    const results: SnapshotResult[] = [];
    const warnings: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as ReturnType<typeof silentLogger>;
    const s = new Snapshotter({ camera: 'cam', dir: join(blocker, 'cam'), logger, onSnapshot: (r) => results.push(r) });
    s.offer(frame(0, 100), [{ trackId: 1, box: { x1: 10, y1: 10, x2: 50, y2: 50 }, label: 'vehicle', classId: 2, score: 0.8 }]);
    s.reported(1, '1.000-aaaaaa');
    await until(() => results.length === 1, 30_000, 'snapshot');
    expect(results[0].path).toBeNull();
    expect(results[0].jpeg.length).toBeGreaterThan(100);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^snapshot .*1\.000-aaaaaa\.jpg not written \(published only\): /);
  }, 60_000);
});

describe('snapshot retention', () => {
  it('deletes files older than retain_days, then the oldest while over max_mb; other files stay', async () => {
    const d = join(dir, 'ret');
    mkdirSync(d);
    const now = Date.now();
    const day = 86_400_000;
    const make = (name: string, ageDays: number, bytes: number) => {
      const f = join(d, name);
      writeFileSync(f, Buffer.alloc(bytes));
      const t = (now - ageDays * day) / 1000;
      utimesSync(f, t, t);
    };
    make('old.jpg', 12, 1000);
    make('a.jpg', 3, 600_000);
    make('b.jpg', 2, 600_000);
    make('c.jpg', 1, 600_000);
    make('notes.txt', 30, 10);
    const r = await sweepSnapshots(d, 10, 1, now); // 1 MB: only the newest 600 KB file fits
    expect(r).toMatchObject({ deleted: 3, kept: 1 });
    expect(readdirSync(d).sort()).toEqual(['c.jpg', 'notes.txt']);
    expect(statSync(join(d, 'c.jpg')).size).toBe(600_000);
    expect(await sweepSnapshots(join(dir, 'missing'), 1, 1, now)).toEqual({ kept: 0, deleted: 0, bytes: 0 });
    expect(existsSync(join(d, 'notes.txt'))).toBe(true);
  });
});
