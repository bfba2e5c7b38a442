import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { frameBytes, type Frame, type PixelFormat } from '../core/frame.js';
import { gstFraction } from '../media/encoder.js';
import { spawnMedia } from '../media/media-process.js';
import { platform, type Platform } from '../media/platform.js';
import { probeRtspCodec } from '../media/probe.js';
import type { Logger } from '../core/log.js';
import { maskSecrets } from '../core/secrets.js';
import { passthroughArgs } from '../media/ffmpeg-features.js';
import { FrameClock, type StreamCopy } from '../media/stream-copy.js';
import { FramePool } from './frame-pool.js';
import { PipeFrameReader } from './pipe-frame-reader.js';
import type { VideoSource } from './types.js';
import { chooseBackend, copyUnsupported, launchPlan, streamInfoReader, type LaunchPlan, type LiveSourceSettings, type OutputShape } from './source-plans.js';

export interface LiveSourceOptions {
  settings: LiveSourceSettings;
  /** no frame for this long (connection open or not) → the process is killed and restarted */
  stallTimeoutMs: number;
  /** first retry pause, doubled per failed attempt up to maxMs; reset once frames flow */
  backoff?: { initialMs: number; maxMs: number };
  platform?: Platform;
  logger?: Logger;
  /**
   * Builds the command of each connection attempt (default: launchPlan). Tests use it to put a
   * stand-in device element (videotestsrc) in front of the real V4L2/CSI pipeline remainder.
   */
  planner?: (settings: LiveSourceSettings, shape: OutputShape, plat: Platform, copy: readonly string[] | null) => LaunchPlan;
  /** the camera's own stream beside the frames (record.mode raw), where the source can copy it (copyUnsupported) */
  copy?: StreamCopy | null;
}

/** one line of ffmpeg's showinfo filter: a frame's own time */
const SHOWINFO = /\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:\s*(-?[\d.e+-]+)/;
/** one line of the GStreamer pipeline's identity (gst-launch -v): a frame's own time */
const STAMP = /stamp: last-message = chain .*\bpts: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/;

/** A frame's own time from a decoder's log line (showinfo, identity), or null. */
function frameTimeOf(backend: 'ffmpeg' | 'gstreamer', line: string): number | null {
  if (backend === 'ffmpeg') {
    const m = SHOWINFO.exec(line);
    return m ? Number(m[1]) : null;
  }
  const m = STAMP.exec(line);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}

const ERROR_LINE =
  /error|refused|failed|not found|no such|timed out|timeout|invalid|could not|unauthori[sz]ed|forbidden|unreachable|denied|end of file|no route|not supported|unsupported/i;
/** bytes a decoder may send before it has said the frame size (then it is given up on) */
const MAX_BYTES_BEFORE_SIZE = 64 * 1024 * 1024;

/** Pause before the n-th retry (n from 0): 1 s, 2 s, 4 s … capped (reconnect backoff capped at 30 s). */
export function backoffDelay(attempt: number, initialMs = 1000, maxMs = 30_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}

/**
 * A camera (RTSP, V4L2, CSI) decoded by a child process (ffmpeg or gst-launch-1.0) into I420
 * (ffmpeg) or RGBA (GStreamer) frames. It never ends by itself: a refused or dropped connection, a
 * process that dies, or a stream that stalls (no frame for `stallTimeoutMs`) is reported through
 * `onState('reconnecting', reason)` and retried with exponential backoff; the first frame after that reports `streaming`.
 * The first connection fixes the frame size and rate; later ones are scaled to it, so recordings
 * and the detector see one size for the whole run. `pts` is the time since the source opened.
 */
