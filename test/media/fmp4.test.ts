/**
 * The fragmented-MP4 muxer of the live view: real libx264 access units muxed into an init segment
 * and one fragment per picture, read back by ffprobe and decoded by ffmpeg, frame for frame.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { initSegment, mediaFragment } from '../../daemon/media/fmp4.js';
import { NAL, nalType } from '../../daemon/media/h264.js';
import { avccSample, avcDecoderConfig } from '../../daemon/media/matroska-frames.js';
import { testAccessUnits } from '../support/h264-units.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('fmp4');
afterAll(cleanup);

describe('fmp4', () => {
  it('muxes H.264 access units that ffmpeg reads back with every frame and its time', () => {
    const aus = testAccessUnits(dir, { frames: 30 });
    const sps = aus[0].nals.find((n) => nalType(n) === NAL.SPS) as Buffer;
    const pps = aus[0].nals.find((n) => nalType(n) === NAL.PPS) as Buffer;
    const timescale = 90000;
    const parts = [initSegment({ avcC: avcDecoderConfig(sps, pps), width: 320, height: 240, timescale })];
    // start at 1000 s of source time, 10 fps: a late joiner's decode times do not start at 0
    aus.forEach((au, i) => {
      const data = avccSample(au.nals.filter((n) => nalType(n) !== NAL.SPS && nalType(n) !== NAL.PPS));
      parts.push(mediaFragment(i + 1, { data, decodeTime: (1000 + i / 10) * timescale, duration: timescale / 10, keyframe: au.keyframe }));
    });
    const file = join(dir, 'live.mp4');
    writeFileSync(file, Buffer.concat(parts));
    const probe = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height:frame=pts_time,key_frame', '-of', 'json', file]).toString(),
    ) as { streams: Array<{ codec_name: string; width: number; height: number }>; frames: Array<{ pts_time: string; key_frame: number }> };
    expect(probe.streams[0]).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(probe.frames).toHaveLength(30);
    probe.frames.forEach((f, i) => expect(Number(f.pts_time)).toBeCloseTo(1000 + i / 10, 3));
    expect(probe.frames.filter((f) => f.key_frame === 1)).toHaveLength(3);
    // decodes without a single error
    const log = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(log).toBe('');
  });
});
