import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `trt-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Encodes a synthetic test clip with ffmpeg's testsrc (real H.264 in a real container). */
export function makeTestVideo(
  file: string,
  /** `encoder`: more encoder options, e.g. ['-g', '25', '-bf', '2'] for B-frames every 25-frame GOP */
  opts: { width?: number; height?: number; fps?: number | string; frames?: number; codec?: string; encoder?: string[] } = {},
): string {
  const { width = 320, height = 240, fps = 15, frames = 30, codec = 'libx264' } = opts;
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}`,
    '-frames:v',
    String(frames),
    '-c:v',
    codec,
    ...(codec === 'libx264' ? ['-pix_fmt', 'yuv420p'] : []),
    ...(opts.encoder ?? []),
    '-y',
    file,
  ]);
  return file;
}

/** Frame count and frame timestamps of a video's first stream, decoded by ffprobe. */
export function probeFrames(file: string): { count: number; pts: number[]; width: number; height: number; fps: string } {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'frame=pts_time,width,height:stream=r_frame_rate',
    '-of',
    'json',
    file,
  ]).toString();
  const j = JSON.parse(out) as { frames: Array<{ pts_time: string; width: number; height: number }>; streams: Array<{ r_frame_rate: string }> };
  return {
    count: j.frames.length,
    pts: j.frames.map((f) => Number(f.pts_time)),
    width: j.frames[0]?.width ?? 0,
    height: j.frames[0]?.height ?? 0,
    fps: j.streams[0]?.r_frame_rate ?? '',
  };
}