export class LiveSource implements VideoSource {
  readonly live = true;
  readonly truncated = null;
  onState?: (state: 'reconnecting' | 'streaming', reason?: string) => void;
  reconnects = 0;
  /** frames delivered so far (the next frame's index) */
  delivered = 0;
  readonly backend: 'ffmpeg' | 'gstreamer';
  /** the command line of the current (or last) attempt, secrets masked */
  describe = '';
  /** why the last connection ended */
  lastReason: string | null = null;
  private readonly plat: Platform;
  private readonly shape: OutputShape;
  private current: { width: number; height: number; fps: number; fpsRational: string; frameCount: null; pixelFormat: PixelFormat } | null = null;
  private framePool: FramePool | null = null;
  private stopped = false;
  private proc: ChildProcess | null = null;
  /** the frame pipe of the connection in progress */
  private reader: PipeFrameReader | null = null;
  private wake: (() => void) | null = null;
  private readonly openedAt = performance.now();

  constructor(private readonly opts: LiveSourceOptions) {
    this.plat = opts.platform ?? platform();
    // fail now, with one clear line, for what can never work (CSI off a Jetson, missing gst-launch)
    this.backend = chooseBackend(opts.settings, this.plat);
    const s = opts.settings;
    this.shape = { width: s.width, height: s.height, fps: s.fps };
    this.copyUnavailable = opts.copy ? copyUnsupported(s, this.backend) : null;
  }

  /** why this camera's stream cannot be copied (record.mode raw records annotated then), or null */
  readonly copyUnavailable: string | null;

  /** the camera's own packets (record.mode raw), null when not asked for or not possible */
  get copy(): StreamCopy | null {
    return this.copyUnavailable === null ? (this.opts.copy ?? null) : null;
  }

  /** Frame size and rate; zeros until the first connection delivered its description. */
  get info(): { width: number; height: number; fps: number; fpsRational: string; frameCount: number | null; pixelFormat: PixelFormat } {
    return this.current ?? { width: 0, height: 0, fps: 0, fpsRational: '0/1', frameCount: null, pixelFormat: 'rgb24' };
  }

  get pool(): FramePool {
    this.framePool ??= new FramePool(this.current ? frameBytes(this.current.pixelFormat, this.current.width, this.current.height) : 0, 24);
    return this.framePool;
  }

