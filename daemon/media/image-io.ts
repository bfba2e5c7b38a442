import { existsSync, promises as fsp, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { frameBytes, type PixelFormat } from '../core/frame.js';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { spawnMedia } from './media-process.js';

/** Image file extensions the project reads (lower case, with the dot). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp'];

let cachedFfmpeg: string | null = null;

/**
 * The ffmpeg binary: `ffmpeg-static`'s file when that optional package is installed and its file
 * exists, else `ffmpeg` on PATH.
 */
export function ffmpegPath(): string {
  if (cachedFfmpeg !== null) return cachedFfmpeg;
  let found = 'ffmpeg';
  try {
    const require = createRequire(import.meta.url);
    const mod: unknown = require('ffmpeg-static');
    const file = typeof mod === 'string' ? mod : (mod as { default?: unknown } | null)?.default;
    if (typeof file === 'string' && existsSync(file)) found = file;
  } catch {
    /* not installed: use PATH */
  }
  cachedFfmpeg = found;
  return found;
}

/** The ffprobe binary (ffmpeg-static ships none): `ffprobe` on PATH. */
export function ffprobePath(): string {
  return 'ffprobe';
}

export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

/** Runs ffmpeg with optional stdin bytes; collects stdout as a Buffer. Rejects only when ffmpeg cannot start. */
function runFfmpeg(args: string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const bin = ffmpegPath();
    // media.nice like the decoders and encoders: snapshot and latest.jpg encodes are background work too
    const proc = spawnMedia(bin, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    proc.stdout?.on('data', (c: Buffer) => out.push(c));
    proc.stderr?.on('data', (c: Buffer) => {
      if (err.length < 8192) err += c.toString();
    });
    proc.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new RuntimeFailure(
          e.code === 'ENOENT' ? `${bin}: not found (install ffmpeg: apt-get install ffmpeg, or npm run setup)` : `${bin}: cannot start (${e.message})`,
        ),
      );
    });
    proc.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: err, code }));
    if (input && proc.stdin) {
      // ffmpeg may exit early on bad input; the exit code reports that, not an EPIPE here
      proc.stdin.on('error', () => undefined);
      proc.stdin.end(input);
    }
  });
}

/** ffmpeg's first error line (the cause; later lines are consequences), without its "[png @ 0x..]" tag. */
function firstError(stderr: string, file?: string): string {
  const line = stderr.split('\n').find((l) => l.trim().length > 0) ?? '';
  let msg = line.replace(/^\[[^\]]*@ ?0x[0-9a-f]+\]\s*/i, '').trim();
  if (file && msg.startsWith(`${file}: `)) msg = msg.slice(file.length + 2);
  return msg.replace(/\.$/, '');
}

/** Reads the P6 header of a binary PPM: width, height and where the pixels start. */
function parsePpm(buf: Buffer): { width: number; height: number; offset: number } | null {
  // "P6" whitespace width whitespace height whitespace maxval one-whitespace pixels
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4 && i < buf.length && i < 256) {
    while (i < buf.length && /\s/.test(String.fromCharCode(buf[i]))) i++;
    if (buf[i] === 0x23 /* # comment */) {
      while (i < buf.length && buf[i] !== 0x0a) i++;
      continue;
    }
    let s = '';
    while (i < buf.length && !/\s/.test(String.fromCharCode(buf[i]))) s += String.fromCharCode(buf[i++]);
    fields.push(s);
  }
  i++; // the single whitespace byte after maxval
  if (fields.length < 4 || fields[0] !== 'P6' || fields[3] !== '255') return null;
  const width = Number(fields[1]);
  const height = Number(fields[2]);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) return null;
  if (buf.length - i < width * height * 3) return null;
  return { width, height, offset: i };
}

/**
 * Decodes the first frame of any image ffmpeg reads (png, jpg, bmp, ...) to packed RGB24.
 * One ffmpeg process per image; the size comes from the PPM header ffmpeg writes to the pipe.
 */
export async function readImage(file: string): Promise<RgbImage> {
  if (!existsSync(file)) throw new RuntimeFailure(`${file}: not found (check the path)`);
  if (statSync(file).isDirectory()) throw new RuntimeFailure(`${file}: is a directory, not an image`);
  const args = ['-v', 'error', '-nostdin', '-i', file, '-frames:v', '1', '-an', '-pix_fmt', 'rgb24', '-f', 'image2pipe', '-c:v', 'ppm', '-'];
  const res = await runFfmpeg(args);
  const header = res.code === 0 ? parsePpm(res.stdout) : null;
  if (!header) {
    const why = firstError(res.stderr, file);
    throw new RuntimeFailure(`${file}: not an image ffmpeg can read${why ? ` (${why})` : ''}`);
  }
  const { width, height, offset } = header;
  const data = res.stdout.subarray(offset, offset + width * height * 3);
  return { data, width, height };
}

