import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { frameBytes, type Frame, type PixelFormat } from '../core/frame.js';
import { RuntimeFailure } from '../core/errors.js';
import { spawnMedia } from '../media/media-process.js';
import type { Platform } from '../media/platform.js';
import type { VideoInfo } from '../media/probe.js';
import { FramePool } from './frame-pool.js';
import { PipeFrameReader } from './pipe-frame-reader.js';
import { gstPlan } from './source-plans.js';

/**
 * A video file decoded by GStreamer (on a Jetson: qtdemux ! h264parse ! nvv4l2decoder ! nvvidconv,
 * the hardware path; elsewhere decodebin when `decoder: gstreamer` is forced). Frames come on fd 3
 * at the size ffprobe found; the pipe applies backpressure, so no frame is ever dropped. Pts are
 * index / fps (constant frame rate), continuing across loops.
 */
export class GstFileSource {
  readonly live = false;
  readonly pool: FramePool;
  truncated: string | null = null;
  delivered = 0;
  /** set when record.mode raw asked for the file's own stream: GStreamer hands over frames only */
  copyUnavailable: string | null = null;
  private stopped = false;
  private proc: ChildProcess | null = null;

  readonly info: VideoInfo & { pixelFormat: PixelFormat };

  constructor(
    readonly file: string,
    info: VideoInfo,
    private readonly plat: Platform,
    private readonly opts: { loop?: boolean; realtime?: boolean } = {},
  ) {
    this.info = { ...info, pixelFormat: this.plan(info).pixelFormat };
    this.pool = new FramePool(frameBytes(this.info.pixelFormat, info.width, info.height), 16);
  }

  /** the size is forced so frames match what ffprobe reported (and what recordings are opened with) */
  private plan(info: VideoInfo) {
    const { width, height, codec } = info;
    return gstPlan(
      {
        kind: 'file',
        target: this.file,
        width: null,
        height: null,
        fps: null,
        rtspTransport: 'tcp',
        decoder: 'gstreamer',
        codec,
        realtime: this.opts.realtime,
      },
      { width, height, fps: null },
      this.plat,
    );
  }

  async *frames(): AsyncGenerator<Frame> {
    do {
      const before = this.delivered;
      yield* this.decodeOnce();
      if (this.delivered === before || this.stopped || this.truncated) break;
    } while (this.opts.loop && !this.stopped);
  }

  private async *decodeOnce(): AsyncGenerator<Frame> {
    const { width, height, fps, pixelFormat } = this.info;
    const plan = this.plan(this.info);
    const reader = new PipeFrameReader();
    const proc = spawnMedia(plan.command, plan.args, { stdio: ['ignore', 'pipe', 'pipe', reader.childFd] });
    reader.start();
    reader.setFrame(this.pool);
    this.proc = proc;
    let lastError = '';
    createInterface({ input: proc.stderr as Readable }).on('line', (l) => {
      if (/ERROR|error/.test(l)) lastError = l.replace(/^ERROR: (from element \S+: )?/, '').trim();
    });
    (proc.stdout as Readable).resume();
    const exited = new Promise<number | null>((resolve) => {
      proc.once('close', (code) => resolve(code));
      proc.once('error', (err) => {
        lastError = `cannot start gst-launch-1.0 (${err.message})`;
        resolve(-1);
      });
    });
    let count = 0;
    try {
      for (let buf = await reader.next(); buf; buf = await reader.next()) {
        if (this.stopped) {
          this.pool.release(buf);
          break;
        }
        const index = this.delivered++;
        count++;
        yield { data: buf, width, height, index, pts: Number((index / fps).toFixed(6)), format: pixelFormat };
      }
    } finally {
      reader.close();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      this.proc = null;
    }
    const code = await exited;
    if (this.stopped) return;
    if (count === 0)
      throw new RuntimeFailure(`${this.file}: no frames could be decoded by GStreamer${lastError ? ` (${lastError})` : ''} (try decoder: ffmpeg)`);
    if (code !== 0) this.truncated = `${this.file}: decoding stopped early after ${count} frames (${lastError || `gst-launch-1.0 exit ${code}`})`;
  }

  stop(): void {
    this.stopped = true;
    this.proc?.kill('SIGKILL');
  }
}
