import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { PixelFormat } from '../core/frame.js';
import { AnnexBParser } from '../media/h264.js';
import { h264StreamEncoder, spawnStreamEncoder } from '../media/encoder.js';
import type { Logger } from '../core/log.js';
import type { RtspStream } from './rtsp-server.js';

export interface RtspOutOptions {
  width: number;
  height: number;
  /** ffmpeg rational or number */
  fps: string | number;
  /** the frames' layout; default rgb24 */
  pixelFormat?: PixelFormat;
}

/** An encoder that died is started again on a later frame, at most this often. */
const RESTART_PAUSE_MS = 5000;
/** frames handed to the encoder and not yet taken by it */
const IN_FLIGHT = 2;

/**
 * Annotated frames → H.264 (Annex-B, one access unit per frame, no B-frames, a keyframe every
 * second) → the camera's RTSP stream. Best effort: the live view never holds up or fails the
 * pipeline; a dead encoder is logged and restarted. Frames are handed over in order, so each access
 * unit coming out takes the pts of the oldest frame not yet matched.
 */
export class RtspOutSink {
  private proc: ChildProcess | null = null;
  private readonly pts: number[] = [];
  private lastStart = 0;
  private stderr = '';
  private closed = false;
  /** frames not sent because the encoder was busy or down */
  skipped = 0;
  readonly currentFile = null;

  constructor(
    private readonly stream: RtspStream,
    private readonly opts: RtspOutOptions,
    private readonly logger: Logger,
  ) {
    this.start();
  }

  private start(): void {
    this.lastStart = Date.now();
    this.pts.length = 0;
    this.stderr = '';
    const { proc, stdin, output, stderr } = spawnStreamEncoder(h264StreamEncoder(this.opts));
    const parser = new AnnexBParser((au) => this.stream.push(au, this.pts.shift() ?? 0));
    output.on('data', (d: Buffer) => parser.push(d));
    output.on('end', () => parser.flush());
    stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += d.toString();
    });
    stdin.on('error', () => undefined); // reported by 'close' below
    proc.on('error', () => undefined);
    proc.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.proc === proc) this.proc = null;
      if (!this.closed) {
        const why = this.stderr.trim().split('\n').pop() || `exit ${code ?? signal}`;
        this.logger.warn({ stream: this.stream.name, error: why }, 'rtsp output encoder stopped; restarting');
      }
    });
    this.proc = proc;
  }

  /** the encoder's process id (null while it is down) */
  get encoderPid(): number | null {
    return this.proc?.pid ?? null;
  }

  /** copies of frames the encoder has not taken yet; at most IN_FLIGHT */
  private readonly spare: Buffer[] = [];
  private inFlight = 0;

  /**
   * Hands one frame to the encoder and returns at once: the frame is copied, so the
   * pipeline never waits for the live view. While the encoder still holds IN_FLIGHT frames
   * (it is slow or stuck) new frames are skipped and counted.
   */
  write(frame: Buffer, pts: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.proc) {
      if (Date.now() - this.lastStart < RESTART_PAUSE_MS) {
        this.skipped++;
        return Promise.resolve();
      }
      this.start();
    }
    const stdin = this.proc?.stdin as Writable;
    if (stdin.destroyed || !stdin.writable) {
      this.skipped++;
      return Promise.resolve();
    }
    if (this.inFlight >= IN_FLIGHT) {
      this.skipped++;
      return Promise.resolve();
    }
    let copy = this.spare.pop();
    if (!copy || copy.length !== frame.length) copy = Buffer.allocUnsafe(frame.length);
    frame.copy(copy);
    this.inFlight++;
    this.pts.push(pts);
    const held = copy;
    stdin.write(held, () => {
      this.inFlight--;
      this.spare.push(held);
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.stdin?.end();
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
