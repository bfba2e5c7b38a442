import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { Daemon } from '../../daemon/service/daemon.js';
import { HttpServer } from '../../daemon/service/http-server.js';
import { createLogger } from '../../daemon/core/log.js';
import { daemonView } from '../../daemon/service/metrics.js';
import { createAuth } from '../../daemon/service/auth.js';
import { TEST_AUTH, basicAuth } from '../support/auth.js';
import { MODEL } from '../support/cli.js';
import { until } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

/** A real daemon (looping clip, real detector) with the HTTP endpoint wired as `trt-detect run` does. */
async function startDaemon(dir: string, clip: string, images: string, limits = 'max_files: 10000') {
  const cfg = join(dir, `config-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(
    cfg,
    `model: {path: ${MODEL}, calibration: {images: ${images}, ${limits}}}\ncameras:\n  loopcam: {source: ${clip}, loop: true, record: {enabled: false}}\nmqtt: {enabled: false}\nrtsp_server: {enabled: false}\n`,
  );
  const config = loadConfig(cfg);
  const logStream = new PassThrough();
  let log = '';
  logStream.on('data', (d: Buffer) => (log += d.toString()));
  const logger = createLogger('info', logStream);
  const daemon = new Daemon({ config, logger, exitWhenDone: false, rtspAuth: null });
  await daemon.start();
  const auth = createAuth(TEST_AUTH, join(dir, 'state'), logger);
  const http = await HttpServer.listen({ host: '127.0.0.1', port: 0, view: daemonView(daemon), logger, calibration: daemon.calibration, auth });
  return { daemon, http, base: `http://127.0.0.1:${http.port}`, log: () => log };
}

/** fetch with the test credentials (authentication is not what these tests are about) */
const fetch = (url: string, init: RequestInit = {}) =>
  globalThis.fetch(url, { ...init, headers: { ...basicAuth(), ...(init.headers as Record<string, string>) } });

type Progress = Record<string, { saved: number; wanted: number; dir: string; every: number; skipped: number; state: string; error?: string }>;

async function progress(base: string): Promise<Progress> {
  return (await (await fetch(`${base}/calibration/capture`)).json()) as Progress;
}

function probeSize(file: string): { codec: string; width: number; height: number } {
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height',
    '-of',
    'json',
    file,
  ]).toString();
  const s = (JSON.parse(out) as { streams: Array<{ codec_name: string; width: number; height: number }> }).streams[0];
  return { codec: s.codec_name, width: s.width, height: s.height };
}

