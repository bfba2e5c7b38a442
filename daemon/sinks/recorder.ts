import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PixelFormat } from '../core/frame.js';
import { errorMessage, RuntimeFailure } from '../core/errors.js';
import { makeDirs } from '../core/files.js';
import type { Logger } from '../core/log.js';
import { Mp4Writer } from './mp4-writer.js';

export interface RecordSettings {
  path: string;
  segment_seconds: number;
  retain_days: number;
  /** delete oldest segments while the disk has less free space than this (percent) */
  min_free_percent: number;
  /** libx264 preset and quality (default mp4-writer DEFAULT_PRESET and DEFAULT_CRF); the Jetson's hardware encoder ignores them */
  preset?: string;
  crf?: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `<path>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4` in local time (docs/outputs.md). */
export function segmentPath(root: string, camera: string, when: Date): string {
  const day = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
  const time = `${pad(when.getHours())}-${pad(when.getMinutes())}-${pad(when.getSeconds())}`;
  return join(root, camera, day, `${time}.mp4`);
}

/** Every segment of a camera, oldest first (by the date/time in its path). */
export function listSegments(root: string, camera: string): string[] {
  const dir = join(root, camera);
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const day of readdirSync(dir)
    .filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))
    .sort()) {
    for (const f of readdirSync(join(dir, day))
      .filter((f) => /^\d{2}-\d{2}-\d{2}(-\d+)?\.mp4$/.test(f))
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

/**
 * Records one camera as consecutive fragmented MP4 segments: each frame goes to exactly one
 * segment (no gaps), a new segment starts once `segment_seconds` of source time have passed.
 * Applies retention after each rotation: by age, then oldest first while the disk is nearly full.
 */
export class SegmentRecorder {
  private writer: Mp4Writer | null = null;
  private segmentStartPts = 0;
  private readonly finishing: Array<Promise<void>> = [];
  readonly written: string[] = [];

  constructor(
    private readonly camera: string,
    private readonly settings: RecordSettings,
    private readonly video: { width: number; height: number; fps: string | number; pixelFormat?: PixelFormat; timescale?: number | null },
    private readonly logger: Logger,
    /** how full the disk is; df by default (tests simulate a filling disk) */
    private readonly diskFree: (path: string) => Promise<number | null> = freePercent,
  ) {}

  async write(frame: Buffer, pts: number): Promise<void> {
    if (!this.writer || pts - this.segmentStartPts >= this.settings.segment_seconds) this.rotate(pts);
    await (this.writer as Mp4Writer).write(frame, pts);
  }

  private rotate(pts: number): void {
    if (this.writer) this.finishInBackground(this.writer);
    const base = segmentPath(this.settings.path, this.camera, new Date());
    let file = base;
    // several segments can start within one second (fast file sources): -1, -2, ...
    for (let i = 1; existsSync(file) || this.written.includes(file); i++) file = base.replace(/\.mp4$/, `-${i}.mp4`);
    try {
      makeDirs(dirname(file));
    } catch (err) {
      throw new RuntimeFailure(
        `record.path ${this.settings.path}: cannot create the recordings folder: ${errorMessage(err)} (point record.path at a writable folder)`,
      );
    }
    this.writer = new Mp4Writer(file, { ...this.video, preset: this.settings.preset, crf: this.settings.crf });
    this.segmentStartPts = pts;
    this.written.push(file);
    this.logger.info({ file }, 'recording segment started');
    void this.applyRetention();
  }

  private finishInBackground(w: Mp4Writer): void {
    const p = w.finish().then(
      () => this.logger.info({ file: w.file, frames: w.frames }, 'recording segment finished'),
      (err: Error) => this.logger.error({ file: w.file, err }, 'recording segment failed'),
    );
    this.finishing.push(p);
  }

  /** The segment being written now, if any. */
  get currentFile(): string | null {
    return this.writer ? this.writer.file : null;
  }

  async close(): Promise<void> {
    if (this.writer) this.finishInBackground(this.writer);
    this.writer = null;
    await Promise.all(this.finishing.splice(0));
  }

  async applyRetention(now = Date.now()): Promise<string[]> {
    const deleted: string[] = [];
    const current = this.currentFile;
    const segments = listSegments(this.settings.path, this.camera).filter((f) => f !== current);
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
        rmdirSync(join(f, '..'));
      } catch {
        /* not empty */
      }
    }
    if (deleted.length) this.logger.info({ deleted: deleted.length }, 'old recordings deleted');
    return deleted;
  }
}
