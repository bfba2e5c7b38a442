/**
 * The SQLite event store on real files: events written within a second in WAL mode, queries with
 * every filter, retention, and a corrupt or missing file rebuilt with one log line.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../daemon/core/log.js';
import type { ObjectEvent } from '../../daemon/events/types.js';
import { EventStore, type StoredObject } from '../../daemon/store/event-store.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('event-store');
afterAll(cleanup);

function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger('info', out), lines };
}

const NOW = Date.now() / 1000;

function object(id: string, over: Partial<StoredObject> = {}): StoredObject {
  return {
    id,
    track_id: 1,
    loitering: false,
    camera: 'front',
    label: 'vehicle',
    score: 0.8,
    top_score: 0.8,
    box: { x1: 1, y1: 2, x2: 30, y2: 40 },
    area: 1102,
    start_time: NOW - 100,
    end_time: null,
    current_zones: [],
    entered_zones: [],
    stationary: false,
    has_snapshot: false,
    frame_time: NOW - 100,
    ...over,
  };
}

function ev(type: 'new' | 'update' | 'end', after: StoredObject): ObjectEvent {
  return { type, before: after, after };
}

/** Reads the file with a second connection, as another process would. */
function readRows(file: string): Promise<Array<Record<string, unknown>>> {
  const sqlite3 = createRequire(import.meta.url)('sqlite3');
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err: Error | null) => {
      if (err) return reject(err);
      db.all('SELECT id, end_time, data FROM events ORDER BY id', (e: Error | null, rows: Array<Record<string, unknown>>) => {
        db.close(() => (e ? reject(e) : resolve(rows)));
      });
    });
  });
}

