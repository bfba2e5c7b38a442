import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { PixelFormat } from '../core/frame.js';
import type { Logger } from '../core/log.js';
import { h264StreamEncoder, spawnStreamEncoder } from '../media/encoder.js';
import { AnnexBParser } from '../media/h264.js';
import { parseRational } from '../media/probe.js';
import type { EncodedStream } from './encoded-stream.js';

export interface StreamEncoderOptions {
  width: number;
  height: number;
  /** ffmpeg rational or number */
  fps: string | number;
  pixelFormat?: PixelFormat;
  /** ticks per second of the source's time base */
  timescale?: number | null;
  /** libx264 settings (record.preset, record.crf) */
  preset?: string;
  crf?: number;
  /**
   * a frame the encoder has not taken after this long (ms) means it is stuck: it is killed and
   * started again later, and `write` resolves (live sources; default 3000). 0: wait (files).
   */
  stuckMs?: number;
}

/** A dead encoder is started again on a later frame, at most this often (ms). */
const RESTART_PAUSE_MS = 2000;

/**
 * The camera's one H.264 encoder: annotated frames in (the pipeline's sink), access units out into
 * the camera's EncodedStream, which fans them out to the recorder, the RTSP stream and live viewers
 * (encoded-stream.ts). The Jetson's hardware encoder through GStreamer where it exists, libx264
 * elsewhere (media/encoder.ts); no B-frames, so each access unit takes the pts of the oldest
 * frame not yet matched.
 *
 * `write` resolves once the encoder has taken the frame (the buffer may then be reused): the
 * encoder's pace is the camera's (live sources drop in the pipeline's queue before it; files wait).
 * Consumers never slow it down, except a lossless one (a file source's recorder). A crashed
 * encoder is logged once and started again on a later frame; `write` never throws.
 */
export class StreamEncoder {
  private proc: ChildProcess | null = null;
  private stdin: Writable | null = null;
  private output: Readable | null = null;
  private pts: number[] = [];
  private stderr = '';
  private lastStart = 0;
  private closed = false;
  private exited: Promise<void> = Promise.resolve();
  /** frames not encoded because the encoder was down */
  skipped = 0;
  /** frames taken by the encoder */
  frames = 0;
  /** encoder restarts after a crash */
  restarts = 0;
  readonly encoder: string;
  private readonly fps: number;

  constructor(
    readonly stream: EncodedStream,
    private readonly opts: StreamEncoderOptions,
    private readonly logger: Logger,
  ) {
    this.fps = parseRational(String(opts.fps)) || Number(opts.fps) || 25;
    this.encoder = h264StreamEncoder(this.encoderInput()).encoder;
  }

  private encoderInput() {
    const o = this.opts;
    return { width: o.width, height: o.height, fps: o.fps, pixelFormat: o.pixelFormat, preset: o.preset, crf: o.crf };
  }

  /** Whether anyone consumes the stream: the pipeline skips drawing and encoding when not. */
  get wanted(): boolean {
    return this.stream.subscribers > 0;
  }

  private start(): void {
    this.lastStart = Date.now();
    this.pts = [];
    this.stderr = '';
    const o = this.opts;
    this.stream.start({ width: o.width, height: o.height, fps: this.fps, fpsRational: String(o.fps), timescale: o.timescale });
    const { proc, stdin, output, stderr } = spawnStreamEncoder(h264StreamEncoder(this.encoderInput()));
    const pts = this.pts;
    const parser = new AnnexBParser((au) => this.stream.publish(au, pts.shift() ?? 0));
    output.on('data', (d: Buffer) => {
      parser.push(d);
      if (this.stream.backlogged) {
        output.pause();
        void this.stream.whenRoom().then(() => output.resume());
      }
    });
    output.on('end', () => parser.flush());
    stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += d.toString();
    });
    stdin.on('error', () => undefined); // reported by 'close'
    proc.on('error', (err) => {
      this.stderr ||= err.message;
    });
    this.exited = new Promise((resolve) => {
      proc.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.proc === proc) {
          this.proc = null;
          this.stdin = null;
          this.output = null;
        }
        if (!this.closed) {
          const why = this.stderr.trim().split('\n').pop() || `exit ${code ?? signal}`;
          this.logger.warn({ encoder: this.encoder, error: why }, 'video encoder stopped; starting it again with the next frames');
        }
        resolve();
      });
    });
    this.proc = proc;
    this.stdin = stdin;
    this.output = output;
  }

  /** the encoder's process id (null while it is down) */
  get encoderPid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** Hands one frame (`pts` seconds) to the encoder; resolves once it is taken. */
  write(frame: Buffer, pts: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.proc) {
      if (this.lastStart > 0 && Date.now() - this.lastStart < RESTART_PAUSE_MS) {
        this.skipped++;
        return Promise.resolve();
      }
      if (this.lastStart > 0) this.restarts++;
      this.start();
    }
    const stdin = this.stdin as Writable;
    if (stdin.destroyed || !stdin.writable) {
      this.skipped++;
      return Promise.resolve();
    }
    this.pts.push(pts);
    this.frames++;
    const stuckMs = this.opts.stuckMs ?? 3000;
    const proc = this.proc as ChildProcess;
    return new Promise((resolve) => {
      const timer =
        stuckMs > 0
          ? setTimeout(() => {
              this.logger.warn({ encoder: this.encoder, waited_ms: stuckMs }, 'video encoder stuck; restarting it');
              this.stderr = `stuck for ${stuckMs} ms`;
              proc.kill('SIGKILL');
              stdin.destroy(); // the pending write ends (with an error) and the frame's buffer is free again
            }, stuckMs)
          : null;
      stdin.write(frame, () => {
        if (timer) clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends the stream: the encoder's last pictures are published, then the process exits. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const proc = this.proc;
    if (!proc) return;
    this.output?.resume();
    this.stdin?.end();
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
