import { execFile } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorMessage, RuntimeFailure } from '../core/errors.js';
import { makeDirs } from '../core/files.js';
import type { Detection } from '../core/detection.js';
import type { Logger } from '../core/log.js';
import type { EncodedStream, EncodedUnit, Subscription } from './encoded-stream.js';
import { detectionsPath, SegmentDetections } from './segment-detections.js';
import { SegmentMuxer } from './segment-muxer.js';

export interface RecordSettings {
  path: string;
  segment_seconds: number;
  retain_days: number;
  /** delete oldest segments while the disk has less free space than this (percent) */
  min_free_percent: number;
  /** libx264 preset and quality of the camera's encoder (default x264.ts DEFAULT_PRESET and DEFAULT_CRF); the Jetson's hardware encoder ignores them */
  preset?: string;
  crf?: number;
  /** what is recorded (default annotated): the annotated encode, the camera's own stream (raw), or both */
  mode?: 'annotated' | 'raw' | 'both';
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * `<path>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>[-n][suffix].mp4` in local time (docs/outputs.md);
 * `n` (1, 2 ...) for another segment that starts in the same second; suffix `.raw` for the camera
 * stream beside the annotated one (record.mode both).
 */
export function segmentPath(root: string, camera: string, when: Date, suffix = '', n = 0): string {
  const day = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
  const time = `${pad(when.getHours())}-${pad(when.getMinutes())}-${pad(when.getSeconds())}`;
  return join(root, camera, day, `${time}${n > 0 ? `-${n}` : ''}${suffix}.mp4`);
}

/** Every segment of a camera with this suffix ('' or '.raw'), oldest first (by the date/time in its path). */
export function listSegments(root: string, camera: string, suffix = ''): string[] {
  const name = new RegExp(`^\\d{2}-\\d{2}-\\d{2}(-\\d+)?${suffix.replace(/\./g, '\\.')}\\.mp4$`);
  const dir = join(root, camera);
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const day of readdirSync(dir)
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort()) {
    for (const f of readdirSync(join(dir, day))
      .filter((f) => name.test(f))
      .sort(bySegmentName)) {
      out.push(join(dir, day, f));
    }
  }
  return out;
}

function bySegmentName(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^(\d{2}-\d{2}-\d{2})(?:-(\d+))?/.exec(s);
    return m ? `${m[1]}.${(m[2] ?? '0').padStart(6, '0')}` : s;
  };
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** Free space of the file system holding `path`, in percent (df works on Node 16, statfs does not). */
export function freePercent(path: string): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('df', ['-Pk', path], (err, stdout) => {
      if (err) return resolve(null);
      const cols = String(stdout).trim().split('\n').pop()?.split(/\s+/) ?? [];
      const size = Number(cols[1]);
      const avail = Number(cols[3]);
      resolve(size > 0 ? (100 * avail) / size : null);
    });
  });
}

