import { createWriteStream, type WriteStream } from 'node:fs';
import type { Detection } from '../core/detection.js';
import type { Logger } from '../core/log.js';

/**
 * The detections beside a camera-stream segment (record.mode raw): `<segment>.jsonl`, a header
 * line and then one line per detector frame, `{"pts", "frame", "detections"}`, `pts` in seconds
 * from the start of the segment's video (docs/outputs.md). The web UI draws them over the video.
 *
 * Frames and packets reach the recorder on two paths: a packet is usually copied before its frame
 * has been decoded and through the detector, but not always. So a detection goes to the segment
 * whose time span holds its stream time: one later than every packet so far waits (bounded) until
 * a packet at or after it says which segment that is; a segment's file stays open until a
 * detection of a later segment arrives (at most MAX_OPEN files), then it is complete.
 *
 * A copied stream with B-frames does not start at 0 in its MP4 (ffmpeg's muxer makes the first
 * decode time 0, so the first picture is shown a frame or two later): lines wait until the
 * recorder has read that start from the segment's first fragment (`videoStart`), and their `pts`
 * is then the video element's media time of the frame.
 */

export interface SegmentHeader {
  camera: string;
  file: string;
  width: number;
  height: number;
  codec: string;
}

interface Open {
  start: number;
  out: WriteStream;
  path: string;
  lines: number;
  failed: boolean;
  /** the video's first presentation time in the segment file, once read from it (null: lines wait in `held`) */
  videoStart: number | null;
  held: Pending[];
  /** a detection of a later segment came: no more lines for this one (it ends once its start is known) */
  complete: boolean;
}

interface Pending {
  time: number;
  frame: number;
  detections: Detection[];
}

/**
 * a frame's time and its packet's may differ by this much (Matroska keeps milliseconds, a decoder's
 * own times are finer): a frame this close to a segment's first packet is that packet's picture
 */
const SAME_PICTURE = 0.004;
/** segment files kept open for detections still on their way */
const MAX_OPEN = 4;
/** detections waiting for their packet at most (about 10 s at 30 FPS) */
const MAX_PENDING = 300;
/** lines of a segment held until its video's start time is known, at most (then it counts as 0) */
const MAX_HELD = 900;

/** `<dir>/<name>.mp4` → `<dir>/<name>.jsonl` */
export function detectionsPath(segment: string): string {
  return segment.replace(/\.mp4$/, '.jsonl');
}

/** One detection line (source pixels, as in the MQTT detection message). */
function line(pts: number, frame: number, detections: Detection[]): string {
  return `${JSON.stringify({ pts: Number(pts.toFixed(3)), frame, detections })}\n`;
}

export class SegmentDetections {
  private readonly open: Open[] = [];
  private pending: Pending[] = [];
  /** the latest packet time seen (detections up to it can be placed) */
  private known = Number.NEGATIVE_INFINITY;
  /** detection lines written, dropped (no segment holds their time, or a file failed) */
  written = 0;
  dropped = 0;

  constructor(private readonly logger: Logger) {}

  /** A new segment starts at `start` (stream time of its first packet): its file gets its header line. */
  segment(segmentFile: string, start: number, header: SegmentHeader): void {
    const path = detectionsPath(segmentFile);
    const out = createWriteStream(path, { flags: 'a' });
    const seg: Open = { start, out, path, lines: 0, failed: false, videoStart: null, held: [], complete: false };
    out.on('error', (err) => {
      if (!seg.failed) this.logger.warn({ file: path, error: err.message }, 'detections file failed (the video segment goes on)');
      seg.failed = true;
    });
    out.write(`${JSON.stringify({ type: 'segment', ...header })}\n`);
    this.open.push(seg);
    while (this.open.length > MAX_OPEN) this.closeOldest();
  }

  /** A packet at `time` reached the current segment: detections up to it can be placed. */
  packet(time: number): void {
    time += SAME_PICTURE;
    if (time <= this.known) return;
    this.known = time;
    if (this.pending.length === 0 || this.pending[0].time > time) return;
    const ready = this.pending.filter((p) => p.time <= time);
    this.pending = this.pending.filter((p) => p.time > time);
    for (const p of ready) this.place(p);
  }

  /** One detector frame's detections at stream time `time`. */
  add(time: number, frame: number, detections: Detection[]): void {
    const p = { time, frame, detections };
    if (time > this.known) {
      this.pending.push(p);
      if (this.pending.length > MAX_PENDING) {
        this.pending.shift();
        this.dropped++;
      }
      return;
    }
    this.place(p);
  }

  private place(p: Pending): void {
    let at = -1;
    for (let i = this.open.length - 1; i >= 0; i--) {
      if (this.open[i].start <= p.time + SAME_PICTURE) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      this.dropped++;
      return;
    }
    const seg = this.open[at];
    // detections come in time order: the segments before this one get no more lines
    for (const older of this.open.slice(0, at)) {
      older.complete = true;
      if (older.videoStart !== null) this.end(older);
    }
    if (seg.videoStart === null) {
      seg.held.push(p);
      if (seg.held.length > MAX_HELD) this.videoStartOf(seg, 0);
      return;
    }
    this.write(seg, p);
  }

  private write(seg: Open, p: Pending): void {
    if (seg.failed) {
      this.dropped++;
      return;
    }
    seg.out.write(line(Math.max(0, p.time - seg.start) + (seg.videoStart ?? 0), p.frame, p.detections));
    seg.lines++;
    this.written++;
  }

  /** The segment file's video starts at `seconds` (media time of its first picture): its held lines go out. */
  videoStart(segmentFile: string, seconds: number): void {
    const seg = this.open.find((o) => o.path === detectionsPath(segmentFile));
    if (seg) this.videoStartOf(seg, seconds);
  }

  private videoStartOf(seg: Open, seconds: number): void {
    if (seg.videoStart !== null) return;
    seg.videoStart = seconds;
    for (const p of seg.held.splice(0)) this.write(seg, p);
    if (seg.complete) this.end(seg);
  }

  private end(seg: Open): void {
    const i = this.open.indexOf(seg);
    if (i >= 0) this.open.splice(i, 1);
    seg.out.end();
  }

  /** Whether the segment still waits for its video's start time. */
  waitsForStart(segmentFile: string): boolean {
    return this.open.some((o) => o.path === detectionsPath(segmentFile) && o.videoStart === null);
  }

  /** More than MAX_OPEN files: the oldest ends now (its start as 0 if still unknown). */
  private closeOldest(): void {
    const seg = this.open[0];
    if (!seg) return;
    seg.complete = true;
    this.videoStartOf(seg, 0);
    this.end(seg);
  }

  /** The segment at `segmentFile` failed and was deleted: its detections file goes too. */
  discard(segmentFile: string): void {
    const path = detectionsPath(segmentFile);
    const i = this.open.findIndex((o) => o.path === path);
    if (i >= 0) {
      const [seg] = this.open.splice(i, 1);
      seg.failed = true;
      seg.out.destroy();
    }
  }

  /** The camera stops: what waits goes to the last segment, every file is closed. */
  async close(): Promise<void> {
    this.known = Number.POSITIVE_INFINITY;
    for (const p of this.pending.splice(0)) this.place(p);
    for (const seg of this.open) this.videoStartOf(seg, 0);
    const ends = this.open.splice(0).map((seg) => new Promise<void>((resolve) => (seg.failed ? resolve() : seg.out.end(resolve))));
    await Promise.all(ends);
  }
}