function encoderArgs(file: string): string[] {
  const ext = extname(file).toLowerCase();
  if (ext === '.png') return ['-c:v', 'png', '-pix_fmt', 'rgb24'];
  if (ext === '.jpg' || ext === '.jpeg') return ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '2'];
  if (ext === '.bmp') return ['-c:v', 'bmp', '-pix_fmt', 'bgr24'];
  throw new RuntimeFailure(`${file}: cannot write images of type "${ext || '(none)'}" (use .jpg, .jpeg, .png or .bmp)`);
}

/** ffmpeg's name of a frame layout (`-pix_fmt`). */
export function ffmpegPixelFormat(format: PixelFormat | undefined): 'rgb24' | 'rgba' | 'yuv420p' {
  return format === 'rgba' ? 'rgba' : format === 'i420' ? 'yuv420p' : 'rgb24';
}

/**
 * Encodes one RGB24, RGBA or I420 frame to JPEG bytes (one ffmpeg process, off the event loop).
 * `quality` is ffmpeg's mjpeg scale: 2 (best) .. 31 (smallest).
 */
export async function encodeJpeg(pixels: Buffer, width: number, height: number, format: PixelFormat = 'rgb24', quality = 4): Promise<Buffer> {
  return encodeFrame('JPEG', ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(quality)], pixels, width, height, format);
}

async function encodeFrame(what: string, codec: string[], pixels: Buffer, width: number, height: number, format: PixelFormat): Promise<Buffer> {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RuntimeFailure(`${what}: image size must be positive integers, got ${width}x${height}`);
  }
  const bytes = frameBytes(format, width, height);
  if (pixels.length < bytes) {
    throw new RuntimeFailure(`${what}: expected ${bytes} bytes of ${format.toUpperCase()} for ${width}x${height}, got ${pixels.length}`);
  }
  const args = [
    '-v',
    'error',
    '-f',
    'rawvideo',
    '-pix_fmt',
    ffmpegPixelFormat(format),
    '-s',
    `${width}x${height}`,
    '-i',
    'pipe:0',
    '-frames:v',
    '1',
    ...codec,
    '-f',
    'image2pipe',
    'pipe:1',
  ];
  const res = await runFfmpeg(args, pixels.length === bytes ? pixels : pixels.subarray(0, bytes));
  if (res.code !== 0 || res.stdout.length === 0) {
    throw new RuntimeFailure(`${what}: ffmpeg could not encode the image (${firstError(res.stderr) || `exit code ${res.code}`})`);
  }
  return res.stdout;
}

/**
 * Encodes an RGB24 (or RGBA or I420) frame to a .jpg/.jpeg/.png/.bmp file (by extension). The bytes go
 * to a temporary file in the same directory which is then renamed, so readers never see a partial file.
 */
export async function writeImage(file: string, pixels: Buffer, width: number, height: number, format: PixelFormat = 'rgb24'): Promise<void> {
  const codec = encoderArgs(file);
  const encoded = await encodeFrame(file, codec, pixels, width, height, format);
  await writeFileAtomic(file, encoded);
}

/** Writes `bytes` to a temporary file beside `file` and renames it: readers never see a partial file. */
export async function writeFileAtomic(file: string, bytes: Buffer): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    await fsp.writeFile(tmp, bytes);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !existsSync(dir)) throw new RuntimeFailure(`${file}: cannot write (folder ${dir} does not exist)`);
    if (code === 'EACCES' || code === 'EROFS') throw new RuntimeFailure(`${file}: cannot write (no permission to write in ${dir})`);
    throw new RuntimeFailure(`${file}: cannot write (${errorMessage(err)})`);
  }
}

/** The image files (png, jpg, jpeg, bmp, any case) directly inside `dir`, as full paths, sorted by name. */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RuntimeFailure(`${dir}: directory not found (check the path)`);
    if (code === 'ENOTDIR') throw new RuntimeFailure(`${dir}: not a directory`);
    throw new RuntimeFailure(`${dir}: cannot list (${errorMessage(err)})`);
  }
  return names
    .filter((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(n).toLowerCase()))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(dir, n));
}
