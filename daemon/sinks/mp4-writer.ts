import type { ChildProcess } from 'node:child_process';
import { renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { RuntimeFailure } from '../core/errors.js';
import { ffmpegPath } from '../media/image-io.js';
import type { PixelFormat } from '../core/frame.js';
import { h264StreamEncoder, hardwareEncoder, spawnStreamEncoder, type Command as EncoderCommand } from '../media/encoder.js';
import { spawnMedia } from '../media/media-process.js';
import { parseRational } from '../media/probe.js';
import { keepTimestampArgs } from '../media/ffmpeg-features.js';
import { AnnexBParser, NAL, nalType } from '../media/h264.js';
import { avccSample, copyToFragmentedMp4Args, FRAGMENTED_MP4_OUTPUT, MATROSKA_STDIN_INPUT, MatroskaFrames } from '../media/matroska-frames.js';
import { x264Args } from '../media/x264.js';

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
  /** ticks per second of the output's timestamps: the source's time base (default 90000) */
  timescale?: number | null;
}

/** Ticks per second of the output track when the source does not say: exact for 25, 30000/1001, 12.5, 50 ... fps. */
const DEFAULT_TIMESCALE = 90000;

/**
 * Encodes I420, RGB24 or RGBA frames to a fragmented H.264 MP4 (libx264 through ffmpeg, or the Jetson's
 * hardware encoder through GStreamer with ffmpeg muxing). `write` waits while the encoder's pipe is
 * full (backpressure), so memory stays bounded. Fragments start at every keyframe (one per second
 * by default), so a file cut short by a crash plays up to its last complete fragment.
 *
 * Timing: every frame keeps its own time (`write`'s pts, counted from the file's first frame),
 * carried to ffmpeg in a Matroska stream: a variable-frame-rate source, or a live camera that
 * skipped frames, plays back with its real timing. With libx264 the raw pictures go in Matroska;
 * on the hardware path the encoder's access units do, each with the time of its frame.
 */
export class Mp4Writer {
  /** the processes, first one takes the frames; all must exit 0 */
  private readonly procs: ChildProcess[] = [];
  private input: Writable | null = null;
  private readonly target: string;
  private stderr = '';
  private failed: Error | null = null;
  private exited: Promise<number | null> = Promise.resolve(0);
  /** set once the processes run */
  private readonly ready: Promise<void>;
  /** libx264 path: frames framed with their timestamps */
  private framing: MatroskaFrames | null = null;
  private firstPts: number | null = null;
  /** hardware path: times of the frames written and not yet out of the encoder (seconds from the first) */
  private readonly streamPts: number[] = [];
  private lastStreamPts = 0;
  private readonly fps: number;
  readonly encoder: string;
  frames = 0;

  constructor(
    readonly file: string,
    private readonly opts: Mp4WriterOptions,
  ) {
    this.target = opts.atomic ? `${file}.partial` : file;
    this.fps = parseRational(String(opts.fps)) || Number(opts.fps) || 25;
    const mode = opts.encoder ?? (hardwareEncoder() ? 'stream' : 'x264');
    if (mode === 'stream') {
      const enc = h264StreamEncoder({ width: opts.width, height: opts.height, fps: String(opts.fps), gop: this.gop(), pixelFormat: opts.pixelFormat });
      this.encoder = enc.encoder;
      this.ready = Promise.resolve(this.startStream(enc));
    } else {
      this.encoder = 'libx264';
      this.ready = this.startX264();
    }
  }

  private gop(): number {
    return this.opts.gop ?? Math.max(1, Math.round(this.fps));
  }

