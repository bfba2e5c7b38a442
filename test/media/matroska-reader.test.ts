import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MatroskaReader, type MatroskaBlock, type MatroskaTrack } from '../../daemon/media/matroska-reader.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('mkv');
afterAll(cleanup);

function read(bytes: Buffer, chunk: number): { tracks: MatroskaTrack[]; blocks: MatroskaBlock[] } {
  const tracks: MatroskaTrack[] = [];
  const blocks: MatroskaBlock[] = [];
  const r = new MatroskaReader({ onTrack: (t) => tracks.push(t), onBlock: (b) => blocks.push(b) });
  for (let i = 0; i < bytes.length; i += chunk) r.push(bytes.subarray(i, i + chunk));
  return { tracks, blocks };
}

function probe(file: string): Array<{ pts: number; key: boolean; size: number }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags,size', '-of', 'json', file]).toString();
  return (JSON.parse(out) as { packets: Array<{ pts_time: string; flags: string; size: string }> }).packets.map((p) => ({
    pts: Number(p.pts_time),
    key: p.flags.startsWith('K'),
    size: Number(p.size),
  }));
}

describe('MatroskaReader', () => {
  // what ffmpeg writes to a pipe (unknown sizes, the copy's own arguments) and to a file (sizes known, cues)
  const src = join(dir, 'src.mp4');
  makeTestVideo(src, { width: 160, height: 120, fps: 25, frames: 60, encoder: ['-g', '20', '-bf', '2'] });
  const live = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', src, '-map', '0:v:0', '-c:v', 'copy', '-f', 'matroska', '-cluster_time_limit', '100', '-live', '1', 'pipe:1'],
    {
      maxBuffer: 1 << 26,
    },
  );
  const fileMkv = join(dir, 'file.mkv');
  execFileSync('ffmpeg', ['-v', 'error', '-i', src, '-c:v', 'copy', '-y', fileMkv]);
  const hevcMkv = join(dir, 'hevc.mkv');
  makeTestVideo(hevcMkv, { width: 160, height: 120, fps: 25, frames: 10, codec: 'libx265', encoder: ['-x265-params', 'log-level=error'] });

  it.each([1, 7, 4096, 1 << 20])('reads every block of a live stream in %i-byte pieces: times, keyframes, sizes as ffprobe sees them', (chunk) => {
    const { tracks, blocks } = read(live, chunk);
    expect(tracks).toHaveLength(1);
    expect(tracks[0]).toMatchObject({ number: 1, codecId: 'V_MPEG4/ISO/AVC', width: 160, height: 120 });
    expect(tracks[0].codecPrivate[0]).toBe(1); // an avcC record
    const ref = probe(src);
    expect(blocks.map((b) => b.data.length)).toEqual(ref.map((p) => p.size));
    expect(blocks.map((b) => b.keyframe)).toEqual(ref.map((p) => p.key));
    // times relative to the first (ms in Matroska): B-frames come out of order, as stored
    for (const [i, b] of blocks.entries()) expect(b.time - blocks[0].time).toBeCloseTo(ref[i].pts - ref[0].pts, 3);
  });

  it('reads a file written with known sizes, cues and tags, and H.265', () => {
    const a = read(readFileSync(fileMkv), 999);
    expect(a.blocks).toHaveLength(60);
    const h = read(readFileSync(hevcMkv), 512);
    expect(h.tracks[0].codecId).toBe('V_MPEGH/ISO/HEVC');
    expect(h.blocks).toHaveLength(10);
    expect(h.blocks[0].keyframe).toBe(true);
  });

  it('BlockGroup: a Block without ReferenceBlock is a keyframe, with one it is not', () => {
    // EBML header, Segment (unknown size), Tracks/TrackEntry (video, track 1), Cluster (unknown size) with two BlockGroups
    const el = (id: number[], payload: Buffer) => Buffer.concat([Buffer.from(id), Buffer.from([0x80 | payload.length]), payload]);
    const ebml = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], Buffer.from('matroska')));
    const entry = el([0xae], Buffer.concat([el([0xd7], Buffer.from([1])), el([0x83], Buffer.from([1])), el([0x86], Buffer.from('V_MPEG4/ISO/AVC'))]));
    const tracks = el([0x16, 0x54, 0xae, 0x6b], entry);
    const block = (offset: number, data: string) => el([0xa1], Buffer.concat([Buffer.from([0x81, 0, offset, 0]), Buffer.from(data)]));
    const g1 = el([0xa0], block(0, 'key'));
    const g2 = el([0xa0], Buffer.concat([block(40, 'delta'), el([0xfb], Buffer.from([0xd8]))]));
    const cluster = Buffer.concat([
      Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      el([0xe7], Buffer.from([100])),
      g1,
      g2,
    ]);
    const next = Buffer.concat([
      Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      el([0xe7], Buffer.from([200])),
      block(0, 'x'),
    ]);
    const bytes = Buffer.concat([ebml, Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), tracks, cluster, next]);
    const { blocks } = read(bytes, 3);
    expect(blocks.map((b) => [b.data.toString(), b.keyframe, Number(b.time.toFixed(3))])).toEqual([
      ['key', true, 0.1],
      ['delta', false, 0.14],
    ]);
  });

  it('what it cannot follow is an error, never an unbounded buffer', () => {
    const big = new MatroskaReader({ onTrack: () => undefined, onBlock: () => undefined }, 1000);
    expect(() => big.push(Buffer.from([0xa3, 0x44, 0x00]))).toThrow(/an element of 1024 bytes \(more than 1000/);
    expect(() => big.push(Buffer.from([0]))).toThrow(); // and stays failed
    const zero = new MatroskaReader({ onTrack: () => undefined, onBlock: () => undefined });
    expect(() => zero.push(Buffer.from([0x00, 0x00]))).toThrow(/invalid element header/);
  });
});
