import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { RuntimeFailure } from '../errors.js';
import { ffmpegPath } from '../media/image-io.js';
import { parseRational } from '../media/probe.js';

export interface Mp4WriterOptions {
  width: number;
  height: number;
  /** ffmpeg rational or number, e.g. "30000/1001" */
  fps: string | number;
  /** keyframe interval in frames (also the fragment length) */
  gop?: number;
  crf?: number;
  preset?: string;
  /**
   * write to `<file>.partial` and rename on a clean finish; a failed write removes it
   * (one-shot outputs). Recordings write in place: fragmented MP4 plays up to its last fragment.
   */
  atomic?: boolean;
}

/**
 * Encodes RGB24 frames to a fragmented H.264 MP4 with ffmpeg (libx264). Every frame written is
 * one frame of the output at the given constant frame rate. `write` waits while ffmpeg's pipe is
 * full (backpressure), so memory stays bounded.
 */
export class Mp4Writer {
  private readonly proc: ChildProcessByStdio<Writable, null, Readable>;
  private readonly target: string;
  private stderr = '';
  private failed: Error | null = null;
  private readonly exited: Promise<number | null>;
  frames = 0;

  constructor(readonly file: string, private readonly opts: Mp4WriterOptions) {
    this.target = opts.atomic ? `${file}.partial` : file;
    const fps = String(opts.fps);
    const gop = opts.gop ?? Math.max(1, Math.round(parseRational(fps)));
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${opts.width}x${opts.height}`, '-r', fps, '-i', 'pipe:0',
      '-an', '-c:v', 'libx264', '-preset', opts.preset ?? 'veryfast', '-crf', String(opts.crf ?? 23), '-pix_fmt', 'yuv420p',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0',
      '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', '-y', this.target];
    this.proc = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += d.toString();
    });
    this.proc.stdin.on('error', (err) => {
      this.failed ??= new RuntimeFailure(`${file}: encoder stopped (${this.stderr.trim().split('\n').pop() || err.message})`);
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('close', (code) => resolve(code));
      this.proc.on('error', (err) => {
        this.failed ??= new RuntimeFailure(`${file}: cannot start ffmpeg (${err.message}) (install ffmpeg: npm run setup)`);
        resolve(-1);
      });
    });
  }

  /** Writes one frame; resolves once ffmpeg has taken it (the buffer may then be reused). */
  write(frame: Buffer): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    this.frames++;
    return new Promise((resolve, reject) => {
      this.proc.stdin.write(frame, (err) => {
        if (err) reject(this.failed ?? new RuntimeFailure(`${this.file}: encoder stopped (${err.message})`));
        else resolve();
      });
    });
  }

  /** Finishes the file: closes ffmpeg's input and waits for the last fragment. */
  async finish(): Promise<void> {
    if (!this.proc.stdin.destroyed) this.proc.stdin.end();
    const code = await this.exited;
    if (code !== 0 || this.failed) {
      if (this.opts.atomic) rmSync(this.target, { force: true });
      throw this.failed ?? new RuntimeFailure(`${this.file}: encoding failed (${this.stderr.trim().split('\n').pop() || `ffmpeg exit ${code}`})`);
    }
    if (this.opts.atomic) renameSync(this.target, this.file);
  }

  /** Stops without a clean finish; an atomic output is removed. */
  async abort(): Promise<void> {
    this.proc.kill('SIGKILL');
    await this.exited;
    if (this.opts.atomic) rmSync(this.target, { force: true });
  }
}
