/**
 * /api/events/<id>/clip.mp4: the recording around an event, from CLIP_BEFORE_S before it started to
 * CLIP_AFTER_S after it ended, cut from the camera's segments with `ffmpeg -c copy` (no re-encode;
 * it starts at the keyframe before). At most MAX_CUTS ffmpeg processes at once and MAX_WAITING
 * requests waiting for one (more: busy); the same clip asked twice is cut once. Clips of ended
 * events are kept in the cache folder (at most CACHE_FILES files, the oldest go); an active
 * event's clip is cut again when it is older than 10 s.
 */
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { makeDirs } from '../core/files.js';
import { ffmpegPath, ffprobePath } from '../media/image-io.js';
import { spawnMedia } from '../media/media-process.js';
import type { Segment } from './recordings-index.js';

export const CLIP_BEFORE_S = 5;
export const CLIP_AFTER_S = 5;
const MAX_CUTS = 2;
const MAX_WAITING = 8;
const CACHE_FILES = 50;
const ACTIVE_FRESH_MS = 10_000;
const CUT_TIMEOUT_MS = 60_000;

export class ClipBusy extends Error {}
export class NoRecording extends Error {}

export interface ClipEvent {
  id: string;
  start_time: number;
  end_time: number | null;
}

export class EventClips {
  private running = 0;
  private readonly queue: Array<() => void> = [];
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly cacheDir: string) {}

  /** The window of an event's clip (seconds since the epoch). */
  static window(event: ClipEvent, now = Date.now() / 1000): { from: number; to: number } {
    return { from: event.start_time - CLIP_BEFORE_S, to: (event.end_time ?? now) + CLIP_AFTER_S };
  }

  /** The clip file of an event, cut from `segments` (those covering its window) when not cached. */
  async clip(event: ClipEvent, segments: Segment[]): Promise<string> {
    const active = event.end_time === null;
    const file = join(this.cacheDir, `${event.id.replace(/[^\w.-]/g, '_')}${active ? '.active' : ''}.mp4`);
    try {
      const st = await fsp.stat(file);
      if (!active || Date.now() - st.mtimeMs < ACTIVE_FRESH_MS) return file;
    } catch {
      // not cut yet
    }
    const key = file;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    if (segments.length === 0) throw new NoRecording('no recording covers this event (recording off, or its segments were deleted)');
    if (this.running >= MAX_CUTS && this.queue.length >= MAX_WAITING) throw new ClipBusy('too many clips are being cut; try again in a few seconds');
    const job = this.slot(() => this.cut(event, segments, file)).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, job);
    return job;
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= MAX_CUTS) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  private async cut(event: ClipEvent, segments: Segment[], file: string): Promise<string> {
    makeDirs(this.cacheDir);
    const { from, to } = EventClips.window(event);
    const list = `${file}.${process.pid}.txt`;
    const tmp = `${file}.${process.pid}.tmp.mp4`;
    // the concat demuxer's inpoint/outpoint: from the keyframe before `from` in the first segment
    // to `to` in the last. A segment's times are wall clock (its name, its last write); its video
    // may be shorter where the camera fell behind (a file source on a busy machine): the offset
    // is scaled by the segment's own duration.
    const offset = async (s: Segment, t: number): Promise<number> => {
      const wall = Math.max(0.001, s.end - s.start);
      const media = await probeDuration(s.path);
      return Math.max(0, Math.min(media ?? wall, ((t - s.start) * (media ?? wall)) / wall));
    };
    const lines: string[] = [];
    for (const [i, s] of segments.entries()) {
      let entry = `file '${s.path.replace(/'/g, "'\\''")}'\n`;
      if (i === 0 && from > s.start) entry += `inpoint ${(await offset(s, from)).toFixed(3)}\n`;
      if (i === segments.length - 1 && to < s.end) entry += `outpoint ${(await offset(s, to)).toFixed(3)}\n`;
      lines.push(entry);
    }
    await fsp.writeFile(list, lines.join(''));
    const args = [
      '-v',
      'error',
      '-y',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      list,
      '-map',
      '0:v:0',
      '-c',
      'copy',
      '-avoid_negative_ts',
      'make_zero',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      tmp,
    ];
    try {
      await runFfmpeg(args);
      await fsp.rename(tmp, file);
    } finally {
      await fsp.unlink(list).catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
    }
    await this.evict().catch(() => undefined);
    return file;
  }

  /** Keeps the newest CACHE_FILES clips. */
  private async evict(): Promise<void> {
    const names = (await fsp.readdir(this.cacheDir)).filter((n) => n.endsWith('.mp4') && !n.includes('.tmp.'));
    if (names.length <= CACHE_FILES) return;
    const stats = await Promise.all(names.map(async (n) => ({ n, t: (await fsp.stat(join(this.cacheDir, n))).mtimeMs })));
    stats.sort((a, b) => a.t - b.t);
    for (const { n } of stats.slice(0, stats.length - CACHE_FILES)) await fsp.unlink(join(this.cacheDir, n)).catch(() => undefined);
  }
}

/** A file's duration in seconds (ffprobe), null when it cannot tell. */
function probeDuration(file: string): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(ffprobePath(), ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { timeout: 10_000 }, (err, stdout) => {
      const d = Number(String(stdout).trim());
      resolve(!err && d > 0 ? d : null);
    });
  });
}

function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawnMedia(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr?.on('data', (c: Buffer) => {
      if (err.length < 4096) err += c.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), CUT_TIMEOUT_MS);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`ffmpeg cannot start (${errorMessage(e)})`));
    });
    proc.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg could not cut the clip (${err.trim().split('\n')[0] || `exit code ${code}`})`));
    });
  });
}
