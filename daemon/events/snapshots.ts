/**
 * Snapshots (cameras.<name>.snapshots): the best frame (highest score) of each object as a JPEG
 * with its box drawn. Drawing happens in the addon (a worker thread) on a scratch copy, encoding
 * in an ffmpeg child process, one at a time per camera; an object's snapshot is encoded when it
 * becomes an event, again (at most every `minIntervalMs`) when its best frame gets better, and
 * once more when it ends if it got better since.
 *
 * Memory is bounded and reused (FrameCopies): the pipeline's pooled frame is copied once per frame
 * in which some object's score rose (the objects that rose share the copy) into a buffer of the
 * snapshotter's own, and an object keeps its best frame only until that frame is encoded (an
 * object that is not an event yet keeps it until it becomes one or is gone). At most
 * copyLimit copies (MAX_COPY_BYTES: 8 at 1080p) are held or kept for reuse at once; while they
 * are all held, events whose snapshot is made already give up their better frame, then objects
 * that are not events yet give theirs up (`evicted`), and when only events waiting for their
 * first snapshot hold them a better frame is not taken (`skipped`). Before, every rise copied into a new frame-sized buffer (five a second at 1080p on a
 * busy street, 16 MB/s of garbage) and every followed object kept its copy for its whole life (up
 * to events.max_objects of them): the daemon's RSS grew with the number of objects in view.
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

/** the bytes of frame copies held or idle at once at most: 8 frames at 1080p I420, more of smaller ones */
export const MAX_COPY_BYTES = 25 * 1024 * 1024;
/** copies at most whatever their size, and at least */
export const MAX_FRAME_COPIES = 32;
export const MIN_FRAME_COPIES = 2;

/** How many frame copies of `bytes` each the snapshotter keeps at most. */
export function copyLimit(bytes: number): number {
  return Math.max(MIN_FRAME_COPIES, Math.min(MAX_FRAME_COPIES, Math.floor(MAX_COPY_BYTES / Math.max(1, bytes))));
}

/**
 * The snapshotter's frame copies: reference-counted buffers (one per frame, shared by the objects
 * whose best it is), reused once no object holds them. Buffers and idle ones together stay within
 * MAX_FRAME_COPIES and MAX_COPY_BYTES.
 */
export class FrameCopies {
  private readonly refs = new Map<Buffer, number>();
  private idle: Buffer[] = [];

  /** copies held now (by objects) */
  get held(): number {
    return this.refs.size;
  }

  /** buffers allocated or kept now, held and idle */
  get buffers(): number {
    return this.refs.size + this.idle.length;
  }

  private limit(bytes: number): number {
    return copyLimit(bytes);
  }

  /** A copy of `src` held `holders` times, or null when the copies allowed are all held. */
  copy(src: Uint8Array, holders: number): Buffer | null {
    const bytes = src.byteLength;
    if (this.idle.length && this.idle[0].length !== bytes) this.idle = []; // another frame size
    if (this.refs.size >= this.limit(bytes)) return null;
    const b = this.idle.pop() ?? Buffer.allocUnsafe(bytes);
    b.set(src);
    this.refs.set(b, holders);
    return b;
  }

