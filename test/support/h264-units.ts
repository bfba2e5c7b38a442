import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnnexBParser, type AccessUnit } from '../../daemon/media/h264.js';

/**
 * Real encoder output for the RTSP tests: `frames` access units of a 320x240 test pattern from
 * ffmpeg's libx264, a keyframe every 10, no B-frames; `aud` adds access unit delimiters.
 */
export function testAccessUnits(dir: string, opts: { frames?: number; aud?: boolean } = {}): AccessUnit[] {
  const file = join(dir, `es-${opts.aud ? 'aud' : 'plain'}.h264`);
  const aud = opts.aud ? ['-x264-params', 'aud=1'] : [];
  const args = ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-frames:v', String(opts.frames ?? 20)];
  execFileSync('ffmpeg', [...args, '-c:v', 'libx264', '-g', '10', '-bf', '0', ...aud, '-f', 'h264', '-y', file]);
  const aus: AccessUnit[] = [];
  const p = new AnnexBParser((au) => aus.push(au));
  p.push(readFileSync(file));
  p.flush();
  return aus;
}
