import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraStats } from '../../daemon/service/camera-pipeline.js';
import { createAuth } from '../../daemon/service/auth.js';
import { HttpServer, METRICS_CONTENT_TYPE } from '../../daemon/service/http-server.js';
import { silentLogger } from '../../daemon/core/log.js';
import type { CameraView, ServiceView } from '../../daemon/service/metrics.js';
import { LatencyStats } from '../../daemon/service/rate.js';
import { RuntimeFailure } from '../../daemon/core/errors.js';
import { TEST_AUTH, TEST_AUTH_YAML, basicAuth } from '../support/auth.js';
import { CLI, MODEL, runCli } from '../support/cli.js';
import { freePort, until } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

function cam(name: string, state: CameraView['state'], frames = 10, error: string | null = null): CameraView {
  const inf = new LatencyStats();
  inf.add(20);
  const stats: CameraStats | null =
    state === 'stopped'
      ? null
      : {
          state,
          fps: 5,
          frames,
          inferred: frames,
          dropped: 0,
          reconnects: 0,
          queue_depth: 0,
          inference_ms: 20,
          preprocess_ms: 1,
          postprocess_ms: 1,
          draw_ms: 1,
          encode_ms: 1,
          recording: null,
          recording_error: null,
        };
  return { name, state, stats, decoded: frames, inference: stats ? inf.histogram() : null, error, progress: frames };
}

/** A view whose cameras the test sets. */
function mutableView(cameras: CameraView[]): ServiceView & { cameras_: CameraView[] } {
  const v = { cameras_: cameras, cameras: () => v.cameras_, mqtt: () => ({ connected: true, queued: 0, dropped: 0, published: 3, reconnects: 0 }) };
  return v;
}