describe('POST /calibration/capture on a running daemon', () => {
  const { dir, cleanup } = tempDir('calib-capture');
  let clip: string;
  let d: Awaited<ReturnType<typeof startDaemon>>;
  const images = join(dir, 'calib');

  beforeAll(async () => {
    clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 176, height: 144, frames: 20, fps: 15 });
    d = await startDaemon(dir, clip, images);
    await until(() => d.daemon.cameraPipelines.get('loopcam')?.currentState === 'streaming', 60000, 'loopcam to stream');
  }, 90000);

  afterAll(async () => {
    await d?.http.close();
    await d?.daemon.stop('test done');
    cleanup();
  });

  it('saves N JPEGs of the frame size, every K-th frame, into <images>/<camera>', async () => {
    const res = await fetch(`${d.base}/calibration/capture?frames=5&camera=loopcam&every=2`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ capturing: { loopcam: 5 }, dir: images });
    let p = await progress(d.base);
    const deadline = Date.now() + 60000;
    while (p.loopcam.state === 'capturing' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      p = await progress(d.base);
    }
    expect(p.loopcam).toMatchObject({ saved: 5, wanted: 5, every: 2, dir: join(images, 'loopcam'), state: 'done' });
    const files = readdirSync(join(images, 'loopcam'));
    expect(files).toHaveLength(5);
    for (const f of files) {
      expect(f).toMatch(/^\d{8}T\d{9}Z-\d{6}\.jpg$/);
      expect(probeSize(join(images, 'loopcam', f))).toEqual({ codec: 'mjpeg', width: 176, height: 144 });
    }
    // every=2 counts from the first frame after the POST: the saved indices are 2 apart (or a multiple
    // of 2 when a frame was skipped during a write), so all share one parity (indices count on across loops)
    const indices = files.map((f) => Number(/-(\d+)\.jpg$/.exec(f)?.[1]));
    expect(new Set(indices.map((i) => i % 2)).size).toBe(1);
    expect(d.log()).toContain(`calibration capture started: 5 frames, 1 in every 2, into ${join(images, 'loopcam')}`);
    expect(d.log()).toContain(`calibration capture finished: 5 frames in ${join(images, 'loopcam')}`);
    // the pipeline kept streaming
    expect(d.daemon.cameraPipelines.get('loopcam')?.currentState).toBe('streaming');
  }, 90000);

  it('needs authentication: 401 without credentials, nothing written', async () => {
    const res = await globalThis.fetch(`${d.base}/calibration/capture?frames=5&every=1`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="trt-detect", charset="UTF-8"');
    expect((await progress(d.base)).loopcam?.state).not.toBe('capturing');
  });

  it('answers 409 while a capture for that camera runs, 404 for an unknown camera, 400 for bad numbers', async () => {
    const first = await fetch(`${d.base}/calibration/capture?frames=5000&every=100000`, { method: 'POST' });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ capturing: { loopcam: 5000 }, dir: images });
    const again = await fetch(`${d.base}/calibration/capture?frames=3&camera=loopcam`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: 'a capture is already running for loopcam (see GET /calibration/capture)' });
    const unknown = await fetch(`${d.base}/calibration/capture?camera=nope`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'no running camera "nope" (running: loopcam)' });
    for (const [q, msg] of [
      ['frames=0', 'frames must be a whole number from 1 to 5000, got "0"'],
      ['frames=5001', 'frames must be a whole number from 1 to 5000, got "5001"'],
      ['frames=abc', 'frames must be a whole number from 1 to 5000, got "abc"'],
      ['frames=2.5', 'frames must be a whole number from 1 to 5000, got "2.5"'],
      ['every=-1', 'every must be a whole number from 1 to 100000, got "-1"'],
      ['franes=5', 'unknown parameter "franes" (use frames, camera, every)'],
    ]) {
      const r = await fetch(`${d.base}/calibration/capture?${q}`, { method: 'POST' });
      expect(r.status, q).toBe(400);
      expect(await r.json()).toEqual({ error: msg });
    }
    const put = await fetch(`${d.base}/calibration/capture`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect((await progress(d.base)).loopcam).toMatchObject({ wanted: 5000, every: 100000, state: 'capturing' });
  });
});

describe('calibration capture into a folder that cannot be created', () => {
  it('reports one clear error line in the log and in GET progress; the camera keeps streaming', async () => {
    const { dir, cleanup } = tempDir('calib-capture-bad');
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 176, height: 144, frames: 20, fps: 15 });
    const d = await startDaemon(dir, clip, join(blocker, 'calib'));
    try {
      await until(() => d.daemon.cameraPipelines.get('loopcam')?.currentState === 'streaming', 60000, 'loopcam to stream');
      const res = await fetch(`${d.base}/calibration/capture?frames=2&every=1`, { method: 'POST' });
      expect(res.status).toBe(202);
      let p = await progress(d.base);
      const deadline = Date.now() + 60000;
      while (p.loopcam.state === 'capturing' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        p = await progress(d.base);
      }
      const why = `${join(blocker, 'calib', 'loopcam')}: cannot create the calibration folder (${blocker} is a file, not a folder; set model.calibration.images to a writable folder)`;
      expect(p.loopcam).toMatchObject({ saved: 0, state: 'error', error: why });
      expect(
        d
          .log()
          .split('\n')
          .filter((l) => l.includes('calibration capture failed')),
      ).toEqual([expect.stringContaining(`"msg":"calibration capture failed: ${why}"`)]);
      const frames = d.daemon.cameraPipelines.get('loopcam')?.stats().frames ?? 0;
      await until(() => (d.daemon.cameraPipelines.get('loopcam')?.stats().frames ?? 0) > frames, 30000, 'more frames after the failed capture');
      expect(d.daemon.cameraPipelines.get('loopcam')?.currentState).toBe('streaming');
    } finally {
      await d.http.close();
      await d.daemon.stop('test done');
      cleanup();
    }
  }, 120000);
});

