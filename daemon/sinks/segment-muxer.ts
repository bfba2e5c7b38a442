import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { RuntimeFailure } from '../core/errors.js';
import { ffmpegPath } from '../media/image-io.js';
import { copyToFragmentedMp4Args, MatroskaFrames } from '../media/matroska-frames.js';
import { spawnMedia } from '../media/media-process.js';
import { avccUnit, type CodecConfig, type EncodedUnit } from './encoded-stream.js';

/**
 * One recording segment from already encoded access units: no decode, no encode. The units go,
 * each with its own time, as a live Matroska stream into `ffmpeg -c copy`, which writes a
 * fragmented MP4 (a fragment per keyframe, so a segment cut short plays up to its last fragment)
 * with the source's time base as the track timescale.
 */
export class SegmentMuxer {
  private readonly proc: ChildProcess;
  private readonly input: Writable;
  private readonly framing: MatroskaFrames;
  private stderr = '';
  private failure: Error | null = null;
  private readonly exited: Promise<number | null>;
  private startPts: number | null = null;
  /** units written */
  units = 0;
  /** keyframes written (fragments started) */
  keyframes = 0;
  /** called once when ffmpeg fails (a full disk, a folder gone); not after finish() */
  onFailure: ((err: Error) => void) | null = null;
  private finishing = false;

  constructor(
    readonly file: string,
    readonly config: CodecConfig,
  ) {
    this.framing = new MatroskaFrames({
      width: config.width,
      height: config.height,
      fps: config.fps,
      ...(config.copied ? { coded: config.copied } : { h264: { sps: config.sps, pps: config.pps } }),
    });
    // H.265 as hvc1 (parameter sets in the sample entry): what Safari and the MP4 players expect
    const args = copyToFragmentedMp4Args(config.timescale, file, config.codec === 'h265' ? ['-tag:v', 'hvc1'] : []);
    this.proc = spawnMedia(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.input = this.proc.stdin as Writable;
    this.input.on('error', () => undefined); // reported through the exit code
    this.proc.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (err) => {
        this.fail(new RuntimeFailure(`${file}: cannot start ffmpeg (${err.message}) (install it: npm run setup)`));
        resolve(-1);
      });
      this.proc.on('close', (code, signal) => {
        if (code !== 0 && !this.finishing) this.fail(new RuntimeFailure(`${file}: ${this.why(code ?? signal)}`));
        resolve(code);
      });
    });
    this.input.write(this.framing.header());
  }

  /** ffmpeg's reason: the line naming a file-system error (ENOSPC ...) if there is one, else its last line. */
  private why(code: number | string | null): string {
    const lines = this.stderr.trim().split('\n').filter(Boolean);
    const errno = lines.find((l) =>
      /No space left on device|Permission denied|Read-only file system|No such file or directory|Input\/output error|Disk quota exceeded/i.test(l),
    );
    const line = errno ?? lines.pop();
    if (!line) return `ffmpeg exit ${String(code)}`;
    if (errno)
      return (
        /(No space left on device|Permission denied|Read-only file system|No such file or directory|Input\/output error|Disk quota exceeded)/i.exec(
          errno,
        ) as RegExpExecArray
      )[1];
    return line.replace(/\s*--\s*$/, '');
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (!this.finishing) this.onFailure?.(err);
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Seconds from the segment's first unit. */
  get duration(): number {
    return this.lastPts === null || this.startPts === null ? 0 : this.lastPts - this.startPts;
  }

  private lastPts: number | null = null;

  /** Appends one unit; resolves once ffmpeg has taken it, rejects once ffmpeg failed. */
  write(unit: EncodedUnit): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.startPts ??= unit.pts;
    this.lastPts = unit.pts;
    const sample = avccUnit(unit);
    this.units++;
    if (unit.keyframe) this.keyframes++;
    this.input.write(this.framing.frameHeader(unit.pts - this.startPts, sample.length, unit.keyframe, this.config.copied !== undefined));
    return new Promise((resolve, reject) => {
      this.input.write(sample, (err) => {
        if (err || this.failure) reject(this.failure ?? new RuntimeFailure(`${this.file}: ${err?.message ?? 'muxer stopped'}`));
        else resolve();
      });
    });
  }

  /** Ends the segment: ffmpeg writes its last fragment and exits. */
  async finish(): Promise<void> {
    this.finishing = true;
    if (!this.input.destroyed) this.input.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    if (this.failure) throw this.failure;
    if (code !== 0) throw new RuntimeFailure(`${this.file}: ${this.why(code)}`);
  }

  /** Stops at once (after a failure): what was written stays as it is. */
  async abort(): Promise<void> {
    this.finishing = true;
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}
