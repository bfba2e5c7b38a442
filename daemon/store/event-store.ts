/**
 * The event store: every tracked object's event (`new`, `update`, `end`) kept in a SQLite file
 * (`store.path`, `/var/lib/trt-detect/events.db` installed) in WAL mode, for the web UI and
 * /api/events. Writes never touch the frame path: `write()` only remembers the object's latest
 * state; a timer writes what changed in one transaction at least once a second (a crash loses at
 * most that second). Reads run on libuv's thread pool (node-sqlite3 is asynchronous), so a query
 * never blocks the event loop either.
 *
 * The binding is node-sqlite3 (`sqlite3` 5.1.7, N-API): the same build loads on Node 16 (the
 * Jetson's) and Node 20+, and it builds from source when its prebuilt binary cannot be downloaded.
 * It is an optional dependency: where it is missing or does not load, `open()` logs one warning and
 * returns null; the daemon runs on without a store and /api/events answers 503.
 *
 * A file that is not a database or fails SQLite's quick check is moved aside
 * (`events.db.corrupt-<time>`, with its -wal and -shm files) and a new one is started, with one log
 * line; a second failure turns the store off instead of crashing (never a crash loop).
 */
import { existsSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { FolderError, makeDirs } from '../core/files.js';
import type { Logger } from '../core/log.js';
import type { EventSink, ObjectEvent, TrackedObject } from '../events/types.js';

/** What the store keeps of an object: its last state (events/types.ts TrackedObject). */
export type StoredObject = TrackedObject;

export interface EventQuery {
  camera?: string;
  label?: string;
  /** objects that entered this zone */
  zone?: string;
  /** start_time at or after (seconds since the epoch) */
  after?: number;
  /** start_time before (seconds since the epoch) */
  before?: number;
  limit: number;
}

/** The most events one query returns. */
export const MAX_QUERY_LIMIT = 1000;
/** Objects waiting to be written at most; more are counted in `dropped` (the database is stuck). */
export const MAX_PENDING = 10_000;
const FLUSH_MS = 1000;
const PRUNE_MS = 3600_000;

// the part of node-sqlite3's API the store uses
type Callback<T> = (this: unknown, err: Error | null, result: T) => void;
interface SqliteDatabase {
  run(sql: string, params: unknown[], cb: (err: Error | null) => void): void;
  all(sql: string, params: unknown[], cb: Callback<Array<Record<string, unknown>>>): void;
  exec(sql: string, cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
  configure(option: 'busyTimeout', ms: number): void;
}
interface SqliteModule {
  Database: new (file: string, cb: (err: Error | null) => void) => SqliteDatabase;
}

let binding: { module: SqliteModule | null; problem: string | null } | null = null;

/** node-sqlite3, or why it cannot be loaded (not installed, built for another platform). */
export function loadBinding(): { module: SqliteModule | null; problem: string | null } {
  if (binding) return binding;
  try {
    const require = createRequire(import.meta.url);
    binding = { module: require('sqlite3') as SqliteModule, problem: null };
  } catch (err) {
    binding = { module: null, problem: errorMessage(err).split('\n')[0] };
  }
  return binding;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  camera TEXT NOT NULL,
  label TEXT NOT NULL,
  start_time REAL NOT NULL,
  end_time REAL,
  top_score REAL NOT NULL,
  zones TEXT NOT NULL DEFAULT '[]',
  has_snapshot INTEGER NOT NULL DEFAULT 0,
  snapshot TEXT,
  jpeg BLOB,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_start ON events (start_time);
CREATE INDEX IF NOT EXISTS events_camera_start ON events (camera, start_time);
`;

const UPSERT = `INSERT INTO events (id, camera, label, start_time, end_time, top_score, zones, has_snapshot, snapshot, jpeg, data)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(id) DO UPDATE SET label = excluded.label, end_time = excluded.end_time, top_score = excluded.top_score,
  zones = excluded.zones, has_snapshot = excluded.has_snapshot, snapshot = coalesce(excluded.snapshot, events.snapshot), jpeg = coalesce(excluded.jpeg, events.jpeg), data = excluded.data`;

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** A database file SQLite cannot use as one: moved aside and rebuilt. */
function isCorrupt(err: unknown): boolean {
  return ['SQLITE_NOTADB', 'SQLITE_CORRUPT'].includes(codeOf(err)) || /not a database|malformed/i.test(errorMessage(err));
}

class CorruptDatabase extends Error {}

function openDb(mod: SqliteModule, file: string): Promise<SqliteDatabase> {
  return new Promise((resolve, reject) => {
    const db = new mod.Database(file, (err) => (err ? reject(err) : resolve(db)));
  });
}

function run(db: SqliteDatabase, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
}

function all(db: SqliteDatabase, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
}

function exec(db: SqliteDatabase, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

function closeDb(db: SqliteDatabase): Promise<void> {
  return new Promise((resolve) => db.close(() => resolve()));
}

/** Opens `file`, checks it and creates the table; a file that is not a healthy database rejects with CorruptDatabase. */
async function prepare(mod: SqliteModule, file: string): Promise<SqliteDatabase> {
  const db = await openDb(mod, file);
  try {
    db.configure('busyTimeout', 2000);
    const check = await all(db, 'PRAGMA quick_check');
    const first = Object.values(check[0] ?? {})[0];
    const verdict = typeof first === 'string' ? first : '';
    if (verdict !== 'ok') throw new CorruptDatabase(`quick_check: ${verdict || 'no answer'}`);
    await exec(db, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    await exec(db, SCHEMA);
    return db;
  } catch (err) {
    await closeDb(db);
    if (err instanceof CorruptDatabase || isCorrupt(err)) throw new CorruptDatabase(errorMessage(err));
    throw err;
  }
}

/** Moves `file` and its WAL files aside; returns the new name. */
function moveAside(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = `${file}.corrupt-${stamp}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  }
  return aside;
}

export interface EventStoreOptions {
  path: string;
  logger: Logger;
  /** days an ended event of this camera is kept (its snapshots' retain_days); 0 = for ever */
  retainDays: (camera: string) => number;
}

/** One row as the API serves it: the object's last state, its duration and the snapshot file (if one was written). */
export type EventRecord = StoredObject & { duration: number | null; snapshot_path: string | null; snapshot_box?: TrackedObject['box'] };

function rowToRecord(row: Record<string, unknown>): EventRecord {
  const obj = JSON.parse(String(row.data)) as StoredObject;
  const end = typeof obj.end_time === 'number' ? obj.end_time : null;
  const snapshot = typeof row.snapshot === 'string' ? row.snapshot : null;
  return { ...obj, duration: end === null ? null : Number(Math.max(0, end - obj.start_time).toFixed(3)), snapshot_path: snapshot };
}

export class EventStore implements EventSink {
  private readonly pending = new Map<string, StoredObject>();
  /** snapshots of objects not written yet: the file, or the JPEG itself where snapshots are not kept as files */
  private readonly snapshots = new Map<string, string | Buffer>();
  /** active objects whose snapshot's box comes with their next event, and the boxes of active objects' snapshots */
  private readonly awaitingBox = new Set<string>();
  private readonly snapshotBoxes = new Map<string, TrackedObject['box']>();
  private flushTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private lastRebuild = 0;
  /** objects not stored because MAX_PENDING were waiting */
  dropped = 0;
  /** rows written since open */
  written = 0;

  private constructor(
    private db: SqliteDatabase | null,
    private readonly opts: EventStoreOptions,
  ) {}

  /**
   * Opens (or creates) the store. Returns null, after one warning line, when the binding cannot be
   * loaded or the file cannot be opened even after moving a corrupt one aside.
   */
  static async open(opts: EventStoreOptions): Promise<EventStore | null> {
    const { logger, path } = opts;
    const { module: mod, problem } = loadBinding();
    if (!mod) {
      logger.warn(
        { problem },
        `event store off: the SQLite binding (npm package sqlite3) cannot be loaded here (${problem}); events are not kept and /api/events answers 503`,
      );
      return null;
    }
    try {
      makeDirs(dirname(path));
    } catch (err) {
      const why = err instanceof FolderError ? err.message : errorMessage(err);
      logger.warn(`event store off: ${why} (store.path ${path}); events are not kept and /api/events answers 503`);
      return null;
    }
    const existed = existsSync(path);
    const db = await EventStore.openOrRebuild(mod, path, logger);
    if (!db) return null;
    if (!existed) logger.info({ path }, 'event store created');
    const store = new EventStore(db, opts);
    store.flushTimer = setInterval(() => void store.flush(), FLUSH_MS);
    store.flushTimer.unref();
    store.pruneTimer = setInterval(() => void store.prune().catch(() => undefined), PRUNE_MS);
    store.pruneTimer.unref();
    await store.prune().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'event store: pruning failed'));
    return store;
  }

  private static async openOrRebuild(mod: SqliteModule, path: string, logger: Logger): Promise<SqliteDatabase | null> {
    try {
      return await prepare(mod, path);
    } catch (err) {
      if (!(err instanceof CorruptDatabase)) {
        logger.warn(
          { path, err: errorMessage(err) },
          `event store off: cannot open ${path} (${errorMessage(err)}); events are not kept and /api/events answers 503`,
        );
        return null;
      }
      let aside: string;
      try {
        aside = moveAside(path);
      } catch (moveErr) {
        logger.warn({ path }, `event store off: ${path} is not a usable database and cannot be moved aside (${errorMessage(moveErr)})`);
        return null;
      }
      logger.warn(
        { path, moved_to: aside },
        `event store: ${path} was not a usable database (${errorMessage(err)}); moved it to ${aside} and started a new one`,
      );
      try {
        return await prepare(mod, path);
      } catch (again) {
        logger.warn(
          { path, err: errorMessage(again) },
          `event store off: cannot create ${path} (${errorMessage(again)}); events are not kept and /api/events answers 503`,
        );
        return null;
      }
    }
  }

  /** Whether the store can be read (false after it gave up on a broken file). */
  get available(): boolean {
    return this.db !== null && !this.closed;
  }

  /** EventSink: remembers the object's latest state; written within a second. Never blocks, never throws. */
  event(ev: ObjectEvent): void {
    if (this.closed || !this.db) return;
    let obj: StoredObject = ev.after;
    if (!this.pending.has(obj.id) && this.pending.size >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    // the box of the frame the snapshot shows: the event that follows a snapshot is of that frame
    if (this.awaitingBox.delete(obj.id)) this.snapshotBoxes.set(obj.id, obj.box);
    const box = this.snapshotBoxes.get(obj.id);
    if (box) obj = { ...obj, snapshot_box: box } as StoredObject & { snapshot_box: TrackedObject['box'] };
    if (ev.type === 'end') this.snapshotBoxes.delete(obj.id);
    this.pending.set(obj.id, obj);
  }

  /**
   * EventSink: an object's snapshot, kept with its event: the file it was written to, or, where
   * snapshots are not kept as files (snapshots.path null), the JPEG itself.
   */
  snapshot(_camera: string, objectId: string, _label: string, jpeg: Buffer, path: string | null): void {
    if (this.closed || !this.db) return;
    if (!this.snapshots.has(objectId) && this.snapshots.size >= MAX_PENDING) return;
    this.snapshots.set(objectId, path ?? Buffer.from(jpeg));
    if (this.snapshotBoxes.size < MAX_PENDING) this.awaitingBox.add(objectId);
  }

  /** Writes what is pending in one transaction (also called by the timer and close()). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    const db = this.db;
    if (!db || (this.pending.size === 0 && this.snapshots.size === 0)) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    const files = new Map(this.snapshots);
    this.snapshots.clear();
    try {
      await run(db, 'BEGIN');
      try {
        for (const o of batch) {
          await run(db, UPSERT, [
            o.id,
            o.camera,
            o.label,
            o.start_time,
            o.end_time,
            o.top_score,
            JSON.stringify(o.entered_zones ?? []),
            o.has_snapshot ? 1 : 0,
            typeof files.get(o.id) === 'string' ? files.get(o.id) : null,
            Buffer.isBuffer(files.get(o.id)) ? files.get(o.id) : null,
            JSON.stringify(o),
          ]);
        }
        // a newer snapshot of an object whose state did not change since the last write
        const ids = new Set(batch.map((o) => o.id));
        for (const [id, f] of files) {
          if (ids.has(id)) continue;
          if (typeof f === 'string') await run(db, 'UPDATE events SET snapshot = ? WHERE id = ?', [f, id]);
          else await run(db, 'UPDATE events SET jpeg = ? WHERE id = ?', [f, id]);
        }
        await run(db, 'COMMIT');
        this.written += batch.length;
      } catch (err) {
        await run(db, 'ROLLBACK').catch(() => undefined);
        throw err;
      }
    } catch (err) {
      // keep the objects for the next try, unless newer states arrived meanwhile
      for (const o of batch) if (!this.pending.has(o.id) && this.pending.size < MAX_PENDING) this.pending.set(o.id, o);
      for (const [id, f] of files) if (!this.snapshots.has(id)) this.snapshots.set(id, f);
      await this.failed(err);
    }
  }

  /** A write failed: a database that went bad is moved aside and rebuilt (at most every 10 minutes), else logged. */
  private async failed(err: unknown): Promise<void> {
    const { logger, path } = this.opts;
    if (!isCorrupt(err)) {
      logger.error({ err: errorMessage(err) }, `event store: writing ${path} failed (${errorMessage(err)}); trying again in a second`);
      return;
    }
    const db = this.db;
    this.db = null;
    if (db) await closeDb(db);
    if (Date.now() - this.lastRebuild < 600_000) {
      logger.error({ path }, `event store off: ${path} went bad again within 10 minutes; events are not kept until the daemon restarts`);
      return;
    }
    this.lastRebuild = Date.now();
    const { module: mod } = loadBinding();
    if (mod) this.db = await EventStore.openOrRebuild(mod, path, logger);
  }

  /** Deletes ended events older than their camera's retention; returns how many. */
  async prune(now = Date.now()): Promise<number> {
    const db = this.db;
    if (!db) return 0;
    const cameras = await all(db, 'SELECT DISTINCT camera FROM events');
    let removed = 0;
    for (const row of cameras) {
      const camera = String(row.camera);
      const days = this.opts.retainDays(camera);
      if (!(days > 0)) continue;
      const cutoff = now / 1000 - days * 86400;
      const before = await all(db, 'SELECT count(*) AS n FROM events WHERE camera = ? AND end_time IS NOT NULL AND end_time < ?', [camera, cutoff]);
      await run(db, 'DELETE FROM events WHERE camera = ? AND end_time IS NOT NULL AND end_time < ?', [camera, cutoff]);
      removed += Number(before[0]?.n ?? 0);
    }
    if (removed > 0) this.opts.logger.info({ removed }, 'event store: removed events past their retention');
    return removed;
  }

  /** Events newest first (by start time). Pending ones are written first, so a query sees every event written so far. */
  async query(q: EventQuery): Promise<EventRecord[]> {
    await this.flush();
    const db = this.db;
    if (!db) throw new Error('event store is not available');
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('camera = ?', q.camera);
    add('label = ?', q.label);
    add('EXISTS (SELECT 1 FROM json_each(events.zones) WHERE json_each.value = ?)', q.zone);
    add('start_time >= ?', q.after);
    add('start_time < ?', q.before);
    const limit = Math.max(1, Math.min(MAX_QUERY_LIMIT, Math.floor(q.limit)));
    const sql = `SELECT data, snapshot FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_time DESC, id DESC LIMIT ${limit}`;
    return (await all(db, sql, params)).map(rowToRecord);
  }

  /** One event by id, or null. */
  async get(id: string): Promise<EventRecord | null> {
    await this.flush();
    const db = this.db;
    if (!db) throw new Error('event store is not available');
    const rows = await all(db, 'SELECT data, snapshot FROM events WHERE id = ?', [id]);
    return rows.length ? rowToRecord(rows[0]) : null;
  }

  /** The JPEG of an event's snapshot when the store holds it (snapshots not kept as files), else null. */
  async snapshotJpeg(id: string): Promise<Buffer | null> {
    await this.flush();
    const db = this.db;
    if (!db) throw new Error('event store is not available');
    const rows = await all(db, 'SELECT jpeg FROM events WHERE id = ?', [id]);
    const jpeg = rows[0]?.jpeg;
    return Buffer.isBuffer(jpeg) ? jpeg : null;
  }

  /** The hours (0-23, local time) of the day [dayStart, dayEnd) in which a camera's events were active. */
  async activeHours(camera: string, dayStart: number, dayEnd: number): Promise<number[]> {
    await this.flush();
    const db = this.db;
    if (!db) throw new Error('event store is not available');
    const rows = await all(db, 'SELECT start_time, end_time FROM events WHERE camera = ? AND start_time < ? AND coalesce(end_time, ?) >= ? LIMIT 5000', [
      camera,
      dayEnd,
      Date.now() / 1000,
      dayStart,
    ]);
    const hours = new Set<number>();
    for (const r of rows) {
      const from = Math.max(Number(r.start_time), dayStart);
      const to = Math.min(r.end_time === null ? Date.now() / 1000 : Number(r.end_time), dayEnd - 0.001);
      for (let t = from; t <= to + 3600; t += 3600) {
        const at = Math.min(t, to);
        hours.add(new Date(at * 1000).getHours());
        if (at >= to) break;
      }
    }
    return [...hours].sort((a, b) => a - b);
  }

  /** Writes what is pending and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.flush();
    this.closed = true;
    const db = this.db;
    this.db = null;
    if (db) await closeDb(db);
  }
}
