/**
 * Collects frames for INT8 calibration from the running daemon : every K-th decoded
 * frame of a camera (before boxes are drawn) is saved as
 * `<model.calibration.images>/<camera>/<timestamp>-<frame>.jpg` until N are saved.
 * One JPEG is encoded at a time per camera by an ffmpeg child process (image-io writeImage);
 * frames that come while a write is in flight are skipped and counted, so the pipeline never waits.
 *
 * Bounded (model.calibration.max_files, max_megabytes, min_free_percent): the images folder (its
 * images and those of its camera folders, whoever wrote them) never holds more than max_files
 * images or max_megabytes; a capture is refused (409) when the folder is full, when it asks for
 * more frames than the folder may still take, or when less than min_free_percent of its disk is
 * free, and a running capture stops (state `stopped`, with the reason) at either limit or when the
 * free space falls below min_free_percent (checked before the first write and then every 10
 * writes or 5 s).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { frameBytes, type Frame, type PixelFormat } from '../core/frame.js';
import { errorMessage } from '../core/errors.js';
import { diskFree, makeDirs } from '../core/files.js';
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
  /** stopped: a limit of model.calibration (files, megabytes, free space) was reached first */
  state: 'capturing' | 'done' | 'stopped' | 'error';
  error?: string;
  /** why a capture stopped early */
  reason?: string;
}

export interface CaptureStarted {
  capturing: Record<string, number>;
  dir: string;
}

/** What the HTTP endpoint needs (POST and GET /calibration/capture). */
export interface CalibrationControl {
  /** query parameters as given: frames, camera, every (strings); rejects with CaptureRequestError */
  start(query: URLSearchParams): Promise<CaptureStarted>;
  progress(): Record<string, CaptureProgress>;
}

/** model.calibration's bounds of the images folder */
export interface CaptureLimits {
  max_files: number;
  max_megabytes: number;
  min_free_percent: number;
}

/** The running cameras the controller may capture from, with their measured frame rate (0 = unknown). */
export interface CaptureCameras {
  names(): string[];
  fps(camera: string): number;
  /** model.calibration.images of the config running now */
  imagesDir(): string;
  /** model.calibration.max_files, max_megabytes, min_free_percent of the config running now */
  limits(): CaptureLimits;
}

const IMAGE_FILE = /\.(jpe?g|png|bmp|ppm)$/i;
/** free space is looked at again after this many writes or this long */
const FREE_CHECK_WRITES = 10;
const FREE_CHECK_MS = 5000;

/** Images (count, bytes) in `root` and in its folders one level down (the camera folders). */
export async function imagesIn(root: string): Promise<{ files: number; bytes: number }> {
  const out = { files: 0, bytes: 0 };
  const scan = async (dir: string, depth: number) => {
    let entries;
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth === 0) await scan(p, 1);
      else if (e.isFile() && IMAGE_FILE.test(e.name)) {
        out.files++;
        out.bytes += await fsp.stat(p).then(
          (st) => st.size,
          () => 0,
        );
      }
    }
  };
  await scan(root, 0);
  return out;
}

/** What the images folder holds and may still take; shared by the captures of every camera. */
export class CaptureBudget {
  private writes = 0;
  private lastFreeCheck = 0;

  constructor(
    readonly root: string,
    readonly limits: CaptureLimits,
    public files: number,
    public bytes: number,
  ) {}

  get maxBytes(): number {
    return this.limits.max_megabytes * 1024 * 1024;
  }

  /** Why no further image may be written (a limit is reached), or null. */
  full(): string | null {
    if (this.files >= this.limits.max_files)
      return `${this.root} holds ${this.files} images, the limit (model.calibration.max_files: ${this.limits.max_files}) (delete images or raise the limit)`;
    if (this.bytes >= this.maxBytes)
      return `${this.root} holds ${(this.bytes / 1048576).toFixed(1)} MB of images, the limit (model.calibration.max_megabytes: ${this.limits.max_megabytes}) (delete images or raise the limit)`;
    return null;
  }

