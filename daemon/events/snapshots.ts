/**
 * Snapshots (cameras.<name>.snapshots): the best frame (highest score) of each object as a JPEG
 * with its box drawn. Memory is bounded: the pipeline's pooled frame is copied once per frame in
 * which some object's score rose (the objects that rose share the copy), and each followed object
 * keeps only its best one, so there is at most one frame copy per followed object (the camera's
 * events.max_objects caps those). Drawing happens in the addon (a worker thread) on a scratch
 * copy, encoding in an ffmpeg child process, one at a time per camera; an object's snapshot is
 * encoded when it becomes an event, again (at most every `minIntervalMs`) when its best frame
 * gets better, and once more when it ends if it got better since.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Box } from '../core/box.js';
import { errorMessage } from '../core/errors.js';
import type { Frame, PixelFormat } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import { drawBoxes } from '../detect/detections.js';
import { encodeJpeg, writeFileAtomic } from '../media/image-io.js';
import * as native from '../native.js';

interface Best {
  data: Buffer;
  width: number;
  height: number;
  format: PixelFormat | undefined;
  box: Box;
  label: string;
  classId: number;
  score: number;
  trackId: number;
}

interface Entry {
  best: Best | null;
  /** the event id once the object is an event; snapshots are made for events only */
  eventId: string | null;
  /** the best frame changed since the last encode */
  dirty: boolean;
  /** the object ended: encode once more if dirty, then forget it */
  ended: boolean;
  lastEncodedAt: number;
}

export interface SnapshotResult {
  trackId: number;
  eventId: string;
  label: string;
  jpeg: Buffer;
  /** the file written, or null (no snapshots.path, or writing failed) */
  path: string | null;
}

export interface SnapshotterOptions {
  camera: string;
  /** folder of the camera's files (<snapshots.path>/<camera>), or null: not kept on disk */
  dir: string | null;
  logger: Logger;
  /** called on the event loop when a snapshot is ready */
  onSnapshot: (s: SnapshotResult) => void;
  /** an encode of `trackId` finished, made or failed (after onSnapshot when made) */
  onSettled?: (trackId: number) => void;
  /** an object's snapshot is encoded again at most this often (default 2000 ms) */
  minIntervalMs?: number;
  /** mjpeg quality 2 (best) .. 31 (default 4) */
  quality?: number;
}

export class Snapshotter {
  private readonly entries = new Map<number, Entry>();
  private busy: Promise<void> | null = null;
  /** the object whose snapshot is being encoded now */
  private encoding: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private madeDir = false;
  private warnedAt = -Infinity;
  /** snapshots made, and those that failed */
  made = 0;
  failed = 0;

  constructor(private readonly o: SnapshotterOptions) {}

  private entry(trackId: number): Entry {
    let e = this.entries.get(trackId);
    if (!e) {
      e = { best: null, eventId: null, dirty: false, ended: false, lastEncodedAt: -Infinity };
      this.entries.set(trackId, e);
    }
    return e;
  }

  /**
   * The detections of `frame` whose object's best score rose: the frame is copied once for all of
   * them (synchronously: the pipeline reuses its buffer) and becomes their best.
   */
  offer(frame: Frame, improved: ReadonlyArray<{ trackId: number; box: Box; label: string; classId: number; score: number }>): void {
    if (improved.length === 0) return;
    const data = Buffer.from(frame.data);
    for (const d of improved) {
      const e = this.entry(d.trackId);
      e.best = {
        data,
        width: frame.width,
        height: frame.height,
        format: frame.format,
        box: d.box,
        label: d.label,
        classId: d.classId,
        score: d.score,
        trackId: d.trackId,
      };
      if (e.eventId !== null) e.dirty = true;
    }
    this.pump();
  }

  /** The object became event `eventId`: its best frame so far is encoded now. */
  reported(trackId: number, eventId: string): void {
    const e = this.entry(trackId);
    e.eventId = eventId;
    e.dirty = e.best !== null;
    this.pump();
  }

  /** The object is gone (ended, or dropped before it became an event). */
  ended(trackId: number): void {
    const e = this.entries.get(trackId);
    if (!e) return;
    if (e.eventId === null || !e.dirty) this.entries.delete(trackId);
    else {
      e.ended = true;
      this.pump();
    }
  }

  /** Is a snapshot of this object waiting to be encoded, or being encoded now? */
  pending(trackId: number): boolean {
    const e = this.entries.get(trackId);
    return this.encoding === trackId || (!!e && e.eventId !== null && e.dirty && e.best !== null);
  }

  /** Objects that hold a frame copy now. */
  get held(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.best) n++;
    return n;
  }

  /** Resolves once every pending snapshot is made (the camera stops). */
  async drain(): Promise<void> {
    for (const e of this.entries.values()) if (e.dirty) e.lastEncodedAt = -Infinity;
    for (;;) {
      this.pump();
      if (!this.busy) break;
      await this.busy;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Starts the next encode when none is running: the most urgent eligible object first. */
  private pump(): void {
    if (this.busy) return;
    const now = Date.now();
    const minInterval = this.o.minIntervalMs ?? 2000;
    let next: [number, Entry] | null = null;
    let wait = Infinity;
    for (const item of this.entries) {
      const e = item[1];
      if (!e.dirty || e.eventId === null || !e.best) continue;
      const due = e.ended ? now : e.lastEncodedAt + minInterval;
      if (due <= now) {
        // never encoded first, then ended ones, then the longest waiting
        if (!next || e.lastEncodedAt < next[1].lastEncodedAt) next = item;
      } else wait = Math.min(wait, due - now);
    }
    if (!next) {
      if (wait < Infinity && !this.timer) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        this.timer.unref();
      }
      return;
    }
    const [trackId, e] = next;
    e.dirty = false;
    e.lastEncodedAt = now;
    const best = e.best as Best;
    const eventId = e.eventId as string;
    this.encoding = trackId;
    this.busy = this.make(best, eventId)
      .then((r) => {
        this.made++;
        this.o.onSnapshot(r);
      })
      .catch((err: unknown) => {
        this.failed++;
        this.warn(`snapshot of ${eventId} not made: ${errorMessage(err)}`);
      })
      .finally(() => {
        if (e.ended && !e.dirty) this.entries.delete(trackId);
        this.busy = null;
        this.encoding = null;
        this.o.onSettled?.(trackId);
        this.pump();
      });
  }

  private async make(best: Best, eventId: string): Promise<SnapshotResult> {
    const scratch = Buffer.from(best.data);
    const box = { label: best.label, class_id: best.classId, score: best.score, box: best.box, track_id: best.trackId };
    await native.draw(scratch, best.width, best.height, drawBoxes([box]), best.format);
    const jpeg = await encodeJpeg(scratch, best.width, best.height, best.format, this.o.quality ?? 4);
    let path: string | null = null;
    if (this.o.dir) {
      const file = join(this.o.dir, `${eventId}.jpg`);
      try {
        if (!this.madeDir) await mkdir(this.o.dir, { recursive: true });
        this.madeDir = true;
        await writeFileAtomic(file, jpeg);
        path = file;
      } catch (err) {
        this.warn(`snapshot ${file} not written (published only): ${errorMessage(err)}`);
      }
    }
    return { trackId: best.trackId, eventId, label: best.label, jpeg, path };
  }

  /** At most one warning a minute: a full disk must not flood the log. */
  private warn(msg: string): void {
    const now = Date.now();
    if (now - this.warnedAt < 60_000) return;
    this.warnedAt = now;
    this.o.logger.warn({ camera: this.o.camera }, msg);
  }
}
