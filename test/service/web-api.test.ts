/**
 * The web UI's JSON API on a real HTTP server over real files: a real event store, recording
 * segments made by ffmpeg, a snapshot folder, clips cut by ffmpeg; bad parameters (400), unknown
 * ids (404), no store (503), byte ranges, and paths that try to leave the served folders.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/core/log.js';
import { segmentPath } from '../../daemon/sinks/recorder.js';
import { EventStore, type EventRecord, type StoredObject } from '../../daemon/store/event-store.js';
import { HttpServer } from '../../daemon/service/http-server.js';
import { LatestJpegs } from '../../daemon/service/latest-jpeg.js';
import type { CameraView, ServiceView } from '../../daemon/service/metrics.js';
import { WebApi, parseEventQuery, type WebDaemon } from '../../daemon/service/web-api.js';
import { WebStatic } from '../../daemon/service/web-static.js';
import { createAuth } from '../../daemon/service/auth.js';
import { basicAuth, TEST_AUTH } from '../support/auth.js';
import { MODEL } from '../support/cli.js';
import { testAccessUnits } from '../support/h264-units.js';
import { EncodedStream } from '../../daemon/sinks/encoded-stream.js';
import WebSocket from 'ws';
import { makeTestVideo, tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('web-api');
const REC = join(dir, 'rec');
const SNAP = join(dir, 'snapshots');
const NOW = Math.floor(Date.now() / 1000);
let server: HttpServer;
let base: string;
let store: EventStore;
let config: Config;
const latest = new LatestJpegs(2, silentLogger());
const liveStream = new EncodedStream('front');
let withStore = true;

function obj(id: string, over: Partial<StoredObject> = {}): StoredObject {
  return {
    id,
    camera: 'front',
    label: 'vehicle',
    score: 0.7,
    top_score: 0.9,
    start_time: NOW - 40,
    end_time: NOW - 30,
    track_id: 1,
    box: { x1: 1, y1: 1, x2: 9, y2: 9 },
    area: 64,
    current_zones: [],
    entered_zones: [],
    stationary: false,
    loitering: false,
    has_snapshot: false,
    frame_time: NOW - 30,
    ...over,
  };
}

/** A 10 s segment of the camera that starts at `start` (seconds since the epoch). */
function segment(start: number, suffix = '', size = { width: 160, height: 120 }): string {
  const file = segmentPath(REC, 'front', new Date(start * 1000)).replace(/\.mp4$/, `${suffix}.mp4`);
  mkdirSync(join(file, '..'), { recursive: true });
  makeTestVideo(file, { frames: 100, fps: 10, ...size });
  utimesSync(file, start + 10, start + 10);
  return file;
}

/** A camera-stream segment (record.mode raw: X.mp4, both: X.raw.mp4) and its detections beside it. */
function cameraSegment(start: number, suffix: '' | '.raw'): { file: string; jsonl: string; text: string } {
  const file = segment(start, suffix, { width: 192, height: 108 });
  const jsonl = file.replace(/\.mp4$/, '.jsonl');
  const name = file.split('/').pop();
  const text =
    `{"type":"segment","camera":"front","file":"${name}","width":192,"height":108,"codec":"h264"}\n` +
    `{"pts":0,"frame":0,"detections":[{"label":"vehicle","class_id":1,"score":0.9,"box":[10,20,60,70],"track_id":3}]}\n` +
    `{"pts":0.1,"frame":1,"detections":[]}\n`;
  writeFileSync(jsonl, text);
  return { file, jsonl, text };
}
let rawMode: { file: string; jsonl: string; text: string };
let bothMode: { file: string; jsonl: string; text: string };

const view: ServiceView = {
  cameras: () =>
    [{ name: 'front', state: 'streaming', stats: null, decoded: 0, inference: null, error: null, progress: 0 } as CameraView].concat([
      { name: 'back', state: 'reconnecting', stats: null, decoded: 0, inference: null, error: null, progress: 0 },
    ]),
  mqtt: () => null,
};

