import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { RuntimeFailure } from '../core/errors.js';
import { ffprobePath } from './image-io.js';

export interface VideoInfo {
  width: number;
  height: number;
  /** frames per second as a number and as ffmpeg's rational string (e.g. "30000/1001") */
  fps: number;
  fpsRational: string;
  /** frame count when the container states it (null for streams) */
  frameCount: number | null;
  duration: number | null;
  /** the video stream's own length in seconds when the container states it (its duration, or Matroska's DURATION tag); audio does not count */
  videoDuration?: number | null;
  codec: string;
  /** ticks per second of the stream's timestamps (its time base 1/N), when known */
  timescale?: number | null;
}

export function parseRational(r: string | undefined): number {
  if (!r) return 0;
  const [n, d] = r.split('/').map(Number);
  if (!Number.isFinite(n) || !Number.isFinite(d ?? 1) || (d ?? 1) === 0) return 0;
  return d === undefined ? n : n / d;
}

/** "00:00:10.000000000" -> 10; null when it is not such a clock. */
export function parseClock(v: string | undefined): number | null {
  const m = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(v ?? '');
  if (!m) return null;
  const s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return s > 0 ? s : null;
}

/** "1/12800" → 12800: the ticks per second of a stream's timestamps (null unless 1/N). */
function timescaleOf(timeBase: string): number | null {
  const m = /^1\/(\d+)$/.exec(timeBase);
  const n = m ? Number(m[1]) : NaN;
  return Number.isInteger(n) && n > 0 && n <= 10_000_000 ? n : null;
}

/** Reads size, frame rate and length of a video file with ffprobe. One-line errors, exit 1. */
export function probeVideo(file: string): Promise<VideoInfo> {
  if (!existsSync(file)) return Promise.reject(new RuntimeFailure(`${file}: not found (check the path)`));
  if (statSync(file).isDirectory()) return Promise.reject(new RuntimeFailure(`${file}: is a directory, not a video file`));
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,r_frame_rate,avg_frame_rate,time_base,nb_frames,codec_name,duration:stream_tags=DURATION:format=duration',
    '-of',
    'json',
    file,
  ];
  return new Promise((resolve, reject) => {
    execFile(ffprobePath(), args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const why =
        String(stderr || '')
          .trim()
          .split('\n')
          .pop() || (err ? err.message : '');
      type Field = string | number | undefined;
      type Stream = {
        width?: Field;
        height?: Field;
        avg_frame_rate?: string;
        r_frame_rate?: string;
        time_base?: string;
        nb_frames?: Field;
        codec_name?: string;
        duration?: Field;
        tags?: Record<string, string>;
      };
      let parsed: { streams?: Stream[]; format?: { duration?: string } } = {};
      try {
        parsed = JSON.parse(String(stdout || '{}')) as typeof parsed;
      } catch {
        /* fall through to the error below */
      }
      const s = parsed.streams?.[0];
      if (err || !s) {
        reject(new RuntimeFailure(`${file}: not a video ffmpeg can read${why ? ` (${why.replace(/^.*?: /, '')})` : ' (no video stream)'}`));
        return;
      }
      const width = Number(s.width);
      const height = Number(s.height);
      const avg = String(s.avg_frame_rate ?? '');
      const real = String(s.r_frame_rate ?? '');
      const fpsRational = parseRational(avg) > 0 ? avg : real;
      const fps = parseRational(fpsRational);
      if (!(width > 0 && height > 0)) {
        reject(new RuntimeFailure(`${file}: video stream has no frame size (corrupt or truncated file?)`));
        return;
      }
      const nb = Number(s.nb_frames);
      const duration = Number(parsed.format?.duration);
      const tags = typeof s.tags === 'object' ? s.tags : {};
      const videoDuration = Number(s.duration) > 0 ? Number(s.duration) : parseClock(tags.DURATION);
      resolve({
        width,
        height,
        fps: fps > 0 ? fps : 25,
        fpsRational: fps > 0 ? fpsRational : '25/1',
        frameCount: Number.isFinite(nb) && nb > 0 ? nb : null,
        duration: Number.isFinite(duration) && duration > 0 ? duration : null,
        videoDuration,
        codec: String(s.codec_name ?? 'unknown'),
        timescale: timescaleOf(String(s.time_base ?? '')),
      });
    });
  });
}

/**
 * The video codec of an RTSP stream (ffprobe's name: h264, hevc, mjpeg ...), or null when the
 * camera does not answer within `timeoutMs`. One extra RTSP session, closed at once.
 */
export function probeRtspCodec(url: string, transport: 'tcp' | 'udp', timeoutMs = 10_000): Promise<string | null> {
  const args = ['-v', 'error', '-rtsp_transport', transport, '-select_streams', 'v:0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url];
  return new Promise((resolve) => {
    execFile(ffprobePath(), args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 16 }, (err, stdout) => {
      const codec =
        String(stdout ?? '')
          .trim()
          .split('\n')[0]
          ?.trim() ?? '';
      resolve(!err && /^[a-z0-9_]+$/.test(codec) ? codec : null);
    });
  });
}