/** Whether an MP4 file holds at least one complete fragment (a `moof` box): a playable frame. */
export function hasFragment(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 16);
    let pos = 0;
    // box by box from the start: ftyp, moov, then moof/mdat pairs
    for (let n = 0; n < 64; n++) {
      if (readSync(fd, buf, 0, 16, pos) < 8) return false;
      let size = buf.readUInt32BE(0);
      const type = buf.toString('latin1', 4, 8);
      if (type === 'moof') return true;
      if (size === 1) size = Number(buf.readBigUInt64BE(8));
      if (size < 8) return false;
      pos += size;
    }
    return false;
  } catch {
    return false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * The presentation time (seconds) of the first sample of an MP4's first fragment: the track's
 * timescale (moov/trak/mdia/mdhd), the fragment's base decode time (moof/traf/tfdt) and the first
 * sample's composition offset (trun). 0 for a stream without B-frames; a copied stream with
 * B-frames starts later (ffmpeg's muxer makes the first decode time 0). Null until the file holds a
 * complete first fragment, or when it is not such a file.
 */
export function firstPresentationTime(file: string): number | null {
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const f = fd;
    const read = (pos: number, len: number): Buffer | null => {
      const b = Buffer.alloc(len);
      return readSync(f, b, 0, len, pos) === len ? b : null;
    };
    /** the child boxes of [start, end): type → [payload start, box end] */
    const children = (start: number, end: number): Map<string, [number, number]> => {
      const out = new Map<string, [number, number]>();
      for (let pos = start, n = 0; pos + 8 <= end && n < 64; n++) {
        const h = read(pos, 16) ?? read(pos, 8);
        if (!h) break;
        let size = h.readUInt32BE(0);
        let head = 8;
        if (size === 1 && h.length === 16) {
          size = Number(h.readBigUInt64BE(8));
          head = 16;
        }
        if (size < head) break;
        const type = h.toString('latin1', 4, 8);
        if (!out.has(type)) out.set(type, [pos + head, pos + size]);
        pos += size;
      }
      return out;
    };
    const top = children(0, Number.MAX_SAFE_INTEGER);
    const path = (from: Map<string, [number, number]>, names: string[]): [number, number] | null => {
      let box = from.get(names[0]) ?? null;
      for (const n of names.slice(1)) box = box ? (children(box[0], box[1]).get(n) ?? null) : null;
      return box;
    };
    const mdhd = path(top, ['moov', 'trak', 'mdia', 'mdhd']);
    const moof = top.get('moof');
    if (!mdhd || !moof || moof[1] > fstatSync(f).size) return null;
    const m = read(mdhd[0], 24);
    if (!m) return null;
    const timescale = m[0] === 1 ? m.readUInt32BE(20) : m.readUInt32BE(12);
    const traf = children(moof[0], moof[1]).get('traf');
    const boxes = traf ? children(traf[0], traf[1]) : null;
    const tfdt = boxes?.get('tfdt');
    const trun = boxes?.get('trun');
    if (!tfdt || !trun || !timescale) return null;
    const t = read(tfdt[0], 12);
    const r = read(trun[0], 32);
    if (!t || !r) return null;
    const decode = t[0] === 1 ? Number(t.readBigUInt64BE(4)) : t.readUInt32BE(4);
    const flags = r.readUInt32BE(0) & 0xffffff;
    let at = 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
    at += (flags & 0x100 ? 4 : 0) + (flags & 0x200 ? 4 : 0) + (flags & 0x400 ? 4 : 0);
    const offset = flags & 0x800 ? (r[0] === 1 ? r.readInt32BE(at) : r.readUInt32BE(at)) : 0;
    return (decode + offset) / timescale;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The recording as /healthz, /metrics and the camera status see it. */
export interface RecordingState {
  /** writing a segment now */
  recording: boolean;
  /** why not, while recording stopped on a failure (retrying); null when fine */
  error: string | null;
  /** failures since the recorder started (each series of retries counts once) */
  errors: number;
  /** the segment being written */
  file: string | null;
  /** units lost: the recorder was behind (queue full) or down */
  dropped: number;
}

export interface RecorderTiming {
  /** how often retention runs besides at each new segment (ms; default 60 s) */
  retentionIntervalMs?: number;
  /** first and longest wait before recording is tried again after a failure (ms; default 2 s, 60 s) */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * Records one camera's encoded stream (encoded-stream.ts) as consecutive fragmented MP4 segments,
 * muxed without re-encoding (segment-muxer.ts). A new segment starts at the first keyframe once
 * `segment_seconds` of source time have passed: every unit is in exactly one segment.
 *
 * Isolated from the rest of the camera: it is one subscriber of the stream with its own queue, so a
 * slow or failed disk never holds up detection, MQTT or the RTSP output. A failed segment (a full
 * disk: ENOSPC, a folder gone) is one error line; the recorder then runs retention (deleting the
 * oldest segments), and tries again at a keyframe after 2 s, 4 s ... up to 60 s, with a new
 * segment, until it works: once space is back recording resumes by itself ("recording resumed").
 * Retention also runs at each new segment and every 60 s: by age, then oldest first while the
 * disk has less than `min_free_percent` free.
 */
export class SegmentRecorder {
  private muxer: SegmentMuxer | null = null;
  private segmentStartPts = 0;
  private readonly finishing: Array<Promise<void>> = [];
  readonly written: string[] = [];
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private errorText: string | null = null;
  private errorCount = 0;
  /** failures in a row (the retry backoff) */
  private consecutive = 0;
  private retryAt = 0;
  /** a failure is being handled (the muxer aborted, retention running) */
  private recovering: Promise<void> | null = null;
  /** units not recorded while down */
  private missed = 0;
  private retention: Promise<string[]> | null = null;
  /** called when `state()` changes between recording, failed and resumed */
  onChange: (() => void) | null = null;
  private readonly timing: Required<RecorderTiming>;
  /** the camera's own stream (record.mode raw/both): segments get `.raw` in mode both, and their detections beside them */
  private readonly suffix: string;
  private readonly dets: SegmentDetections | null;

  constructor(
    private readonly camera: string,
    private readonly settings: RecordSettings,
    private readonly logger: Logger,
    /** how full the disk is; df by default (tests simulate a filling disk) */
    private readonly diskFree: (path: string) => Promise<number | null> = freePercent,
    timing: RecorderTiming = {},
    /** which stream this recorder writes: the annotated encode, or the camera's own copied stream */
    stream: 'annotated' | 'camera' = 'annotated',
  ) {
    this.timing = { retentionIntervalMs: 60_000, retryMinMs: 2000, retryMaxMs: 60_000, ...timing };
    this.suffix = stream === 'camera' && settings.mode === 'both' ? '.raw' : '';
    this.dets = stream === 'camera' ? new SegmentDetections(logger) : null;
  }

  /**
   * One detector frame's detections at `streamTime` (the frame's time on the copied stream): a
   * line in the detections file of the segment that holds that time (camera-stream recorders only).
   */
  detections(streamTime: number, frame: number, detections: Detection[]): void {
    this.dets?.add(streamTime, frame, detections);
  }

  /**
   * Records `stream` from its next keyframe on. `lossless` (file sources): the recorder never
   * drops a unit and holds the encoder back instead. Starts the retention timer.
   */
  attach(stream: EncodedStream, opts: { lossless?: boolean; queueLimit?: number } = {}): this {
    this.sub = stream.subscribe((u) => this.write(u), { name: 'recorder', lossless: opts.lossless, queueLimit: opts.queueLimit ?? 256 });
    this.timer = setInterval(() => void this.runRetention(), this.timing.retentionIntervalMs);
    this.timer.unref();
    return this;
  }

  state(): RecordingState {
    return {
      recording: this.muxer !== null && this.errorText === null,
      error: this.errorText,
      errors: this.errorCount,
      file: this.muxer?.file ?? null,
      dropped: this.missed + (this.sub?.dropped ?? 0),
    };
  }

  /** One unit of the stream (the subscription calls it, one at a time). */
  async write(unit: EncodedUnit): Promise<void> {
    if (this.closed) return;
    if (this.recovering) {
      this.missed++;
      return;
    }
    const m = this.muxer;
    const due = !m || unit.pts - this.segmentStartPts >= this.settings.segment_seconds || unit.config !== m.config;
    if (due) {
      if (!unit.keyframe || (this.errorText !== null && Date.now() < this.retryAt)) {
        if (!m) {
          this.missed++;
          return;
        }
      } else if (!this.rotate(unit)) {
        this.missed++;
        return;
      }
    }
    const muxer = this.muxer as SegmentMuxer;
    if (this.errorText !== null && unit.keyframe && muxer.keyframes >= 2 && !muxer.failed) this.resumed();
    this.dets?.packet(unit.pts);
    try {
      await muxer.write(unit);
    } catch (err) {
      this.failed(muxer, err);
    }
    // a camera stream's segment: where its video starts, once its first fragment is on disk
    if (unit.keyframe && muxer.keyframes >= 2) this.readVideoStart(muxer.file);
  }

  /** `finished`: the segment's file is complete, its start is what it says or 0 */
  private readVideoStart(file: string, finished = false): void {
    if (!this.dets?.waitsForStart(file)) return;
    const t = firstPresentationTime(file);
    if (t !== null || finished) this.dets.videoStart(file, t ?? 0);
  }

  /** Starts a new segment at this keyframe; false when the folder cannot be made (failed). */
  private rotate(unit: EncodedUnit): boolean {
    if (this.muxer) this.finishInBackground(this.muxer);
    this.muxer = null;
    const now = new Date();
    let file = segmentPath(this.settings.path, this.camera, now, this.suffix);
    // several segments can start within one second (fast file sources): -1, -2, ...
    for (let i = 1; existsSync(file) || this.written.includes(file); i++) file = segmentPath(this.settings.path, this.camera, now, this.suffix, i);
    try {
      makeDirs(dirname(file));
    } catch (err) {
      this.failed(
        null,
        new RuntimeFailure(
          `record.path ${this.settings.path}: cannot create the recordings folder: ${errorMessage(err)} (point record.path at a writable folder)`,
        ),
      );
      return false;
    }
    const muxer = new SegmentMuxer(file, unit.config);
    muxer.onFailure = (err) => this.failed(muxer, err);
    this.muxer = muxer;
    this.segmentStartPts = unit.pts;
    this.written.push(file);
    if (this.written.length > 1000) this.written.splice(0, this.written.length - 100);
    const c = unit.config;
    this.dets?.segment(file, unit.pts, { camera: this.camera, file: basename(file), width: c.width, height: c.height, codec: c.codec });
    // while failing, each retry's segment is not a line of its own (the failure was one, the resume is one)
    if (this.errorText === null) this.logger.info({ file }, 'recording segment started');
    else this.logger.debug({ file }, 'recording segment started (retry)');
    void this.runRetention();
    return true;
  }

  private resumed(): void {
    this.logger.info({ file: this.muxer?.file, missed_units: this.missed }, 'recording resumed');
    this.errorText = null;
    this.consecutive = 0;
    this.onChange?.();
  }

  /** A segment failed: one error line (per series), the segment aborted, retention run, a retry planned. */
  private failed(muxer: SegmentMuxer | null, err: unknown): void {
    if (this.closed || this.recovering || (muxer && muxer !== this.muxer)) return;
    const why = errorMessage(err);
    this.consecutive++;
    const wait = Math.min(this.timing.retryMaxMs, this.timing.retryMinMs * 2 ** (this.consecutive - 1));
    const first = this.errorText === null;
    this.errorText = why;
    if (first) {
      this.errorCount++;
      this.logger.error({ error: why }, `recording stopped: ${why} (detection, MQTT and RTSP go on; recording is tried again by itself)`);
    } else {
      this.logger.debug({ error: why, retry_in_ms: wait }, 'recording still failing');
    }
    this.muxer = null;
    this.recovering = (async () => {
      if (muxer) {
        await muxer.abort();
        // a segment with no complete fragment has no playable frame: it goes
        if (!hasFragment(muxer.file)) {
          this.dets?.discard(muxer.file);
          for (const f of [muxer.file, detectionsPath(muxer.file)]) {
            try {
              unlinkSync(f);
            } catch {
              /* never created */
            }
          }
        }
      }
      await this.runRetention();
      this.retryAt = Date.now() + wait;
    })()
      .catch(() => undefined)
      .finally(() => {
        this.recovering = null;
      });
    if (first) this.onChange?.();
  }

  private finishInBackground(m: SegmentMuxer): void {
    const p = m.finish().then(
      () => {
        this.readVideoStart(m.file, true);
        this.logger.info({ file: m.file, frames: m.units }, 'recording segment finished');
      },
      // the segment's end is lost (its fragments before it play); the current segment fails on its own if the disk is full
      (err: Error) => this.logger.error({ file: m.file, error: errorMessage(err) }, 'recording segment failed at its end'),
    );
    this.finishing.push(p);
  }

  /** The segment being written now, if any. */
  get currentFile(): string | null {
    return this.muxer ? this.muxer.file : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sub?.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    await this.recovering;
    const m = this.muxer;
    this.muxer = null;
    if (m) {
      await m.finish().then(
        () => {
          this.readVideoStart(m.file, true);
          this.logger.info({ file: m.file, frames: m.units }, 'recording segment finished');
        },
        (err: Error) => {
          this.errorText ??= errorMessage(err);
          this.logger.error({ file: m.file, err }, 'recording segment failed');
        },
      );
    }
    await Promise.all(this.finishing.splice(0));
    await this.dets?.close();
    await this.retention;
  }

  /** Retention, one run at a time (the timer, new segments and failures ask for it). */
  private runRetention(): Promise<string[]> {
    this.retention ??= this.applyRetention()
      .catch((err: unknown) => {
        this.logger.warn({ error: errorMessage(err) }, 'retention failed');
        return [];
      })
      .finally(() => {
        this.retention = null;
      });
    return this.retention;
  }

  async applyRetention(now = Date.now()): Promise<string[]> {
    const deleted: string[] = [];
    const current = this.currentFile;
    const segments = listSegments(this.settings.path, this.camera, this.suffix).filter((f) => f !== current);
    const cutoff = now - this.settings.retain_days * 86_400_000;
    for (const f of segments) {
      try {
        if (statSync(f).mtimeMs < cutoff) {
          unlinkSync(f);
          deleted.push(f);
        }
      } catch {
        /* already gone */
      }
    }
    const left = segments.filter((f) => !deleted.includes(f));
    while (left.length > 0) {
      const free = await this.diskFree(this.settings.path);
      if (free === null || free >= this.settings.min_free_percent) break;
      const f = left.shift() as string;
      try {
        unlinkSync(f);
        deleted.push(f);
      } catch {
        /* already gone */
      }
    }
    for (const f of deleted) {
      try {
        unlinkSync(detectionsPath(f)); // a camera-stream segment's detections go with it
      } catch {
        /* none */
      }
    }
    for (const f of deleted) {
      // never the folder of the segment being written: ffmpeg may not have created its file yet
      const current = this.currentFile;
      if (current && dirname(current) === dirname(f)) continue;
      try {
        rmdirSync(join(f, '..'));
      } catch {
        /* not empty */
      }
    }
    if (deleted.length) this.logger.info({ deleted: deleted.length }, 'old recordings deleted');
    return deleted;
  }
}