describe('EventStore', () => {
  it('writes events within a second, in WAL mode, and keeps the last state of each object', async () => {
    const file = join(dir, 'a', 'nested', 'events.db');
    const { logger, lines } = memoryLogger();
    const store = await EventStore.open({ path: file, logger, retainDays: () => 10 });
    expect(store).not.toBeNull();
    expect(lines.some((l) => l.msg === 'event store created')).toBe(true);
    const s = store as EventStore;
    s.event(ev('new', object('o1')));
    s.event(ev('update', object('o1', { top_score: 0.95, entered_zones: ['drive'] })));
    s.event(ev('new', object('o2', { label: 'pedestrian', start_time: NOW - 50 })));
    await new Promise((r) => setTimeout(r, 2000));
    const rows = await readRows(file);
    expect(rows.map((r) => r.id)).toEqual(['o1', 'o2']);
    expect(JSON.parse(String(rows[0].data)).top_score).toBe(0.95);
    expect(existsSync(`${file}-wal`)).toBe(true);
    s.event(ev('end', object('o1', { top_score: 0.95, entered_zones: ['drive'], end_time: NOW - 90 })));
    // a snapshot comes before the event that shows it; a later, better one on its own
    s.snapshot('front', 'o2', 'pedestrian', Buffer.alloc(4), '/snaps/front/o2.jpg');
    s.event(ev('update', object('o2', { label: 'pedestrian', start_time: NOW - 50, has_snapshot: true, box: { x1: 5, y1: 6, x2: 7, y2: 8 } })));
    expect((await s.get('o2'))?.snapshot_path).toBe('/snaps/front/o2.jpg');
    // the box of the snapshot's frame stays with the event while the object moves on
    s.event(ev('update', object('o2', { label: 'pedestrian', start_time: NOW - 50, has_snapshot: true, box: { x1: 50, y1: 60, x2: 70, y2: 80 } })));
    expect((await s.get('o2'))?.snapshot_box).toEqual({ x1: 5, y1: 6, x2: 7, y2: 8 });
    expect((await s.get('o2'))?.box).toEqual({ x1: 50, y1: 60, x2: 70, y2: 80 });
    s.snapshot('front', 'o2', 'pedestrian', Buffer.alloc(4), '/snaps/front/o2-better.jpg');
    await s.flush();
    expect((await s.get('o2'))?.snapshot_path).toBe('/snaps/front/o2-better.jpg');
    expect((await s.get('o1'))?.snapshot_path).toBeNull();
    // snapshots not kept as files: the store keeps the JPEG itself
    s.snapshot('front', 'o1', 'vehicle', Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]), null);
    await s.flush();
    expect(await s.snapshotJpeg('o1')).toEqual(Buffer.from([0xff, 0xd8, 1, 2, 0xff, 0xd9]));
    expect(await s.snapshotJpeg('o2')).toBeNull();
    await s.close();
    const after = await readRows(file);
    expect(after[0].end_time).toBeCloseTo(NOW - 90, 3);
  });

  it('answers queries newest first with camera, label, zone and time filters and a limit', async () => {
    const file = join(dir, 'q.db');
    const store = (await EventStore.open({ path: file, logger: memoryLogger().logger, retainDays: () => 10 })) as EventStore;
    for (let i = 0; i < 20; i++) {
      store.event(
        ev(
          'end',
          object(`e${i}`, {
            camera: i % 2 ? 'back' : 'front',
            label: i % 3 ? 'vehicle' : 'pedestrian',
            entered_zones: i % 4 === 0 ? ['gate', 'drive'] : [],
            start_time: NOW - 1000 + i * 10,
            end_time: NOW - 1000 + i * 10 + 5,
          }),
        ),
      );
    }
    const every = await store.query({ limit: 100 });
    expect(every.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => `e${19 - i}`));
    expect(every[0].duration).toBe(5);
    expect((await store.query({ camera: 'back', limit: 100 })).every((e) => e.camera === 'back')).toBe(true);
    expect((await store.query({ camera: 'back', limit: 100 })).length).toBe(10);
    expect((await store.query({ label: 'pedestrian', limit: 100 })).map((e) => e.id)).toEqual(['e18', 'e15', 'e12', 'e9', 'e6', 'e3', 'e0']);
    expect((await store.query({ zone: 'gate', limit: 100 })).map((e) => e.id)).toEqual(['e16', 'e12', 'e8', 'e4', 'e0']);
    expect((await store.query({ zone: 'gat', limit: 100 })).length).toBe(0);
    const window = await store.query({ after: NOW - 1000 + 50, before: NOW - 1000 + 100, limit: 100 });
    expect(window.map((e) => e.id)).toEqual(['e9', 'e8', 'e7', 'e6', 'e5']);
    expect((await store.query({ limit: 3 })).map((e) => e.id)).toEqual(['e19', 'e18', 'e17']);
    expect(await store.get('e7')).toMatchObject({ id: 'e7', camera: 'back', end_time: NOW - 1000 + 75 });
    expect(await store.get('nope')).toBeNull();
    await store.close();
  });

  it('removes ended events past their camera retention and keeps active ones', async () => {
    const file = join(dir, 'prune.db');
    const store = (await EventStore.open({ path: file, logger: memoryLogger().logger, retainDays: (c) => (c === 'front' ? 1 : 0) })) as EventStore;
    store.event(ev('end', object('old', { start_time: NOW - 3 * 86400, end_time: NOW - 3 * 86400 + 10 })));
    store.event(ev('new', object('old-active', { start_time: NOW - 3 * 86400 })));
    store.event(ev('end', object('recent', { start_time: NOW - 3600, end_time: NOW - 3590 })));
    store.event(ev('end', object('kept', { camera: 'back', start_time: NOW - 30 * 86400, end_time: NOW - 30 * 86400 + 1 })));
    await store.flush();
    expect(await store.prune()).toBe(1);
    expect((await store.query({ limit: 10 })).map((e) => e.id).sort()).toEqual(['kept', 'old-active', 'recent']);
    await store.close();
  });

  it('moves a corrupt file aside with one log line and starts a new one', async () => {
    const sub = join(dir, 'corrupt');
    const file = join(sub, 'events.db');
    const { logger } = memoryLogger();
    const first = (await EventStore.open({ path: file, logger, retainDays: () => 1 })) as EventStore;
    await first.close();
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const { logger: l2, lines } = memoryLogger();
    const store = await EventStore.open({ path: file, logger: l2, retainDays: () => 1 });
    expect(store).not.toBeNull();
    const warned = lines.filter((l) => l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(String(warned[0].msg)).toMatch(/was not a usable database .* moved it to .*events\.db\.corrupt-/);
    expect(readdirSync(sub).some((f) => /^events\.db\.corrupt-[\d-TZ]+$/.test(f))).toBe(true);
    (store as EventStore).event(ev('new', object('x')));
    expect((await (store as EventStore).query({ limit: 5 })).map((e) => e.id)).toEqual(['x']);
    await (store as EventStore).close();
  });

  it('turns itself off with one warning where the file cannot be created', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const { logger, lines } = memoryLogger();
    const store = await EventStore.open({ path: join(blocker, 'events.db'), logger, retainDays: () => 1 });
    expect(store).toBeNull();
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(String(lines[0].msg)).toMatch(/^event store off: .*a-file.*\/api\/events answers 503/);
  });
});