beforeAll(async () => {
  const cfgFile = join(dir, 'config.yaml');
  writeFileSync(
    cfgFile,
    `model: {path: ${MODEL}}\ncameras:\n  front: {source: ${join(dir, 'x.mp4')}, record: {path: ${REC}}}\n  back: {source: ${join(dir, 'x.mp4')}, record: {path: ${REC}}}\nstore: {path: ${join(dir, 'state', 'events.db')}}\n`,
  );
  config = loadConfig(cfgFile);
  store = (await EventStore.open({ path: config.store.path, logger: silentLogger(), retainDays: () => 7 })) as EventStore;
  // two segments covering [NOW-50, NOW-30]; the event [NOW-40, NOW-30] plus 5 s each side lies in them
  segment(NOW - 50);
  segment(NOW - 40);
  // record.mode both beside the first, then mode raw after them (the clip must not take it)
  bothMode = cameraSegment(NOW - 50, '.raw');
  rawMode = cameraSegment(NOW - 30, '');
  mkdirSync(join(SNAP, 'front'), { recursive: true });
  writeFileSync(join(SNAP, 'front', 'ev-snap.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  writeFileSync(join(dir, 'secret.txt'), 'not for the web');
  symlinkSync(join(dir, 'secret.txt'), join(SNAP, 'front', 'ev-link.jpg'));
  store.event({ type: 'end', before: obj('ev-clip'), after: obj('ev-clip') });
  store.event({
    type: 'end',
    before: obj('ev-snap', { has_snapshot: true, label: 'pedestrian', entered_zones: ['gate'], start_time: NOW - 20, end_time: NOW - 18 }),
    after: obj('ev-snap', { has_snapshot: true, label: 'pedestrian', entered_zones: ['gate'], start_time: NOW - 20, end_time: NOW - 18 }),
  });
  store.event({
    type: 'end',
    before: obj('ev-link', { has_snapshot: true, start_time: NOW - 10, end_time: NOW - 9 }),
    after: obj('ev-link', { has_snapshot: true, start_time: NOW - 10, end_time: NOW - 9 }),
  });
  store.event({
    type: 'end',
    before: obj('ev-old', { camera: 'back', start_time: NOW - 7200, end_time: NOW - 7190 }),
    after: obj('ev-old', { camera: 'back', start_time: NOW - 7200, end_time: NOW - 7190 }),
  });
  await store.flush();
  const daemon: WebDaemon = {
    get activeConfig() {
      return config;
    },
    statsSnapshot: () => ({ uptime_s: 5, cameras: {} }),
    modelInfo: null,
    get eventStore() {
      return withStore ? store : null;
    },
    latestJpegs: latest,
    encodedStream: (camera: string) => (camera === 'front' ? liveStream : null),
    snapshotOf: (e: EventRecord) => ({ root: SNAP, file: join(SNAP, e.camera, `${e.id}.jpg`) }),
  };
  const api = new WebApi(daemon, view, silentLogger());
  const ui = new WebStatic(join(dir, 'no-ui'));
  server = await HttpServer.listen({
    host: '127.0.0.1',
    port: 0,
    view,
    logger: silentLogger(),
    auth: createAuth(TEST_AUTH, join(dir, 'state'), silentLogger()),
    web: {
      handle: (req, res, path, query) => api.handle(req, res, path, query) || ui.handle(req, res, path),
      upgrade: (req, socket, head, path) => api.upgrade(req, socket, head, path),
      close: () => api.live.close(),
    },
  });
  base = `http://127.0.0.1:${server.port}`;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await store?.close();
  cleanup();
});

/** fetch with the test credentials */
function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(base + path, { ...init, headers: { ...basicAuth(), ...(init.headers as Record<string, string> | undefined) } });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers, checked field by field */
async function json(path: string): Promise<{ status: number; body: any }> {
  const res = await get(path);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

describe('the web API', () => {
  it('lists the cameras with their state and image URLs', async () => {
    const { status, body } = await json('/api/cameras');
    expect(status).toBe(200);
    expect(body.map((c: any) => [c.name, c.state, c.recording, c.latest_jpeg_url])).toEqual([
      ['front', 'streaming', true, '/api/cameras/front/latest.jpg'],
      ['back', 'reconnecting', true, '/api/cameras/back/latest.jpg'],
    ]);
  });

  it('answers event queries newest first, with filters', async () => {
    expect((await json('/api/events')).body.map((e: any) => e.id)).toEqual(['ev-link', 'ev-snap', 'ev-clip', 'ev-old']);
    expect((await json('/api/events?camera=back')).body.map((e: any) => e.id)).toEqual(['ev-old']);
    expect((await json('/api/events?label=pedestrian&zone=gate')).body.map((e: any) => e.id)).toEqual(['ev-snap']);
    expect((await json(`/api/events?after=${NOW - 25}&before=${NOW - 5}`)).body.map((e: any) => e.id)).toEqual(['ev-link', 'ev-snap']);
    const iso = new Date((NOW - 3600) * 1000).toISOString();
    expect((await json(`/api/events?after=${encodeURIComponent(iso)}&limit=2`)).body.map((e: any) => e.id)).toEqual(['ev-link', 'ev-snap']);
    const one = await json('/api/events/ev-snap');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'ev-snap', duration: 2, snapshot_url: '/api/events/ev-snap/snapshot.jpg', clip_url: '/api/events/ev-snap/clip.mp4' });
    expect((await json('/api/events/ev-clip')).body.snapshot_url).toBeNull();
  });

  it('answers a bad parameter with 400 and one line of JSON', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=ten', 'after=yesterday', 'before=2026-13-45', 'camera=../x', 'colour=red', 'limit=1&limit=2']) {
      const res = await get(`/api/events?${q}`);
      const text = await res.text();
      expect(res.status, q).toBe(400);
      expect(text.split('\n'), q).toHaveLength(1);
      expect(JSON.parse(text).error, q).toMatch(/\S/);
    }
    expect(() => parseEventQuery(new URLSearchParams('label=' + 'x'.repeat(65)))).toThrow(/at most 64/);
    expect((await json('/api/recordings/front?date=2026-02-30')).status).toBe(400);
    expect((await json('/api/stats?x=1')).status).toBe(400);
    const stats = (await json('/api/stats')).body;
    expect(stats.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(stats.store).toMatchObject({ available: true });
    expect(stats.disk.recordings[0].path).toBe(REC);
  });

  it('answers unknown ids, cameras and paths with 404', async () => {
    expect((await json('/api/events/nope')).status).toBe(404);
    expect((await json('/api/events/nope/snapshot.jpg')).status).toBe(404);
    expect((await json('/api/events/ev-clip/snapshot.jpg')).status).toBe(404); // has none
    expect((await json('/api/recordings/garage')).status).toBe(404);
    expect((await json('/api/cameras/garage/latest.jpg')).status).toBe(404);
    expect((await json('/api/nothing')).status).toBe(404);
  });

  it('answers 503 while the event store is off', async () => {
    withStore = false;
    try {
      const r = await json('/api/events');
      expect(r.status).toBe(503);
      expect(r.body.error).toMatch(/event store is off/);
      // the recordings page still works, without event hours
      expect((await json('/api/recordings/front')).status).toBe(200);
    } finally {
      withStore = true;
    }
  });

  it('serves snapshots from the snapshots folder only', async () => {
    const res = await get(`/api/events/ev-snap/snapshot.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    // a link inside the folder to a file outside it is not followed
    expect((await get(`/api/events/ev-link/snapshot.jpg`)).status).toBe(404);
  });

  it('lists a day of recordings with the hours that had events, and serves segments with byte ranges', async () => {
    const { body } = await json('/api/recordings/front');
    expect(body.segments).toHaveLength(4);
    expect(body.segments[0].start).toBe(NOW - 50);
    expect(body.segments[0].end).toBe(NOW - 40);
    expect(body.segments[0]).toMatchObject({ kind: 'annotated', detections_url: null });
    expect(body.event_hours).toContain(new Date((NOW - 40) * 1000).getHours());
    const url = body.segments[0].url as string;
    const whole = await get(url);
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    const part = await get(url, { headers: { Range: 'bytes=4-11' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 4-11/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(4, 12));
    expect((await get(url, { headers: { Range: `bytes=${bytes.length}-` } })).status).toBe(416);
    const dl = await get(`${url}?download=1`);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="front-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.mp4"$/);
  });

  it('lists camera-stream segments with their detections, and serves those as ndjson', async () => {
    const { body } = await json('/api/recordings/front');
    const day = body.date as string;
    const name = (f: string) => f.split('/').pop() as string;
    const url = (f: string) => `/api/recordings/front/${day}/${name(f)}`;
    expect(body.segments.map((s: any) => [s.file, s.kind, s.url, s.detections_url])).toEqual([
      [name(segmentPath(REC, 'front', new Date((NOW - 50) * 1000))), 'annotated', url(segmentPath(REC, 'front', new Date((NOW - 50) * 1000))), null],
      [name(bothMode.file), 'camera', url(bothMode.file), url(bothMode.jsonl)],
      [name(segmentPath(REC, 'front', new Date((NOW - 40) * 1000))), 'annotated', url(segmentPath(REC, 'front', new Date((NOW - 40) * 1000))), null],
      [name(rawMode.file), 'camera', url(rawMode.file), url(rawMode.jsonl)],
    ]);
    expect(name(bothMode.file)).toMatch(/^\d{2}-\d{2}-\d{2}\.raw\.mp4$/);
    for (const seg of [bothMode, rawMode]) {
      const res = await get(url(seg.jsonl));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.text()).toBe(seg.text);
      const video = await get(url(seg.file));
      expect(video.headers.get('content-type')).toBe('video/mp4');
      expect(Buffer.from(await video.arrayBuffer()).equals(readFileSync(seg.file))).toBe(true);
    }
    // HEAD, without credentials, a name of the right shape that is not there, names of the wrong shape
    const head = await get(url(rawMode.jsonl), { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(Buffer.byteLength(rawMode.text))]);
    expect((await fetch(base + url(rawMode.jsonl))).status).toBe(401);
    expect((await json(`/api/recordings/front/${day}/23-59-58.raw.jsonl`)).status).toBe(404);
    expect((await json(`/api/recordings/front/${day}/23-59-58.raw.mp4`)).status).toBe(404);
    expect((await json(`/api/recordings/garage/${day}/23-59-58.jsonl`)).status).toBe(404);
    for (const bad of ['10-00-00.json', '10-00-00.raw.jsonl.bak', '10-00-00.raw-2.mp4', '10-00-00.jsonl%00', '..%2F10-00-00.jsonl', 'x.jsonl']) {
      const r = await json(`/api/recordings/front/${day}/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error, bad).toMatch(/not a segment name/);
    }
    expect((await json(`/api/recordings/front/2026-1-01/10-00-00.jsonl`)).status).toBe(400);
    // a detections file that is a link to a file outside the folder is neither listed nor served
    const linked = join(REC, 'front', day, '00-00-02.mp4');
    makeTestVideo(linked, { frames: 5, fps: 10, width: 64, height: 48 });
    writeFileSync(join(dir, 'outside.jsonl'), 'not for the web');
    symlinkSync(join(dir, 'outside.jsonl'), join(REC, 'front', day, '00-00-02.jsonl'));
    const listed = (await json('/api/recordings/front')).body.segments.find((s: any) => s.file === '00-00-02.mp4');
    expect(listed).toMatchObject({ kind: 'annotated', detections_url: null });
    const res = await get(`/api/recordings/front/${day}/00-00-02.jsonl`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('not for the web');
  });

  it('never serves a file outside the recordings and snapshots folders', async () => {
    const day = (await json('/api/recordings/front')).body.date as string;
    // a link that looks like a segment but points outside
    symlinkSync(join(dir, 'secret.txt'), join(REC, 'front', day, '00-00-01.mp4'));
    const attempts = [
      `/api/recordings/front/${day}/..%2F..%2F..%2Fsecret.txt`,
      `/api/recordings/front/..%2F..%2F/secret.txt`,
      `/api/recordings/front/${day}/%2e%2e%2fsecret.txt`,
      `/api/recordings/front/${day}/00-00-01.mp4`,
      `/api/recordings/..%2F..%2Fsecret/${day}/00-00-00.mp4`,
      `/api/events/..%2F..%2Fsecret.txt/snapshot.jpg`,
      `/api/events/%2e%2e/snapshot.jpg`,
      `/api/events/ev-snap/..%2F..%2F..%2Fsecret.txt`,
      `/api/recordings/front/${day}/%00.mp4`,
      `/assets/..%2F..%2Fsecret.txt`,
      `/api/events/%ZZ`,
    ];
    for (const path of attempts) {
      const res = await get(path);
      const text = await res.text();
      expect([400, 404, 503], path).toContain(res.status);
      expect(text, path).not.toContain('not for the web');
    }
  });

  it('cuts an event clip from the segments around it, once, and plays it back', async () => {
    const [a, b] = await Promise.all([get(`/api/events/ev-clip/clip.mp4`), get(`/api/events/ev-clip/clip.mp4`)]);
    expect(
      a.status,
      await a
        .clone()
        .text()
        .catch(() => ''),
    ).toBe(200);
    expect(b.status).toBe(200);
    const clip = Buffer.from(await a.arrayBuffer());
    expect(Buffer.from(await b.arrayBuffer()).equals(clip)).toBe(true);
    const file = join(dir, 'clip.mp4');
    writeFileSync(file, clip);
    const seconds = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).toString());
    // the event's 10 s plus 5 s each side (from the keyframe before: up to the segment start)
    expect(seconds).toBeGreaterThanOrEqual(19);
    expect(seconds).toBeLessThanOrEqual(21);
    expect(readFileSync(join(dir, 'state', 'clips', 'ev-clip.mp4')).equals(clip)).toBe(true);
    // an event without recordings
    expect((await json('/api/events/ev-old/clip.mp4')).status).toBe(404);
  }, 60_000);

  it('serves the latest annotated frame as a JPEG once the pipeline hands one over', async () => {
    const pending = get(`/api/cameras/front/latest.jpg`);
    const t0 = Date.now();
    while (!latest.wants('front') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(latest.wants('front')).toBe(true);
    latest.offer('front', { data: Buffer.alloc(64 * 48 * 3, 128), width: 64, height: 48, index: 0, pts: 0, format: 'rgb24' });
    const res = await pending;
    expect(res.status).toBe(200);
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    // within 1/latest_jpeg_fps the cached one, without a new encode
    const encoded = latest.encoded;
    expect(Buffer.from(await (await get(`/api/cameras/front/latest.jpg`)).arrayBuffer()).equals(jpeg)).toBe(true);
    expect(latest.encoded).toBe(encoded);
    // a camera that is not streaming and never had a frame: 503 at once
    expect((await json('/api/cameras/back/latest.jpg')).status).toBe(503);
  });

  it('needs the credentials: 401 for the API, the login page for a browser', async () => {
    const api = await fetch(`${base}/api/events`);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: string }).error).toMatch(/\S/);
    const page = await fetch(`${base}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect([302, 303]).toContain(page.status);
    expect(page.headers.get('location')).toMatch(/^\/login\?next=/);
    expect((await fetch(`${base}/api/recordings/front/2026-01-01/00-00-00.mp4`)).status).toBe(401);
  });

  it('streams the live view as fragmented MP4 over a WebSocket, from a keyframe, that ffmpeg decodes', async () => {
    const aus = testAccessUnits(dir, { frames: 40 });
    liveStream.start({ width: 320, height: 240, fps: 10, fpsRational: '10/1', timescale: 90000 });
    const url = `ws://127.0.0.1:${server.port}/api/cameras/front/live`;
    const ws = new WebSocket(url, { headers: basicAuth() });
    const messages: Array<string | Buffer> = [];
    ws.on('message', (data: Buffer, binary: boolean) => messages.push(binary ? data : data.toString()));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    // a viewer that joins mid-stream starts at the next keyframe (the 4th unit is no keyframe)
    for (let i = 3; i < aus.length; i++) liveStream.publish(aus[i], i / 10);
    const t0 = Date.now();
    while (messages.length < 2 + 30 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(messages[0]).toMatch(/^avc1\.[0-9a-f]{6}$/);
    const file = join(dir, 'live.mp4');
    writeFileSync(file, Buffer.concat(messages.slice(1) as Buffer[]));
    const frames = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file])
      .toString()
      .trim();
    expect(Number(frames)).toBe(30); // units 10..39: from the keyframe at 10
    expect(execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
  });

  it('refuses a live stream without credentials, from another site, or of an unknown camera', async () => {
    const status = (url: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => undefined);
      });
    const url = `ws://127.0.0.1:${server.port}/api/cameras/front/live`;
    expect(await status(url, {})).toBe(401);
    expect(await status(url, { ...basicAuth(), origin: 'http://evil.example' })).toBe(403);
    expect(await status(url.replace('front', 'garage'), basicAuth())).toBe(404);
    expect(await status(url.replace('front', 'back'), basicAuth())).toBe(404); // no stream
    expect(await status(`ws://127.0.0.1:${server.port}/api/elsewhere`, basicAuth())).toBe(404);
    expect(await status(url, { ...basicAuth(), origin: `http://127.0.0.1:${server.port}` })).toBe(101);
    expect((await json('/api/cameras/front/live')).status).toBe(426);
  });

  it('says when the UI is not built, and refuses other methods', async () => {
    const res = await get(`/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/web UI is not built/);
    expect((await get(`/api/events`, { method: 'POST' })).status).toBe(405);
  });
});
