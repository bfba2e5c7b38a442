/**
 * record.mode raw and both with the real daemon: the camera's own stream copied into segments
 * (packets identical to the source, B-frames included) with the detections beside each segment at
 * the video's own media times; RTSP cameras (H.264 and H.265, gst-rtsp-server) read by ffmpeg;
 * and a source that cannot be copied recording annotated with one log line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, MODEL, logLines, runCli } from '../support/cli.js';
import { gstRtspCamera, whyNoGstRtspServer } from '../support/gst-rtsp-camera.js';
import { until } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('raw');
afterAll(cleanup);

interface Packet {
  pts: number;
  key: boolean;
  hash: string;
}

/** The video packets of a file in decode order: presentation time, keyframe flag, md5 of the data. */
function packets(file: string): Packet[] {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_data_hash',
    'md5',
    '-show_entries',
    'packet=pts_time,flags,data_hash',
    '-of',
    'json',
    file,
  ]).toString();
  return (JSON.parse(out) as { packets: Array<{ pts_time: string; flags: string; data_hash: string }> }).packets.map((p) => ({
    pts: Number(p.pts_time),
    key: p.flags.startsWith('K'),
    hash: p.data_hash,
  }));
}

function codecOf(file: string): { codec: string; tag: string } {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,codec_tag_string',
    '-of',
    'json',
    file,
  ]).toString();
  const s = (JSON.parse(out) as { streams: Array<{ codec_name: string; codec_tag_string: string }> }).streams[0];
  return { codec: s.codec_name, tag: s.codec_tag_string };
}

interface Lines {
  header: { type: string; camera: string; file: string; width: number; height: number; codec: string };
  frames: Array<{
    pts: number;
    frame: number;
    detections: Array<{ label: string; box: { x1: number; y1: number; x2: number; y2: number }; track_id?: number }>;
  }>;
}

function readLines(file: string): Lines {
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { header: rows[0] as Lines['header'], frames: rows.slice(1) as Lines['frames'] };
}

/** A camera's recording files in the order they were made: HH-MM-SS, then HH-MM-SS-1, -2 ... (segments started in the same second). */
function segmentsIn(root: string, camera: string): string[] {
  const camDir = join(root, camera);
  if (!existsSync(camDir)) return [];
  const key = (f: string) => {
    const m = /^(\d{2}-\d{2}-\d{2})(?:-(\d+))?(.*)$/.exec(f) as RegExpExecArray;
    return `${m[1]}.${(m[2] ?? '0').padStart(6, '0')}${m[3]}`;
  };
  return readdirSync(camDir)
    .sort()
    .flatMap((day) =>
      readdirSync(join(camDir, day))
        .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
        .map((f) => join(camDir, day, f)),
    );
}

function config(name: string, camera: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      model: { path: MODEL },
      detect: { threshold: 0.05 },
      state_dir: join(dir, `${name}-state`),
      mqtt: { enabled: false },
      http: { enabled: false },
      rtsp_server: { enabled: false },
      cameras: { cam: camera },
    }),
  );
  return file;
}

/** Every detection line's pts is the media time of a frame of its segment: the frame it names, counted from the segment's first. */
function expectAligned(segment: string, lines: Lines, firstFrame: number): void {
  const times = packets(segment)
    .map((p) => p.pts)
    .sort((a, b) => a - b);
  expect(lines.frames.length).toBeGreaterThan(0);
  for (const l of lines.frames) {
    const at = times[l.frame - firstFrame];
    expect(at, `frame ${l.frame} of ${segment}`).toBeDefined();
    expect(Math.abs(l.pts - at), `frame ${l.frame}: line at ${l.pts}, picture at ${at}`).toBeLessThan(0.0015);
  }
}