  /** One holder of `b` lets it go; the last one makes it reusable. */
  release(b: Buffer): void {
    const n = (this.refs.get(b) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(b, n);
      return;
    }
    if (!this.refs.delete(b)) return;
    if (this.buffers < this.limit(b.length) && (this.idle.length === 0 || this.idle[0].length === b.length)) this.idle.push(b);
  }
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

/**
 * Which of two entries due for an encode goes first: never encoded before encoded (a first
 * snapshot), among those an ended object first (its `end` event waits for the snapshot, and a busy
 * camera may have a queue of first snapshots longer than that wait), then the longest waiting.
 */
function before(a: Entry, b: Entry): boolean {
  const first = (e: Entry) => e.lastEncodedAt === -Infinity;
  if (first(a) !== first(b)) return first(a);
  if (a.ended !== b.ended) return a.ended;
  return a.lastEncodedAt < b.lastEncodedAt;
}

export class Snapshotter {
  private readonly entries = new Map<number, Entry>();
  private readonly copies = new FrameCopies();
  /** the frame an encode draws its box into (one encode at a time) */
  private scratch: Buffer | null = null;
  private busy: Promise<void> | null = null;
  /** the object whose snapshot is being encoded now */
  private encoding: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private madeDir = false;
  private warnedAt = -Infinity;
  /** snapshots made, and those that failed */
  made = 0;
  failed = 0;
  /** better frames not taken because every frame copy was held by objects that are events */
  skipped = 0;
  /** best frames of objects that were not events yet let go to make room (evict) */
  evicted = 0;

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
   * them (synchronously: the pipeline reuses its buffer) and becomes their best. While every frame
   * copy is held, the frame is not taken and the objects keep the best they have.
   */
  offer(frame: Frame, improved: ReadonlyArray<{ trackId: number; box: Box; label: string; classId: number; score: number }>): void {
    if (improved.length === 0) return;
    const data = this.copies.copy(frame.data, improved.length) ?? (this.evict(improved) ? this.copies.copy(frame.data, improved.length) : null);
    if (!data) {
      this.skipped++;
      return;
    }
    for (const d of improved) {
      const e = this.entry(d.trackId);
      if (e.best) this.copies.release(e.best.data);
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

  /**
   * Every frame copy is held: some objects let theirs go until a copy is free. First events whose
   * snapshot was made already and whose better frame waits for its next encode (they keep the
   * snapshot they have), the oldest encoded first; then objects that are not events yet (they
   * may never be: filtered, or seen too few times), lowest score first. Events still waiting for
   * their first snapshot keep theirs. True when a copy was freed.
   */
  private evict(improved: ReadonlyArray<{ trackId: number }>): boolean {
    const rising = new Set(improved.map((d) => d.trackId));
    const held = [...this.entries].filter(([id, e]) => e.best && !rising.has(id) && this.encoding !== id);
    const encoded = held.filter(([, e]) => e.eventId !== null && e.lastEncodedAt > -Infinity).sort((a, b) => a[1].lastEncodedAt - b[1].lastEncodedAt);
    const early = held.filter(([, e]) => e.eventId === null).sort((a, b) => (a[1].best as Best).score - (b[1].best as Best).score);
    const before = this.copies.held;
    for (const [, e] of [...encoded, ...early]) {
      this.dropBest(e);
      e.dirty = false;
      this.evicted++;
      if (this.copies.held < before) return true;
    }
    return false;
  }

  /** The entry's best frame is not needed any more (encoded, or the object is gone). */
  private dropBest(e: Entry): void {
    if (!e.best) return;
    this.copies.release(e.best.data);
    e.best = null;
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
    if (e.eventId === null || !e.dirty) {
      // (an encode of it that runs now copied the frame when it started)
      this.dropBest(e);
      this.entries.delete(trackId);
    } else {
      e.ended = true;
      this.pump();
    }
  }

  /**
   * Is this an event with no frame to make its first snapshot from (its best frame was let go
   * before it became an event, or never taken while every copy was held)? The camera then offers
   * the next frame it is seen in, whatever its score: without it the event would end with no
   * snapshot unless its score rose above its best again.
   */
  needsFrame(trackId: number): boolean {
    const e = this.entries.get(trackId);
    return !!e && e.eventId !== null && !e.ended && e.best === null && e.lastEncodedAt === -Infinity && this.encoding !== trackId;
  }

  /** Is a snapshot of this object waiting to be encoded, or being encoded now? */
  pending(trackId: number): boolean {
    const e = this.entries.get(trackId);
    return this.encoding === trackId || (!!e && e.eventId !== null && e.dirty && e.best !== null);
  }

  /** Frame copies held now (each shared by the objects whose best frame it is). */
  get held(): number {
    return this.copies.held;
  }

  /** Frame-sized buffers the snapshotter has now: copies held or kept for reuse, and the scratch frame. */
  get buffers(): number {
    return this.copies.buffers + (this.scratch ? 1 : 0);
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
        if (!next || before(e, next[1])) next = item;
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
        // encoded and not better since: the frame is not needed any more
        if (!e.dirty && e.best === best) this.dropBest(e);
        if (e.ended && !e.dirty) this.entries.delete(trackId);
        this.busy = null;
        this.encoding = null;
        this.o.onSettled?.(trackId);
        this.pump();
      });
  }

  /** Draws and encodes `best`; its pixels are copied into the scratch frame before it returns (the caller may let the frame go). */
  private async make(best: Best, eventId: string): Promise<SnapshotResult> {
    if (!this.scratch || this.scratch.length !== best.data.length) this.scratch = Buffer.allocUnsafe(best.data.length);
    const scratch = this.scratch;
    scratch.set(best.data);
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