  /**
   * The hardware path: raw frames into the stream encoder (GStreamer), its H.264 access units
   * back through here, each paired with its frame's time (one picture out per picture in, in
   * order, no B-frames) and handed to ffmpeg in Matroska, which only writes the MP4.
   */
  private startStream(enc: EncoderCommand): void {
    const opts = this.opts;
    const timescale = opts.timescale ?? DEFAULT_TIMESCALE;
    const { proc: encoder, output: encoded } = spawnStreamEncoder(enc);
    const muxer = spawnMedia(ffmpegPath(), copyToFragmentedMp4Args(timescale, this.target), {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    const out = muxer.stdin as Writable;
    out.on('error', () => undefined); // reported through exit codes
    let framing: MatroskaFrames | null = null;
    const parser = new AnnexBParser((au) => {
      // one picture out per picture in, in order: this one is the oldest frame not yet matched
      const t = this.streamPts.shift() ?? this.lastStreamPts + 1 / this.fps;
      this.lastStreamPts = t;
      if (!framing) {
        if (!parser.sps || !parser.pps) return; // nothing decodable before the first parameter sets
        framing = new MatroskaFrames({ width: opts.width, height: opts.height, fps: this.fps, h264: { sps: parser.sps, pps: parser.pps } });
        out.write(framing.header());
      }
      const sample = avccSample(au.nals.filter((n) => nalType(n) !== NAL.SPS && nalType(n) !== NAL.PPS));
      const ok = out.write(Buffer.concat([framing.frameHeader(t, sample.length, au.keyframe), sample]));
      if (!ok) {
        encoded.pause();
        out.once('drain', () => encoded.resume());
      }
    });
    encoded.on('data', (d: Buffer) => parser.push(d));
    encoded.on('end', () => {
      parser.flush();
      out.end();
    });
    this.watch([encoder, muxer]);
  }

  private async startX264(): Promise<void> {
    const opts = this.opts;
    const timescale = opts.timescale ?? DEFAULT_TIMESCALE;
    const keep = await keepTimestampArgs(timescale);
    this.framing = new MatroskaFrames({ width: opts.width, height: opts.height, fps: this.fps, pixelFormat: opts.pixelFormat });
    const args = [
      ...MATROSKA_STDIN_INPUT,
      ...keep,
      '-an',
      ...x264Args(this.gop(), opts.preset, opts.crf),
      '-video_track_timescale',
      String(timescale),
      ...FRAGMENTED_MP4_OUTPUT,
      '-y',
      this.target,
    ];
    this.watch([spawnMedia(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] })]);
    (this.input as Writable).write(this.framing.header());
  }

  private watch(procs: ChildProcess[]): void {
    this.procs.push(...procs);
    const input = procs[0].stdin as Writable;
    this.input = input;
    for (const p of procs) {
      p.stderr?.on('data', (d: Buffer) => {
        if (this.stderr.length < 4000) this.stderr += d.toString();
      });
    }
    input.on('error', (err) => {
      this.failed ??= new RuntimeFailure(`${this.file}: encoder stopped (${this.stderr.trim().split('\n').pop() || err.message})`);
    });
    const exits = procs.map(
      (p) =>
        new Promise<number | null>((resolve) => {
          p.on('close', (code) => resolve(code));
          p.on('error', (err) => {
            this.failed ??= new RuntimeFailure(`${this.file}: cannot start ${p.spawnfile} (${err.message}) (install it: npm run setup)`);
            resolve(-1);
          });
        }),
    );
    this.exited = Promise.all(exits).then((codes) => codes.find((c) => c !== 0) ?? 0);
  }

  /**
   * Writes one frame shown at `pts` seconds (source time; the file starts at its first frame's);
   * without pts, frames follow each other at the nominal rate. Resolves once ffmpeg has taken the
   * frame (the buffer may then be reused).
   */
  async write(frame: Buffer, pts?: number): Promise<void> {
    await this.ready;
    if (this.failed) throw this.failed;
    const input = this.input as Writable;
    const index = this.frames++;
    const t = pts ?? index / this.fps;
    this.firstPts ??= t;
    if (this.framing) input.write(this.framing.frameHeader(t - this.firstPts));
    else this.streamPts.push(t - this.firstPts);
    return new Promise((resolve, reject) => {
      input.write(frame, (err) => {
        if (err) reject(this.failed ?? new RuntimeFailure(`${this.file}: encoder stopped (${err.message})`));
        else resolve();
      });
    });
  }

  /** Finishes the file: closes ffmpeg's input and waits for the last fragment. */
  async finish(): Promise<void> {
    await this.ready;
    const input = this.input as Writable;
    if (!input.destroyed) input.end();
    const code = await this.exited;
    if (code !== 0 || this.failed) {
      if (this.opts.atomic) rmSync(this.target, { force: true });
      throw this.failed ?? new RuntimeFailure(`${this.file}: encoding failed (${this.stderr.trim().split('\n').pop() || `ffmpeg exit ${code}`})`);
    }
    if (this.opts.atomic) renameSync(this.target, this.file);
  }

  /** Stops without a clean finish; an atomic output is removed. */
  async abort(): Promise<void> {
    await this.ready;
    for (const p of this.procs) p.kill('SIGKILL');
    await this.exited;
    if (this.opts.atomic) rmSync(this.target, { force: true });
  }
}
