import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { RuntimeFailure } from '../errors.js';
import { ffmpegPath, ffmpegPixelFormat } from '../media/image-io.js';
import type { PixelFormat } from '../detect/types.js';
import { h264StreamEncoder, hardwareEncoder } from '../media/encoder.js';
import { parseRational } from '../media/probe.js';

export interface Mp4WriterOptions {
  width: number;
  height: number;
  /** ffmpeg rational or number, e.g. "30000/1001" */
  fps: string | number;
  /** keyframe interval in frames (also the fragment length) */
  gop?: number;
  /** the frames' layout; default rgb24 */
  pixelFormat?: PixelFormat;
  crf?: number;
  preset?: string;
  /**
   * write to `<file>.partial` and rename on a clean finish; a failed write removes it
   * (one-shot outputs). Recordings write in place: fragmented MP4 plays up to its last fragment.
   */
  atomic?: boolean;
  /**
   * `x264`: one ffmpeg encodes and muxes. `stream`: an H.264 stream encoder (the Jetson's
   * nvv4l2h264enc/omxh264enc through GStreamer) piped into ffmpeg, which only muxes.
   * Default: `stream` where a hardware encoder exists, else `x264`.
   */
  encoder?: 'x264' | 'stream';
}

const FRAGMENTED = ['-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4'];

/**
 * Encodes RGB24 or RGBA frames to a fragmented H.264 MP4 (libx264 through ffmpeg, or the Jetson's hardware
 * encoder through GStreamer with ffmpeg muxing). Every frame written is one frame of the output at
 * the given constant frame rate. `write` waits while the encoder's pipe is full (backpressure), so
 * memory stays bounded. Fragments start at every keyframe (one per second by default), so a file
 * cut short by a crash plays up to its last complete fragment.
 */
export class Mp4Writer {
  /** the processes, first one takes the frames; all must exit 0 */
  private readonly procs: ChildProcess[] = [];
  private readonly input: Writable;
  private readonly target: string;
  private stderr = '';
  private failed: Error | null = null;
  private readonly exited: Promise<number | null>;
  readonly encoder: string;
  frames = 0;

  constructor(readonly file: string, private readonly opts: Mp4WriterOptions) {
    this.target = opts.atomic ? `${file}.partial` : file;
    const fps = String(opts.fps);
    const gop = opts.gop ?? Math.max(1, Math.round(parseRational(fps)));
    const mode = opts.encoder ?? (hardwareEncoder() ? 'stream' : 'x264');
    if (mode === 'stream') {
      const enc = h264StreamEncoder({ width: opts.width, height: opts.height, fps, gop, pixelFormat: opts.pixelFormat });
      this.encoder = enc.encoder;
      const encoder = spawn(enc.command, enc.args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const muxer = spawn(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'h264', '-framerate', fps, '-i', 'pipe:0', '-c:v', 'copy', ...FRAGMENTED, '-y', this.target], { stdio: ['pipe', 'ignore', 'pipe'] });
      (encoder.stdout as Readable).pipe(muxer.stdin as Writable);
      (muxer.stdin as Writable).on('error', () => undefined); // reported through exit codes
      this.procs.push(encoder, muxer);
    } else {
      this.encoder = 'libx264';
      const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', ffmpegPixelFormat(opts.pixelFormat), '-s', `${opts.width}x${opts.height}`, '-r', fps, '-i', 'pipe:0',
        '-an', '-c:v', 'libx264', '-preset', opts.preset ?? 'veryfast', '-crf', String(opts.crf ?? 23), '-pix_fmt', 'yuv420p',
        '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0', ...FRAGMENTED, '-y', this.target];
      this.procs.push(spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] }));
    }
    this.input = this.procs[0].stdin as Writable;
    for (const p of this.procs) {
      p.stderr?.on('data', (d: Buffer) => {
        if (this.stderr.length < 4000) this.stderr += d.toString();
      });
    }
    this.input.on('error', (err) => {
      this.failed ??= new RuntimeFailure(`${file}: encoder stopped (${this.stderr.trim().split('\n').pop() || err.message})`);
    });
    const exits = this.procs.map(
      (p) =>
        new Promise<number | null>((resolve) => {
          p.on('close', (code) => resolve(code));
          p.on('error', (err) => {
            this.failed ??= new RuntimeFailure(`${file}: cannot start ${p.spawnfile} (${err.message}) (install it: npm run setup)`);
            resolve(-1);
          });
        }),
    );
    this.exited = Promise.all(exits).then((codes) => codes.find((c) => c !== 0) ?? 0);
  }

  /** Writes one frame; resolves once ffmpeg has taken it (the buffer may then be reused). */
  write(frame: Buffer): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.frames++;
    return new Promise((resolve, reject) => {
      this.input.write(frame, (err) => {
        if (err) reject(this.failed ?? new RuntimeFailure(`${this.file}: encoder stopped (${err.message})`));
        else resolve();
      });
    });
  }

  /** Finishes the file: closes ffmpeg's input and waits for the last fragment. */
  async finish(): Promise<void> {
    if (!this.input.destroyed) this.input.end();
    const code = await this.exited;
    if (code !== 0 || this.failed) {
      if (this.opts.atomic) rmSync(this.target, { force: true });
      throw this.failed ?? new RuntimeFailure(`${this.file}: encoding failed (${this.stderr.trim().split('\n').pop() || `ffmpeg exit ${code}`})`);
    }
    if (this.opts.atomic) renameSync(this.target, this.file);
  }

  /** Stops without a clean finish; an atomic output is removed. */
  async abort(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await this.exited;
    if (this.opts.atomic) rmSync(this.target, { force: true });
  }
}