  async *frames(): AsyncGenerator<Frame> {
    const initial = this.opts.backoff?.initialMs ?? 1000;
    const max = this.opts.backoff?.maxMs ?? 30_000;
    let attempt = 0;
    let reconnecting = false;
    while (!this.stopped) {
      const run = { frames: 0, reason: '' };
      for await (const frame of this.runOnce(run)) {
        if (run.frames === 1 && reconnecting) {
          reconnecting = false;
          this.opts.logger?.info({ source: this.opts.settings.target, reconnects: this.reconnects }, 'camera reconnected');
          this.onState?.('streaming');
        }
        yield frame;
      }
      if (this.stopped) return;
      if (run.frames > 0) attempt = 0;
      const delay = backoffDelay(attempt++, initial, max);
      this.lastReason = run.reason;
      this.reconnects++;
      reconnecting = true;
      this.opts.logger?.warn({ source: this.opts.settings.target, reason: run.reason, retry_in_ms: delay, attempt }, 'camera lost; reconnecting');
      this.onState?.('reconnecting', run.reason);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async plan(): Promise<LaunchPlan> {
    const shape = this.current ? { width: this.current.width, height: this.current.height, fps: this.shape.fps } : this.shape;
    const copy = this.copy ? await passthroughArgs() : null;
    return (this.opts.planner ?? launchPlan)(this.opts.settings, shape, this.plat, copy);
  }

  /**
   * An RTSP camera headed for GStreamer: its codec picks the depayloader (H.264/H.265), or ffmpeg
   * for anything else. Asked with ffprobe before a connection until it is known; a camera that
   * does not answer keeps the H.264 pipeline for now (its error is reported by the connection).
   */
  private async learnRtspCodec(): Promise<void> {
    const s = this.opts.settings;
    if (s.kind !== 'rtsp' || s.codec !== undefined || chooseBackend(s, this.plat) !== 'gstreamer') return;
    const codec = await probeRtspCodec(s.target, s.rtspTransport);
    if (!codec || this.stopped) return;
    this.opts.settings = { ...s, codec };
    const backend = chooseBackend(this.opts.settings, this.plat);
    this.opts.logger?.info(
      { source: maskSecrets(s.target), codec, backend },
      `camera sends ${codec}: ${backend === 'gstreamer' ? 'hardware decoder' : 'ffmpeg (not a codec the hardware pipeline takes)'}`,
    );
  }

  /** One connection: spawn, read frames until the process ends or stalls; `run.reason` says why it ended. */
  private async *runOnce(run: { frames: number; reason: string }): AsyncGenerator<Frame> {
    await this.learnRtspCodec();
    const plan = await this.plan();
    this.describe = plan.describe;
    if (this.reconnects === 0)
      this.opts.logger?.info({ source: this.opts.settings.target, backend: plan.backend, pipeline: plan.describe }, 'camera connecting');
    const reader = new PipeFrameReader();
    const copy = plan.copyFd ? this.copy : null;
    const proc = spawnMedia(plan.command, plan.args, {
      stdio:
        plan.frameFd === 3
          ? ['ignore', 'pipe', 'pipe', reader.childFd, ...(copy ? (['pipe'] as const) : [])]
          : ['ignore', reader.childFd, 'pipe', ...(copy ? (['ignore', 'pipe'] as const) : [])],
    });
    // with a copy: packets and frames share this connection's base (time since the source opened)
    const fps = this.current?.fps ?? this.opts.settings.fps ?? 25;
    const base = copy ? copy.baseFor(Number(((performance.now() - this.openedAt) / 1000).toFixed(6)), 1 / fps) : 0;
    const copied = copy ? copy.connect(proc.stdio[4] as Readable, base) : null;
    const clock = new FrameClock(base);
    /** each frame's own time (showinfo), in frame order, while copying */
    const frameTimes: number[] = [];
    let timeWaiter: (() => void) | null = null;
    let infoClosed = false;
    reader.start();
    this.proc = proc;
    this.reader = reader;
    const infoStream = (plan.backend === 'ffmpeg' ? proc.stderr : proc.stdout) as Readable;
    let announced: { width: number; height: number; fps: number | null } | null = null;
    let lastError = '';
    let spawnError = '';
    let stalled = '';
    let lastFrameAt = performance.now();
    const onErrorLine = (line: string) => {
      const clean = line
        .replace(/^\[[^\]]+\]\s*/, '')
        .replace(/^ERROR: (from element \S+: )?/, '')
        .trim();
      if (clean && ERROR_LINE.test(clean) && !/^Additional debug info/.test(clean)) lastError = clean;
    };
    // The frame size is what the decoder announces (ffmpeg's stream line, GStreamer's caps): frames
    // read before it are kept by the reader; the first announcement sets the size for good.
    const endWith = (why: string) => {
      stalled ||= why;
      reader.close();
      this.kill(proc, plan);
    };
    const useAnnounced = () => {
      if (reader.frameSizeKnown || stalled) return;
      const size = announced;
      if (!size) {
        if (reader.pendingBytes > MAX_BYTES_BEFORE_SIZE) {
          endWith(`${plan.backend} sent frames but no frame size this version can read (try decoder: ${plan.backend === 'ffmpeg' ? 'gstreamer' : 'ffmpeg'})`);
        }
        return;
      }
      if (this.current && (size.width !== this.current.width || size.height !== this.current.height)) {
        endWith(`frame size changed to ${size.width}x${size.height} (expected ${this.current.width}x${this.current.height})`);
        return;
      }
      if (!this.current) {
        // streams that do not state a rate make ffmpeg guess odd ones (90k): trust 1..120 only
        const fps = size.fps && size.fps >= 1 && size.fps <= 120 ? size.fps : (this.opts.settings.fps ?? 25);
        this.current = { width: size.width, height: size.height, fps, fpsRational: gstFraction(fps), frameCount: null, pixelFormat: plan.pixelFormat };
        this.framePool = new FramePool(frameBytes(plan.pixelFormat, size.width, size.height), 24);
      }
      reader.setFrame(this.pool);
    };
    reader.onPending = useAnnounced;
    const readStreamInfo = streamInfoReader(plan.backend);
    createInterface({ input: infoStream })
      .on('line', (line) => {
        if (!announced) {
          announced = readStreamInfo(line);
          if (announced) useAnnounced();
        }
        const own = copy ? frameTimeOf(plan.backend, line) : null;
        if (own !== null) {
          frameTimes.push(own);
          timeWaiter?.();
          return;
        }
        if (plan.backend === 'ffmpeg') onErrorLine(line);
      })
      .on('close', () => {
        infoClosed = true;
        timeWaiter?.();
      });
    /** the next frame's own time: its showinfo / identity line may come just after its pixels */
    const nextFrameTime = async (): Promise<number | null> => {
      while (frameTimes.length === 0 && !infoClosed) await new Promise<void>((r) => (timeWaiter = r));
      timeWaiter = null;
      return frameTimes.length ? (frameTimes.shift() as number) : null;
    };
    // gst-launch reports a pipeline error as "ERROR: from element …": that connection is over, end it
    // now (whatever its version does next) and report that error, not a stall
    let gstError = '';
    if (plan.backend === 'gstreamer') {
      createInterface({ input: proc.stderr as Readable }).on('line', (line) => {
        onErrorLine(line);
        if (/^ERROR: /.test(line) && !gstError) {
          gstError = lastError || line.replace(/^ERROR: (from element \S+: )?/, '').trim();
          this.kill(proc, plan);
        }
      });
    }
    const exited = new Promise<number | null>((resolve) => {
      proc.once('close', (code) => resolve(code));
      proc.once('error', (err) => {
        spawnError = `cannot start ${plan.command} (${err.message})`;
        resolve(-1);
      });
    });
    const stallMs = this.opts.stallTimeoutMs;
    const watchdog = setInterval(
      () => {
        if (performance.now() - lastFrameAt > stallMs && !stalled) {
          stalled = `no frames for ${Math.round(stallMs / 100) / 10} s (stream stalled)`;
          this.kill(proc, plan);
        }
      },
      Math.min(1000, Math.max(50, stallMs / 4)),
    );

    try {
      for (let buf = await reader.next(); buf; buf = await reader.next()) {
        if (this.stopped) {
          this.pool.release(buf);
          break;
        }
        const now = performance.now();
        lastFrameAt = now;
        run.frames++;
        const own = copy ? await nextFrameTime() : null;
        yield {
          data: buf,
          width: this.info.width,
          height: this.info.height,
          index: this.delivered++,
          pts: Number(((now - this.openedAt) / 1000).toFixed(6)),
          format: plan.pixelFormat,
          ...(own !== null ? { streamTime: clock.at(own) } : {}),
        };
      }
    } finally {
      clearInterval(watchdog);
      reader.close();
      if (this.reader === reader) this.reader = null;
      this.kill(proc, plan);
      if (this.proc === proc) this.proc = null;
    }
    const code = await exited;
    await copied;
    const why =
      gstError ||
      stalled ||
      spawnError ||
      lastError ||
      (code === 0 ? 'the camera ended the stream (connection closed)' : `${plan.backend} exited with code ${code}`);
    run.reason = maskSecrets(why);
  }

  /** Ends a decoder: GStreamer gets SIGINT first (an unclean stop can wedge nvargus-daemon), ffmpeg SIGKILL. */
  private kill(proc: ChildProcess, plan: Pick<LaunchPlan, 'backend'>): void {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    if (plan.backend === 'gstreamer') {
      proc.kill('SIGINT');
      const t = setTimeout(() => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'), 2000);
      t.unref();
      proc.once('close', () => clearTimeout(t));
    } else {
      proc.kill('SIGKILL');
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.proc) this.kill(this.proc, { backend: this.backend });
    this.reader?.close();
    this.wake?.();
  }
}
