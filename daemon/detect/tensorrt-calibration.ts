/**
 * INT8 calibration input. Calibration images must be pre-processed exactly as frames are at
 * inference time, so the daemon does it: every image (png/jpg/bmp) and sampled video frames
 * (mp4/mkv/mov/avi: e.g. the recorder's segments of the user's own cameras) under the calibration
 * folder are decoded with ffmpeg, pre-processed by the addon with the model's spec, and written as
 * raw float32 NCHW tensors (one file per image) that the native calibrator feeds to TensorRT.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { extname, join } from 'node:path';
import { ConfigError, RuntimeFailure, errorMessage } from '../core/errors.js';
import { IMAGE_EXTENSIONS, ffmpegPath, readImage } from '../media/image-io.js';
import { probeVideo } from '../media/probe.js';
import * as native from '../native.js';

export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.mov', '.avi'];

export interface CalibrationOptions {
  /** folder of images and/or videos (searched up to 4 levels deep) */
  dir: string;
  /** the model's pre-processing (input size, mean/std, color, resize) */
  spec: native.PreprocessSpec;
  /** where the tensor files go (a temporary folder the caller removes) */
  outDir: string;
  /** at most this many tensors in all (TensorRT recommends ~500) */
  maxImages?: number;
  /** frames sampled from each video, evenly over its length */
  framesPerVideo?: number;
  onProgress?: (line: string) => void;
}

export interface CalibrationSources {
  images: string[];
  videos: string[];
}

/** Images and videos under `dir`, sorted by path. */
export async function findCalibrationSources(dir: string): Promise<CalibrationSources> {
  const out: CalibrationSources = { images: [], videos: [] };
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (depth > 0) return;
      if (code === 'ENOENT')
        throw new ConfigError(`${dir}: calibration folder not found (set model.calibration.images or --calib to a folder of images or recordings)`);
      if (code === 'ENOTDIR') throw new ConfigError(`${dir}: calibration images must be a folder, not a file`);
      throw new ConfigError(`${dir}: cannot list the calibration folder (${errorMessage(err)})`);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (depth < 4) await walk(p, depth + 1);
      } else {
        const ext = extname(e.name).toLowerCase();
        if (IMAGE_EXTENSIONS.includes(ext)) out.images.push(p);
        else if (VIDEO_EXTENSIONS.includes(ext)) out.videos.push(p);
      }
    }
  };
  await walk(dir, 0);
  return out;
}

/** `count` items spread evenly over `items` (all of them when there are fewer), order kept. */
export function spread<T>(items: T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(items[Math.floor((i * items.length) / count)]);
  return out;
}

/** Up to `count` RGB24 frames of a video, evenly spaced over its duration. */
async function sampleVideoFrames(file: string, count: number, onFrame: (rgb: Buffer, width: number, height: number) => Promise<void>): Promise<number> {
  const info = await probeVideo(file);
  const duration = info.duration && info.duration > 0 ? info.duration : info.frameCount && info.fps ? info.frameCount / info.fps : 0;
  const rate = duration > 0 ? Math.max(count / duration, 0.001) : 1;
  const args = [
    '-v',
    'error',
    '-nostdin',
    '-i',
    file,
    '-an',
    '-vf',
    `fps=${rate.toFixed(6)}`,
    '-frames:v',
    String(count),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const frameBytes = info.width * info.height * 3;
  const proc = spawn(ffmpegPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    proc.on('error', (e) => reject(new RuntimeFailure(`${ffmpegPath()}: cannot start (${e.message})`)));
    proc.on('close', (code) => resolve(code));
  });
  let pending = Buffer.alloc(0);
  let frames = 0;
  for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= frameBytes) {
      const frame = Buffer.from(pending.subarray(0, frameBytes));
      pending = pending.subarray(frameBytes);
      await onFrame(frame, info.width, info.height);
      frames++;
    }
  }
  const code = await exited;
  if (code !== 0 && frames === 0)
    throw new RuntimeFailure(`${file}: ffmpeg could not decode frames for calibration (${stderr.split('\n')[0] || `exit code ${code}`})`);
  return frames;
}

/**
 * Writes the calibration tensors and returns their paths in order. Throws a ConfigError when the
 * folder holds nothing usable (an INT8 build without calibration data or cache cannot succeed).
 */
export async function writeCalibrationTensors(opts: CalibrationOptions): Promise<string[]> {
  const max = opts.maxImages ?? 500;
  const perVideo = opts.framesPerVideo ?? 50;
  const sources = await findCalibrationSources(opts.dir);
  if (sources.images.length === 0 && sources.videos.length === 0) {
    throw new ConfigError(
      `${opts.dir}: no calibration images or videos (${[...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(', ')}) found; INT8 needs ~100-500 frames from your cameras, or a calibration cache`,
    );
  }
  const { width, height } = opts.spec;
  const tensor = new Float32Array(3 * width * height);
  const files: string[] = [];
  const writeOne = async (rgb: Buffer, w: number, h: number) => {
    await native.preprocess(rgb, w, h, opts.spec, tensor);
    const file = join(opts.outDir, `calib-${String(files.length).padStart(5, '0')}.f32`);
    await fsp.writeFile(file, new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength));
    files.push(file);
  };
  // share the budget: videos get what the images leave, at most perVideo each
  const images = spread(sources.images, max);
  for (const [i, file] of images.entries()) {
    const img = await readImage(file);
    await writeOne(img.data, img.width, img.height);
    if (opts.onProgress && (i + 1) % 50 === 0) opts.onProgress(`calibration: ${i + 1}/${images.length} images prepared`);
  }
  const left = max - files.length;
  if (left > 0 && sources.videos.length) {
    const videos = spread(sources.videos, left);
    const each = Math.max(1, Math.min(perVideo, Math.floor(left / videos.length)));
    for (const v of videos) {
      if (files.length >= max) break;
      const n = await sampleVideoFrames(v, Math.min(each, max - files.length), writeOne);
      opts.onProgress?.(`calibration: ${n} frames from ${v}`);
    }
  }
  opts.onProgress?.(`calibration: ${files.length} tensors of ${width}x${height} prepared`);
  return files;
}