describe('record.mode both on a file (B-frames)', () => {
  it("copies every packet of the file unchanged into .raw.mp4 segments, with the detections at each frame's media time", async () => {
    const src = join(dir, 'bframes.mp4');
    makeTestVideo(src, { fps: 25, frames: 100, encoder: ['-g', '25', '-bf', '2'] });
    const rec = join(dir, 'rec-both');
    const r = await runCli(
      ['run', '-c', config('both', { source: src, record: { enabled: true, path: rec, mode: 'both', segment_seconds: 1 } }), '--exit-when-done'],
      {
        timeoutMs: 120_000,
      },
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const files = segmentsIn(rec, 'cam');
    const raw = files.filter((f) => f.endsWith('.raw.mp4'));
    const annotated = files.filter((f) => /\d\.mp4$/.test(f) && !f.endsWith('.raw.mp4'));
    expect(raw.length).toBeGreaterThanOrEqual(3);
    expect(annotated.length).toBeGreaterThanOrEqual(3);
    // detections beside the camera-stream segments only
    for (const f of annotated) expect(existsSync(f.replace(/\.mp4$/, '.jsonl'))).toBe(false);

    const source = packets(src);
    expect(source.some((p, i) => i > 0 && p.pts < source[i - 1].pts)).toBe(true); // B-frames: decode order is not presentation order
    const copied = raw.map(packets);
    // every packet, in order, byte for byte
    expect(copied.flat().map((p) => p.hash)).toEqual(source.map((p) => p.hash));
    expect(copied.flat().map((p) => p.key)).toEqual(source.map((p) => p.key));
    let at = 0;
    let firstFrame = 0;
    for (const [i, seg] of copied.entries()) {
      // each segment starts at a keyframe and keeps the source's times, relative to its start
      expect(seg[0].key).toBe(true);
      const srcSeg = source.slice(at, at + seg.length);
      for (const [k, p] of seg.entries()) expect(p.pts - seg[0].pts).toBeCloseTo(srcSeg[k].pts - srcSeg[0].pts, 3);
      at += seg.length;
      const lines = readLines(raw[i].replace(/\.mp4$/, '.jsonl'));
      expect(lines.header).toMatchObject({ type: 'segment', camera: 'cam', file: raw[i].split('/').pop(), width: 320, height: 240, codec: 'h264' });
      // one line per detector frame (interval 0: every frame of the segment), in order
      expect(lines.frames.map((l) => l.frame)).toEqual(Array.from({ length: seg.length }, (_, k) => firstFrame + k));
      expectAligned(raw[i], lines, firstFrame);
      firstFrame += seg.length;
    }
  }, 180_000);
});

const noGst = whyNoGstRtspServer();

describe.skipIf(noGst !== null)('record.mode raw on RTSP cameras read by ffmpeg and by GStreamer', () => {
  async function record(codec: 'h264' | 'h265', decoder: 'ffmpeg' | 'gstreamer'): Promise<{ segments: string[]; log: Array<Record<string, unknown>> }> {
    const cam = await gstRtspCamera({ name: 'cam', width: 320, height: 240, fps: 15, codec });
    const rec = join(dir, `rec-rtsp-${codec}-${decoder}`);
    const cfg = config(`rtsp-${codec}-${decoder}`, { source: cam.url, decoder, record: { enabled: true, path: rec, mode: 'raw', segment_seconds: 2 } });
    const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    try {
      // three segments started: the first two are complete
      await until(() => segmentsIn(rec, 'cam').filter((f) => f.endsWith('.mp4')).length >= 3, 90_000, 'three segments');
    } finally {
      child.kill('SIGTERM');
      await exited;
      await cam.stop();
    }
    return { segments: segmentsIn(rec, 'cam'), log: logLines(out) };
  }

  for (const [codec, decoder] of [
    ['h264', 'ffmpeg'],
    ['h265', 'ffmpeg'],
    ['h264', 'gstreamer'],
    ['h265', 'gstreamer'],
  ] as const) {
    it(`${codec}, decoder ${decoder}: the camera's stream in .mp4 segments with its detections beside them, aligned to the pictures`, async () => {
      const { segments, log } = await record(codec, decoder);
      const videos = segments.filter((f) => f.endsWith('.mp4'));
      expect(videos.every((f) => !f.endsWith('.raw.mp4'))).toBe(true); // mode raw: the plain names
      expect(log.some((l) => /recording annotated/.test(String(l.msg)))).toBe(false);
      for (const v of videos.slice(0, 2)) {
        const c = codecOf(v);
        expect(c.codec).toBe(codec === 'h265' ? 'hevc' : 'h264');
        if (codec === 'h265') expect(c.tag).toBe('hvc1');
        const ps = packets(v);
        expect(ps.length).toBeGreaterThan(15);
        expect(ps[0].key).toBe(true);
        const lines = readLines(v.replace(/\.mp4$/, '.jsonl'));
        expect(lines.header).toMatchObject({ type: 'segment', camera: 'cam', width: 320, height: 240, codec });
        // a live camera: frames may be dropped before the detector, never reordered; each line at one of the segment's pictures
        const times = ps.map((p) => p.pts).sort((a, b) => a - b);
        expect(lines.frames.length).toBeGreaterThan(5);
        for (const l of lines.frames) {
          const nearest = Math.min(...times.map((t) => Math.abs(t - l.pts)));
          expect(nearest, `line at ${l.pts}`).toBeLessThan(0.002);
        }
        const frames = lines.frames.map((l) => l.frame);
        expect(frames).toEqual([...frames].sort((a, b) => a - b));
      }
    }, 150_000);
  }
});

describe('record.mode raw where the source cannot copy', () => {
  it('records annotated and says so once', async () => {
    const src = join(dir, 'plain.mp4');
    makeTestVideo(src, { fps: 15, frames: 30 });
    const rec = join(dir, 'rec-fallback');
    // a file decoded by GStreamer: its pipeline hands over decoded frames only
    const r = await runCli(
      ['run', '-c', config('fallback', { source: src, decoder: 'gstreamer', record: { enabled: true, path: rec, mode: 'raw' } }), '--exit-when-done'],
      {
        timeoutMs: 120_000,
      },
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const said = logLines(r.stdout + r.stderr).filter((l) => /record\.mode raw: .*; recording annotated/.test(String(l.msg)));
    expect(said).toHaveLength(1);
    expect(said[0].level).toBe('warn');
    const files = segmentsIn(rec, 'cam');
    expect(files.filter((f) => f.endsWith('.mp4')).length).toBe(1);
    expect(files.filter((f) => f.endsWith('.jsonl'))).toEqual([]);
    expect(packets(files[0]).length).toBe(30);
  }, 150_000);
});
