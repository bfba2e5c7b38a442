import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { RuntimeFailure } from '../core/errors.js';
import { passthroughArgs } from '../media/ffmpeg-features.js';
import { ffmpegPath, ffmpegPixelFormat } from '../media/image-io.js';
import { spawnMedia } from '../media/media-process.js';
import type { VideoInfo } from '../media/probe.js';
import { COPY_OUTPUT_ARGS, type StreamCopy } from '../media/stream-copy.js';
import { frameBytes, type Frame, type PixelFormat } from '../core/frame.js';
import { FramePool } from './frame-pool.js';
import { PipeFrameReader } from './pipe-frame-reader.js';

/** What the decoders produce and the encoders take: nothing converts colours on the way. */
const PIXEL_FORMAT: PixelFormat = 'i420';

const SHOWINFO = /n:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[\d.e+-]+)/;

/**
 * Decodes a video file with ffmpeg into I420 frames (the decoders' own layout: no colour conversion,
 * half the bytes of RGB), in order, each with its index and pts.
 * Pull-based: ffmpeg is only read as fast as the consumer asks, so a file never drops a frame
 * (the pipe fills and ffmpeg waits). Pts come from ffmpeg's showinfo filter on stderr.
 */
export class FfmpegFileSource {
  readonly pool: FramePool;
  readonly live = false;
  private proc: ChildProcess | null = null;
  private stopped = false;
  /** ffmpeg's own error lines, for the one-line error a user sees */
  readonly errors: string[] = [];
  /** frames delivered, across loops */
  delivered = 0;

  readonly info: VideoInfo & { pixelFormat: PixelFormat };

  constructor(
    readonly file: string,
    info: VideoInfo,
    /** realtime: frames at the file's own rate (ffmpeg -re), as a camera would deliver them */
    private readonly opts: { loop?: boolean; realtime?: boolean; poolSize?: number; copy?: StreamCopy | null } = {},
  ) {
    this.info = { ...info, pixelFormat: PIXEL_FORMAT };
    this.pool = new FramePool(frameBytes(PIXEL_FORMAT, info.width, info.height), opts.poolSize ?? 16);
  }

  /** the file's own video packets beside the frames (record.mode raw), when asked for */
  get copy(): StreamCopy | null {
    return this.opts.copy ?? null;
  }

  async *frames(): AsyncGenerator<Frame> {
    let ptsOffset = 0;
    do {
      let lastPts = 0;
      let count = 0;
      for await (const frame of this.decodeOnce(ptsOffset)) {
        lastPts = frame.pts;
        count++;
        yield frame;
      }
      if (count === 0 || this.stopped) break;
      ptsOffset = lastPts + 1 / this.info.fps;
    } while (this.opts.loop && !this.stopped);
  }

  private async *decodeOnce(ptsOffset: number): AsyncGenerator<Frame> {
    const { width, height } = this.info;
    const args = [
      '-nostdin',
      '-nostats',
      '-hide_banner',
      '-loglevel',
      'info',
      ...(this.opts.realtime ? ['-re'] : []),
      '-i',
      this.file,
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      'showinfo=checksum=0',
      ...(await passthroughArgs()),
      '-f',
      'rawvideo',
      '-pix_fmt',
      ffmpegPixelFormat(PIXEL_FORMAT),
      'pipe:1',
    ];
    const copy = this.opts.copy ?? null;
    if (copy) args.push(...COPY_OUTPUT_ARGS);
    const reader = new PipeFrameReader();
    const proc = spawnMedia(ffmpegPath(), args, { stdio: copy ? ['ignore', reader.childFd, 'pipe', 'ignore', 'pipe'] : ['ignore', reader.childFd, 'pipe'] });
    // the copy's times follow the frames' own: from the first keyframe, after this loop's offset
    const copied = copy ? copy.connect(proc.stdio[4] as Readable, copy.baseFor(ptsOffset, 1 / this.info.fps)) : null;
    reader.start();
    reader.setFrame(this.pool);
    this.proc = proc;
    const pts = new Map<number, number>();
    let waiter: (() => void) | null = null;
    let stderrDone = false;
    const wake = () => {
      const w = waiter;
      waiter = null;
      w?.();
    };
    const lines = createInterface({ input: proc.stderr as Readable });
    lines.on('line', (line) => {
      const m = SHOWINFO.exec(line);
      if (m) {
        pts.set(Number(m[1]), Number(m[3]));
        wake();
      } else if (/error|invalid|corrupt|truncat|not found|no such|could not|failed/i.test(line) && this.errors.length < 20) {
        this.errors.push(line.replace(/^\[[^\]]+\]\s*/, '').trim());
      }
    });
    lines.on('close', () => {
      stderrDone = true;
      wake();
    });
    const exited = new Promise<number | null>((resolve) => {
      proc.on('close', (code) => resolve(code));
      proc.on('error', (err) => {
        this.errors.push(err.message);
        resolve(-1);
      });
    });

    let index = 0;
    let firstPts: number | null = null;
    const ptsOf = async (n: number): Promise<number> => {
      while (!pts.has(n) && !stderrDone) await new Promise<void>((r) => (waiter = r));
      const p = pts.get(n);
      pts.delete(n);
      return p ?? n / this.info.fps;
    };
    try {
      for (let buf = await reader.next(); buf; buf = await reader.next()) {
        if (this.stopped) {
          this.pool.release(buf);
          break;
        }
        const raw = await ptsOf(index);
        if (firstPts === null) firstPts = raw;
        const pts = Number((raw - firstPts + ptsOffset).toFixed(6));
        const frame: Frame = { data: buf, width, height, index: this.delivered, pts, format: PIXEL_FORMAT, ...(copy ? { streamTime: pts } : {}) };
        index++;
        this.delivered++;
        yield frame;
      }
    } finally {
      reader.close();
      if (proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
      this.proc = null;
    }
    const code = await exited;
    await copied; // the last packets reach the recorder before the frames end
    if (this.stopped) return;
    if (index === 0) {
      throw new RuntimeFailure(
        `${this.file}: no frames could be decoded${this.errors.length ? ` (${this.errors[this.errors.length - 1]})` : ''} (corrupt or not a video file?)`,
      );
    }
    // Decoded what could be decoded; the caller reports the damage but keeps the frames.
    // ffmpeg exits 0 on a file cut short: an MP4 logs "partial file" / corrupt packets and stops at
    // the cut (fewer frames than it states, with error lines); a Matroska file just ends (fewer
    // frames than its video stream's stated length, no error at all).
    const stated = this.info.frameCount;
    const short = stated !== null && index < stated;
    if (this.errors.length > 0 && (code !== 0 || short)) {
      const of = stated !== null ? ` of ${stated}` : '';
      this.truncated = `${this.file}: decoding stopped early after ${index}${of} frames (${this.errors[this.errors.length - 1]})`;
    } else if (stated === null && this.info.videoDuration && index < 0.9 * this.info.videoDuration * this.info.fps) {
      const got = (index / this.info.fps).toFixed(1);
      this.truncated = `${this.file}: the video ends after ${index} frames (${got} s) but the file says it lasts ${this.info.videoDuration.toFixed(1)} s (cut short?)`;
    }
  }

  /** Set when ffmpeg failed part-way (truncated or corrupt file): the frames before it were delivered. */
  truncated: string | null = null;

  stop(): void {
    this.stopped = true;
    this.proc?.kill('SIGKILL');
  }
}