describe('calibration capture limits (model.calibration.max_files, max_megabytes, min_free_percent)', () => {
  const { dir, cleanup } = tempDir('calib-limits');
  let clip: string;
  afterAll(() => cleanup());
  beforeAll(() => {
    clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 176, height: 144, frames: 20, fps: 15 });
  });

  async function finished(base: string) {
    let p = await progress(base);
    const deadline = Date.now() + 60000;
    while (p.loopcam.state === 'capturing' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      p = await progress(base);
    }
    return p.loopcam as Progress[string] & { reason?: string };
  }

  it('refuses (409) a capture the folder cannot take, and stops one at max_megabytes; free space below min_free_percent is refused', async () => {
    const images = join(dir, 'calib');
    mkdirSync(join(images, 'loopcam'), { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(join(images, 'loopcam', `old-${i}.jpg`), Buffer.alloc(100_000));
    const d = await startDaemon(dir, clip, images, 'max_files: 10, max_megabytes: 1, min_free_percent: 0');
    try {
      await until(() => d.daemon.cameraPipelines.get('loopcam')?.currentState === 'streaming', 60000, 'loopcam to stream');
      const tooMany = await fetch(`${d.base}/calibration/capture?frames=3&every=1`, { method: 'POST' });
      expect(tooMany.status).toBe(409);
      expect(await tooMany.json()).toEqual({
        error: `calibration capture refused: 3 frames asked for, but ${images} may take only 2 more (model.calibration.max_files: 10, 8 there)`,
      });
      // 8 x 100 kB are there: the next images pass 1 MB after a few, and the capture stops there
      for (let i = 0; i < 8; i++) writeFileSync(join(images, `more-${i}.jpg`), Buffer.alloc(1)); // 16 files now
      const full = await fetch(`${d.base}/calibration/capture?frames=1&every=1`, { method: 'POST' });
      expect(full.status).toBe(409);
      expect(((await full.json()) as { error: string }).error).toBe(
        `calibration capture refused: ${images} holds 16 images, the limit (model.calibration.max_files: 10) (delete images or raise the limit)`,
      );
    } finally {
      await d.http.close();
      await d.daemon.stop('test done');
    }

    const big = join(dir, 'calib-big');
    mkdirSync(big);
    writeFileSync(join(big, 'old.jpg'), Buffer.alloc(1_000_000));
    const d2 = await startDaemon(dir, clip, big, 'max_files: 1000, max_megabytes: 1, min_free_percent: 0');
    try {
      await until(() => d2.daemon.cameraPipelines.get('loopcam')?.currentState === 'streaming', 60000, 'loopcam to stream');
      const res = await fetch(`${d2.base}/calibration/capture?frames=500&every=1`, { method: 'POST' });
      expect(res.status).toBe(202);
      const p = await finished(d2.base);
      expect(p.state).toBe('stopped');
      expect(p.saved).toBeGreaterThan(0);
      expect(p.saved).toBeLessThan(500);
      expect(p.reason).toMatch(
        new RegExp(`^${big.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds 1\\.\\d MB of images, the limit \\(model.calibration.max_megabytes: 1\\)`),
      );
      expect(d2.log()).toContain('calibration capture stopped after');
      const bytes = readdirSync(join(big, 'loopcam')).reduce((n, f) => n + statSync(join(big, 'loopcam', f)).size, 0);
      // at most one image past the limit: the check is before each write
      expect(1_000_000 + bytes).toBeLessThan(1024 * 1024 + 200_000);
    } finally {
      await d2.http.close();
      await d2.daemon.stop('test done');
    }

    const d3 = await startDaemon(dir, clip, join(dir, 'calib-free'), 'min_free_percent: 99');
    try {
      await until(() => d3.daemon.cameraPipelines.get('loopcam')?.currentState === 'streaming', 60000, 'loopcam to stream');
      const res = await fetch(`${d3.base}/calibration/capture?frames=5&every=1`, { method: 'POST' });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: string }).error).toMatch(
        /^calibration capture refused: only \d+\.\d% of the disk of .* is free \(model.calibration.min_free_percent: 99\) \(free some space\)$/,
      );
    } finally {
      await d3.http.close();
      await d3.daemon.stop('test done');
    }
  }, 240000);
});