  /** Why the disk is too full to write on (checked every few writes), or null. */
  async lowSpace(force = false): Promise<string | null> {
    const now = Date.now();
    if (!force && this.writes % FREE_CHECK_WRITES !== 0 && now - this.lastFreeCheck < FREE_CHECK_MS) return null;
    this.lastFreeCheck = now;
    const free = await diskFree(this.root);
    if (free !== null && free.percent < this.limits.min_free_percent)
      return `only ${free.percent.toFixed(1)}% of the disk of ${this.root} is free (model.calibration.min_free_percent: ${this.limits.min_free_percent}) (free some space)`;
    return null;
  }

  wrote(bytes: number): void {
    this.writes++;
    this.files++;
    this.bytes += bytes;
  }
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
  private stopped: string | null = null;
  private dirReady = false;

  constructor(
    readonly camera: string,
    readonly wanted: number,
    readonly every: number,
    readonly dir: string,
    private readonly logger: Logger,
    private readonly budget: CaptureBudget | null = null,
  ) {}

  get done(): boolean {
    return this.error !== null || this.stopped !== null || this.saved >= this.wanted;
  }

  progress(): CaptureProgress {
    const state = this.error !== null ? 'error' : this.stopped !== null ? 'stopped' : this.saved >= this.wanted ? 'done' : 'capturing';
    return {
      saved: this.saved,
      wanted: this.wanted,
      dir: this.dir,
      every: this.every,
      skipped: this.skipped,
      state,
      ...(this.error !== null ? { error: this.error } : {}),
      ...(this.stopped !== null ? { reason: this.stopped } : {}),
    };
  }

  private stop(reason: string): void {
    this.stopped = reason;
    this.logger.warn({ camera: this.camera, saved: this.saved, dir: this.dir }, `calibration capture stopped after ${this.saved} frames: ${reason}`);
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
      if (this.budget) {
        const why = this.budget.full() ?? (await this.budget.lowSpace(this.saved === 0));
        if (why !== null) return this.stop(why);
      }
      await writeImage(file, pixels, width, height, format);
      this.saved++;
      if (this.budget) {
        const size = await fsp.stat(file).then(
          (st) => st.size,
          () => 0,
        );
        this.budget.wrote(size);
      }
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
  /** a start is looking at the folder (the next POST waits its turn: 409) */
  private starting = false;

  constructor(
    private readonly cameras: CaptureCameras,
    private readonly logger: Logger,
  ) {}

  async start(query: URLSearchParams): Promise<CaptureStarted> {
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
    if (this.starting) throw new CaptureRequestError(409, 'another capture is being started (try again in a moment)');
    const root = this.cameras.imagesDir();
    const limits = this.cameras.limits();
    this.starting = true;
    let budget: CaptureBudget;
    try {
      const held = await imagesIn(root);
      budget = new CaptureBudget(root, limits, held.files, held.bytes);
      const why = budget.full() ?? (await budget.lowSpace(true));
      if (why !== null) throw new CaptureRequestError(409, `calibration capture refused: ${why}`);
      const room = limits.max_files - held.files;
      if (frames * targets.length > room)
        throw new CaptureRequestError(
          409,
          `calibration capture refused: ${frames * targets.length} frames asked for, but ${root} may take only ${room} more (model.calibration.max_files: ${limits.max_files}, ${held.files} there)`,
        );
    } finally {
      this.starting = false;
    }
    const capturing: Record<string, number> = {};
    for (const c of targets) {
      const fps = this.cameras.fps(c);
      const k = every ?? (fps > 0 ? Math.max(1, Math.round(fps)) : CAPTURE_EVERY_FALLBACK);
      const sink = new CaptureSink(c, frames, k, join(root, c), this.logger, budget);
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
