/**
 * Collects frames for INT8 calibration from the running daemon : every K-th decoded
 * frame of a camera (before boxes are drawn) is saved as
 * `<model.calibration.images>/<camera>/<timestamp>-<frame>.jpg` until N are saved.
 * One JPEG is encoded at a time per camera by an ffmpeg child process (image-io writeImage);
 * frames that come while a write is in flight are skipped and counted, so the pipeline never waits.
 */
import { join } from 'node:path';
import { frameBytes, type Frame, type PixelFormat } from '../core/frame.js';
import { errorMessage } from '../core/errors.js';
import { makeDirs } from '../core/files.js';
import { writeImage } from '../media/image-io.js';
import type { Logger } from '../core/log.js';

export const CAPTURE_FRAMES_DEFAULT = 100;
export const CAPTURE_FRAMES_MAX = 5000;
export const CAPTURE_EVERY_MAX = 100_000;
/** every-K default when a camera's frame rate is not measured yet */
export const CAPTURE_EVERY_FALLBACK = 25;

/** A request the HTTP endpoint answers with `status` and `{"error": message}`. */
export class CaptureRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureRequestError';
  }
}

export interface CaptureProgress {
  saved: number;
  wanted: number;
  dir: string;
  every: number;
  /** frames passed over because the previous JPEG was still being written */
  skipped: number;
  state: 'capturing' | 'done' | 'error';
  error?: string;
}

export interface CaptureStarted {
  capturing: Record<string, number>;
  dir: string;
}

/** What the HTTP endpoint needs (POST and GET /calibration/capture). */
export interface CalibrationControl {
  /** query parameters as given: frames, camera, every (strings) */
  start(query: URLSearchParams): CaptureStarted;
  progress(): Record<string, CaptureProgress>;
}

/** The running cameras the controller may capture from, with their measured frame rate (0 = unknown). */
export interface CaptureCameras {
  names(): string[];
  fps(camera: string): number;
  /** model.calibration.images of the config running now */
  imagesDir(): string;
}

/** `20261124T171938123Z`: sorts by time, safe in file names. */
function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('.', '');
}

/** One camera's capture: saves every K-th offered frame until `wanted` are saved or a write fails. */
export class CaptureSink {
  private seen = 0;
  private writing = false;
  private saved = 0;
  private skipped = 0;
  private error: string | null = null;
  private dirReady = false;

  constructor(
    readonly camera: string,
    readonly wanted: number,
    readonly every: number,
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  get done(): boolean {
    return this.error !== null || this.saved >= this.wanted;
  }

  progress(): CaptureProgress {
    const state = this.error !== null ? 'error' : this.saved >= this.wanted ? 'done' : 'capturing';
    return {
      saved: this.saved,
      wanted: this.wanted,
      dir: this.dir,
      every: this.every,
      skipped: this.skipped,
      state,
      ...(this.error !== null ? { error: this.error } : {}),
    };
  }

  /** Called by the pipeline for every decoded frame; copies the pixels it keeps and returns at once. */
  offer(frame: Frame): void {
    if (this.done) return;
    const n = this.seen++;
    if (n % this.every !== 0) return;
    if (this.writing) {
      this.skipped++;
      return;
    }
    this.writing = true;
    // the frame pool reuses this buffer once the pipeline is done with it: keep a copy (I420 and
    // RGBA frames stay as they are: ffmpeg converts them off the event loop)
    const pixels = Buffer.from(frame.data.subarray(0, frameBytes(frame.format, frame.width, frame.height)));
    const file = join(this.dir, `${stamp(new Date())}-${String(frame.index).padStart(6, '0')}.jpg`);
    void this.write(file, pixels, frame.width, frame.height, frame.format);
  }

  private async write(file: string, pixels: Buffer, width: number, height: number, format: PixelFormat | undefined): Promise<void> {
    try {
      if (!this.dirReady) {
        try {
          makeDirs(this.dir);
        } catch (err) {
          throw new Error(`${this.dir}: cannot create the calibration folder (${errorMessage(err)}; set model.calibration.images to a writable folder)`);
        }
        this.dirReady = true;
      }
      await writeImage(file, pixels, width, height, format);
      this.saved++;
      if (this.saved >= this.wanted) {
        this.logger.info(
          { camera: this.camera, saved: this.saved, skipped: this.skipped, dir: this.dir },
          `calibration capture finished: ${this.saved} frames in ${this.dir}`,
        );
      }
    } catch (err) {
      this.error = errorMessage(err);
      this.logger.error({ camera: this.camera, dir: this.dir, saved: this.saved }, `calibration capture failed: ${this.error}`);
    } finally {
      this.writing = false;
    }
  }
}

function wholeNumber(query: URLSearchParams, key: string, fallback: number | null, max: number): number | null {
  const raw = query.get(key);
  if (raw === null) return fallback;
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new CaptureRequestError(400, `${key} must be a whole number from 1 to ${max}, got "${raw}"`);
  }
  return n;
}

/** Starts and tracks captures per camera; the pipelines hand it their frames through offer(). */
export class CalibrationCapture implements CalibrationControl {
  private readonly sinks = new Map<string, CaptureSink>();

  constructor(
    private readonly cameras: CaptureCameras,
    private readonly logger: Logger,
  ) {}

  start(query: URLSearchParams): CaptureStarted {
    for (const key of query.keys()) {
      if (key !== 'frames' && key !== 'camera' && key !== 'every') throw new CaptureRequestError(400, `unknown parameter "${key}" (use frames, camera, every)`);
    }
    const frames = wholeNumber(query, 'frames', CAPTURE_FRAMES_DEFAULT, CAPTURE_FRAMES_MAX) as number;
    const every = wholeNumber(query, 'every', null, CAPTURE_EVERY_MAX);
    const running = this.cameras.names();
    const camera = query.get('camera');
    let targets: string[];
    if (camera !== null) {
      if (!running.includes(camera)) throw new CaptureRequestError(404, `no running camera "${camera}" (running: ${running.join(', ') || 'none'})`);
      targets = [camera];
    } else {
      if (!running.length) throw new CaptureRequestError(404, 'no camera is running');
      targets = running;
    }
    const busy = targets.filter((c) => this.sinks.get(c)?.done === false);
    if (busy.length) throw new CaptureRequestError(409, `a capture is already running for ${busy.join(', ')} (see GET /calibration/capture)`);
    const root = this.cameras.imagesDir();
    const capturing: Record<string, number> = {};
    for (const c of targets) {
      const fps = this.cameras.fps(c);
      const k = every ?? (fps > 0 ? Math.max(1, Math.round(fps)) : CAPTURE_EVERY_FALLBACK);
      const sink = new CaptureSink(c, frames, k, join(root, c), this.logger);
      this.sinks.set(c, sink);
      capturing[c] = frames;
      this.logger.info({ camera: c, frames, every: k, dir: sink.dir }, `calibration capture started: ${frames} frames, 1 in every ${k}, into ${sink.dir}`);
    }
    return { capturing, dir: root };
  }

  progress(): Record<string, CaptureProgress> {
    const out: Record<string, CaptureProgress> = {};
    for (const [c, sink] of this.sinks) out[c] = sink.progress();
    return out;
  }

  /** The pipeline's hook: a decoded frame of `camera`, before boxes are drawn. */
  offer(camera: string, frame: Frame): void {
    const sink = this.sinks.get(camera);
    if (sink && !sink.done) sink.offer(frame);
  }
}