describe('HttpServer', () => {
  const view = mutableView([]);
  let server: HttpServer;
  let base: string;
  const { dir, cleanup } = tempDir('http-server');
  const authed = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { ...basicAuth(), ...(init.headers as Record<string, string>) } });

  beforeAll(async () => {
    const auth = createAuth(TEST_AUTH, join(dir, 'state'), silentLogger());
    server = await HttpServer.listen({ host: '127.0.0.1', port: 0, view, logger: silentLogger(), auth });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server?.close();
    cleanup();
  });

  it('/healthz is 200 while every camera is streaming or ended', async () => {
    view.cameras_ = [cam('front', 'streaming'), cam('file', 'ended')];
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      status: 'ok',
      cameras: { front: { state: 'streaming', fps: 5 }, file: { state: 'ended', fps: 5 } },
      mqtt: { connected: true },
    });
  });

  it('/healthz is 503 naming each camera that is not streaming and its state', async () => {
    view.cameras_ = [cam('front', 'streaming'), cam('yard', 'reconnecting'), cam('gate', 'error', 0, 'rtsp://cam/1: 401 Unauthorized'), cam('back', 'stopped')];
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; reason: string; cameras: Record<string, { state: string; error?: string }> };
    expect(body.status).toBe('unhealthy');
    expect(body.reason).toBe('cameras not streaming: yard (reconnecting), gate (error: rtsp://cam/1: 401 Unauthorized), back (stopped)');
    expect(body.cameras.gate).toEqual({ state: 'error', fps: 5, error: 'rtsp://cam/1: 401 Unauthorized' });
    expect(body.cameras.front.state).toBe('streaming');
  });

  it("/healthz reports each recording camera's recording; a failed recording alone leaves it 200 (the recorder retries by itself)", async () => {
    const recording = (name: string, error: string | null): CameraView => {
      const c = cam(name, 'streaming');
      return { ...c, stats: { ...(c.stats as CameraStats), recording_enabled: true, recording_error: error, recording: error ? null : '/rec/x.mp4' } };
    };
    view.cameras_ = [
      recording('front', null),
      recording('yard', 'recording stopped: /rec/yard/2026-12-03/10-00-00.mp4: No space left on device'),
      cam('door', 'streaming'),
    ];
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; cameras: Record<string, { recording?: string }> };
    expect(body.status).toBe('ok');
    expect(body.cameras.front.recording).toBe('ok');
    expect(body.cameras.yard.recording).toBe('error: /rec/yard/2026-12-03/10-00-00.mp4: No space left on device');
    expect(body.cameras.door.recording).toBeUndefined();
  });

  it('/healthz is 503 while a camera is still starting', async () => {
    view.cameras_ = [cam('front', 'starting', 0)];
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
  });

  it('/metrics serves Prometheus text 0.0.4 with the current figures', async () => {
    view.cameras_ = [cam('front', 'streaming', 42)];
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const res = await authed(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(METRICS_CONTENT_TYPE);
    const text = await res.text();
    expect(text).toContain('\ntrt_detect_frames_processed_total{camera="front"} 42\n');
    expect(text).toContain('trt_detect_inference_seconds_bucket{camera="front",le="0.025"} 1\n');
    expect(text).toContain('\ntrt_detect_mqtt_published_total 3\n');
    expect(text).toMatch(/\nprocess_resident_memory_bytes [1-9][0-9]+\n/);
  });

  it('answers HEAD without a body, 404 for other paths and 405 for other methods', async () => {
    const head = await authed(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const missing = await authed(`${base}/nope?x=1`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no such path /nope (try /healthz or /metrics)' });
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('HttpServer on a port in use', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it('rejects with one RuntimeFailure line naming the address and the key', async () => {
    const err = await HttpServer.listen({
      host: '127.0.0.1',
      port,
      view: mutableView([]),
      logger: silentLogger(),
      auth: createAuth({ ...TEST_AUTH, enabled: false }, '/nonexistent', silentLogger()),
      configPath: '/etc/trt-detect/config.yaml',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as RuntimeFailure).exitCode).toBe(1);
    expect((err as Error).message).toBe(
      `http: 127.0.0.1:${port} is already in use (/etc/trt-detect/config.yaml: http.port: choose a free port, or stop the program that holds it)`,
    );
  });

  it('makes trt-detect run exit 1 with that line before it loads anything', async () => {
    const { dir, cleanup } = tempDir('http-inuse');
    try {
      const cfg = join(dir, 'config.yaml');
      const clip = makeTestVideo(join(dir, 'clip.mp4'), { frames: 5 });
      writeFileSync(
        cfg,
        `model: {path: ${MODEL}}\ncameras:\n  cam: {source: ${clip}, record: {enabled: false}}\nmqtt: {enabled: false}\nrtsp_server: {enabled: false}\nhttp: {host: 127.0.0.1, port: ${port}, auth: ${TEST_AUTH_YAML}}\n`,
      );
      const r = await runCli(['run', '-c', cfg], { timeoutMs: 60000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`http: 127.0.0.1:${port} is already in use (${cfg}: http.port: choose a free port, or stop the program that holds it)\n`);
    } finally {
      cleanup();
    }
  });
});

describe('trt-detect run serves /healthz and /metrics from the running pipelines', () => {
  it('reports 200 and growing frame counters while a looping file streams (with the password generated on the first start), then stops on SIGTERM', async () => {
    const { dir, cleanup } = tempDir('http-daemon');
    const port = await freePort();
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { frames: 30, fps: 15 });
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}}\nstate_dir: ${join(dir, 'state')}\ncameras:\n  loopcam: {source: ${clip}, loop: true, record: {enabled: false}}\n  offcam: {source: ${clip}, enabled: false}\nmqtt: {enabled: false}\nrtsp_server: {enabled: false}\nhttp: {host: 127.0.0.1, port: ${port}}\n`,
    );
    const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const base = `http://127.0.0.1:${port}`;
    let password = '';
    const get = async (path: string) => {
      try {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
        return { status: res.status, text: await res.text() };
      } catch {
        return { status: 0, text: '' };
      }
    };
    const processed = (text: string) => Number(/\ntrt_detect_frames_processed_total\{camera="loopcam"\} (\d+)\n/.exec(text)?.[1] ?? -1);
    try {
      let health = { status: 0, text: '' };
      await until(() => stdout.includes('"msg":"running"'), 45000, `the daemon to run (stderr: ${stderr})`);
      password = readFileSync(join(dir, 'state', 'http-password'), 'utf8').trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(stdout).not.toContain(password);
      // READY comes after the sources left `starting`: healthy from then on
      health = await get('/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toMatchObject({ status: 'ok', cameras: { loopcam: { state: 'streaming' } } });
      expect(JSON.parse(health.text).cameras.offcam).toBeUndefined();
      const first = processed((await get('/metrics')).text);
      let later = first;
      const deadline = Date.now() + 30000;
      while (later <= first && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        later = processed((await get('/metrics')).text);
      }
      expect(first).toBeGreaterThanOrEqual(0);
      expect(later).toBeGreaterThan(first);
      const metrics = (await get('/metrics')).text;
      expect(metrics).toContain('trt_detect_camera_state{camera="loopcam",state="streaming"} 1');
      expect(metrics).toMatch(/trt_detect_inference_seconds_count\{camera="loopcam"\} [1-9]/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
      expect((await get('/healthz')).status).toBe(0); // the port is closed again
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      cleanup();
    }
  });
});

describe('HttpServer bounds (header and body size, header and request timeouts, connections)', () => {
  const view = mutableView([]);
  let server: HttpServer;
  let port: number;
  const { dir, cleanup } = tempDir('http-bounds');

  beforeAll(async () => {
    const auth = createAuth(TEST_AUTH, join(dir, 'state'), silentLogger());
    server = await HttpServer.listen({ host: '127.0.0.1', port: 0, view, logger: silentLogger(), auth, maxConnections: 8 });
    port = server.port;
  });
  afterAll(async () => {
    await server?.close();
    cleanup();
  });

  /** Writes raw bytes; resolves with what came back and whether the server closed, after `waitMs` at most. */
  function rawExchange(bytes: string, waitMs = 3000): Promise<{ text: string; closed: boolean; ms: number }> {
    return new Promise((resolve) => {
      const t0 = Date.now();
      const s = connect(port, '127.0.0.1', () => s.write(bytes));
      let text = '';
      const done = (closed: boolean) => {
        clearTimeout(timer);
        s.destroy();
        resolve({ text, closed, ms: Date.now() - t0 });
      };
      const timer = setTimeout(() => done(false), waitMs);
      s.on('data', (d: Buffer) => (text += d.toString('latin1')));
      s.on('close', () => done(true));
      s.on('error', () => done(true));
    });
  }

  it('a head over 16 KB is 431, a body announced over 64 KB is 413 and the connection closes', async () => {
    const big = await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(big.text).toMatch(/^HTTP\/1\.1 431 /);
    const body = await rawExchange(`POST /calibration/capture HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n${'x'.repeat(1000)}`);
    expect(body.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(body.text).toContain('{"error":"request body too large (at most 65536 bytes)"}');
    expect(body.closed).toBe(true);
    // a body nobody reads: answered, then the connection closes (it is not read to its end)
    const unread = await rawExchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n${'x'.repeat(100)}`);
    expect(unread.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(unread.text.toLowerCase()).toContain('connection: close');
    expect(unread.closed).toBe(true);
  });

  it('a head that never finishes is dropped after the 10 s header timeout (slowloris)', async () => {
    const slow = await rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', 30_000);
    expect(slow.closed).toBe(true);
    expect(slow.ms).toBeGreaterThanOrEqual(9000);
    expect(slow.ms).toBeLessThan(25_000);
  }, 40_000);

  it('at most max_connections at once: more are closed at once, and the endpoint serves again when they go', async () => {
    const held = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect(port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      const extra = await rawExchange('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
      expect(extra.closed).toBe(true);
      expect(extra.text).toBe('');
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
