/**
 * The memory step of the bench: the real daemon (`trt-detect run`) with one camera on a looping
 * clip played at its own frame rate like a camera, recording, the annotated RTSP stream with one
 * client watching it, one live viewer of the web UI (live-viewer.ts: logged in like the page, the
 * fragmented-MP4 WebSocket read for the whole run), the event layer (tracks, events, snapshots)
 * and MQTT, RSS sampled every few seconds from /proc for a set time. HTTP authentication is on
 * as by default (a password made for the run), so the viewers log in as a user's would. The
 * figure is the daemon's own RSS (its ffmpeg children are reported beside it) and its trend after
 * a warm-up (rss-sampler.ts rssTrend); the main thread's V8 heap and ArrayBuffers (/metrics) are
 * sampled beside it, to tell the JavaScript heap from frame buffers and native memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RuntimeFailure } from '../core/errors.js';
import { packageRoot } from '../core/files.js';
import { canConnect, freePort } from '../core/net.js';
import { which } from '../media/platform.js';
import { LiveViewer, type LiveViewerStats } from './live-viewer.js';
import { childPidsOf, pidRssMb, pidRssPartsMb } from './process-usage.js';
import { rssTrend, type RssSample, type RssTrend } from './rss-sampler.js';

export interface DaemonMemoryOptions {
  model: string;
  /** the camera's clip (the bench makes a 1080p one) */
  input: string;
  /** length of the run, minutes */
  minutes: number;
  /** seconds between samples */
  everySeconds: number;
  /** folder for the config, recordings, snapshots and state (the caller removes it) */
  dir: string;
  /** MQTT broker URL, or null for none */
  mqttUrl: string | null;
  /** ONNX Runtime threads (model.threads), 0 = auto */
  threads?: number;
  /** progress lines */
  log?: (line: string) => void;
}

export interface DaemonMemorySample {
  t_s: number;
  /** the daemon process */
  rss_mb: number;
  /** its children (ffmpeg decoder and encoder) */
  children_rss_mb: number;
  /** the RTSP client watching the annotated stream (not part of the daemon) */
  viewer_rss_mb: number | null;
  /** the two parts of the daemon's RSS, read with rss_mb (process-usage.ts pidRssPartsMb): anonymous and file-backed, MB */
  rss_anon_mb?: number | null;
  rss_file_mb?: number | null;
  /** the daemon's main thread (/metrics): V8 heap used and ArrayBuffers (frames, encoded video), MB; null when not read */
  heap_used_mb?: number | null;
  array_buffers_mb?: number | null;
}

export interface DaemonMemoryResult {
  minutes: number;
  every_s: number;
  samples: DaemonMemorySample[];
  /** the daemon's RSS after a warm-up of the first third of the run */
  trend: Omit<RssTrend, 'heap_slope_mb_per_min' | 'heap_total_slope_mb_per_min' | 'heap_total_settled_s' | 'external_slope_mb_per_min'>;
  /** the same fit for each part of the RSS: where a slope of the whole comes from */
  parts_trend: { anon: RssPartTrend; file: RssPartTrend } | null;
  max_rss_mb: number;
  max_children_rss_mb: number;
  /** frames the camera had processed at the end (/metrics) and whether the viewer was still connected */
  frames: number | null;
  viewer_running: boolean;
  /** each time the viewer's connection ended (exit code: ffmpeg's last line); it connected again a second later */
  viewer_exits: string[];
  /** the web UI's live viewer: what it read over the run (live-viewer.ts) */
  live_viewer: LiveViewerStats;
  parts: string[];
}

/** A part of the RSS after the warm-up: its range and the slope of the same fit as the whole's. */
export type RssPartTrend = Pick<RssTrend, 'min_mb' | 'max_mb' | 'slope_mb_per_min' | 'slope_ci95_mb_per_min' | 'growth_mb'>;

/** The trend of each part of the RSS (anonymous, file-backed) after `warmupSeconds`, or null when not sampled. */
export function rssPartsTrend(samples: readonly DaemonMemorySample[], warmupSeconds: number): DaemonMemoryResult['parts_trend'] {
  const sampled = samples.filter((s) => typeof s.rss_anon_mb === 'number' && typeof s.rss_file_mb === 'number');
  if (sampled.length < 2) return null;
  const part = (mbOf: (s: DaemonMemorySample) => number): RssPartTrend => {
    const t = rssTrend(
      sampled.map((s) => ({ t_s: s.t_s, rss_mb: mbOf(s), heap_used_mb: 0, heap_total_mb: 0, external_mb: 0, children_rss_mb: null })),
      warmupSeconds,
    );
    return { min_mb: t.min_mb, max_mb: t.max_mb, slope_mb_per_min: t.slope_mb_per_min, slope_ci95_mb_per_min: t.slope_ci95_mb_per_min, growth_mb: t.growth_mb };
  };
  return { anon: part((s) => s.rss_anon_mb as number), file: part((s) => s.rss_file_mb as number) };
}

/** The user the viewers log in as; the password is made for each run. */
export const BENCH_USER = 'bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The daemon's config for the run (JSON is YAML). */
export function daemonMemoryConfig(o: DaemonMemoryOptions, ports: { rtsp: number; http: number }, password: string): Record<string, unknown> {
  return {
    state_dir: join(o.dir, 'state'),
    model: { path: o.model, ...(o.threads !== undefined ? { threads: o.threads } : {}) },
    cameras: {
      bench: {
        source: o.input,
        loop: true,
        realtime: true,
        record: { enabled: true, path: join(o.dir, 'recordings'), segment_seconds: 60, retain_days: 1 },
        rtsp_out: true,
        track: { enabled: true },
        events: { enabled: true },
        snapshots: { enabled: true, path: join(o.dir, 'snapshots') },
      },
    },
    mqtt: o.mqttUrl ? { enabled: true, url: o.mqttUrl, topic_prefix: 'trt-detect-bench' } : { enabled: false },
    rtsp_server: { enabled: true, host: '127.0.0.1', port: ports.rtsp },
    // authentication on, as the daemon's default: the viewers log in (the RTSP client with the same credentials)
    http: { enabled: true, host: '127.0.0.1', port: ports.http, auth: { enabled: true, username: BENCH_USER, password } },
    log: { level: 'warn' },
  };
}

function httpGet(port: number, path: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const authorization = `Basic ${Buffer.from(`${BENCH_USER}:${password}`).toString('base64')}`;
    const req = get({ host: '127.0.0.1', port, path, timeout: 5000, headers: { Authorization: authorization } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Scrape {
  /** the camera's frames processed so far (trt_detect_frames_processed_total), null when not known yet */
  frames: number | null;
  heapUsedMb: number | null;
  arrayBuffersMb: number | null;
}

/** What the memory step reads from /metrics. */
async function scrape(port: number, password: string): Promise<Scrape> {
  try {
    const text = await httpGet(port, '/metrics', password);
    const m = /^trt_detect_frames_processed_total\{[^}]*camera="bench"[^}]*\} (\d+(?:\.\d+)?)/m.exec(text);
    const mb = (name: string) => {
      const g = new RegExp(`^${name} (\\d+(?:\\.\\d+)?(?:e\\+?\\d+)?)$`, 'm').exec(text);
      return g ? Number((Number(g[1]) / 1048576).toFixed(1)) : null;
    };
    return { frames: m ? Number(m[1]) : null, heapUsedMb: mb('nodejs_heap_size_used_bytes'), arrayBuffersMb: mb('nodejs_array_buffers_bytes') };
  } catch {
    return { frames: null, heapUsedMb: null, arrayBuffersMb: null };
  }
}

export async function daemonMemoryRun(o: DaemonMemoryOptions): Promise<DaemonMemoryResult> {
  const log = o.log ?? (() => undefined);
  const ffmpeg = which('ffmpeg');
  if (!ffmpeg) throw new RuntimeFailure('trt-detect bench: ffmpeg not found (the RTSP viewer of the memory run is ffmpeg)');
  mkdirSync(o.dir, { recursive: true });
  const ports = { rtsp: await freePort(), http: await freePort() };
  const password = randomBytes(12).toString('hex');
  const config = join(o.dir, 'memory.yaml');
  writeFileSync(config, `${JSON.stringify(daemonMemoryConfig(o, ports, password), null, 2)}\n`, { mode: 0o600 });
  const main = join(packageRoot(), 'dist', 'daemon', 'cli', 'main.js');
  let stderr = '';
  const daemon = spawn(process.execPath, [main, 'run', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  daemon.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let viewer: ChildProcess | null = null;
  const live = new LiveViewer({ port: ports.http, camera: 'bench', username: BENCH_USER, password });
  let stopping = false;
  const viewerExits: string[] = [];
  const stop = async () => {
    stopping = true;
    viewer?.kill('SIGTERM');
    live.stop();
    if (daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await Promise.race([new Promise((r) => daemon.once('exit', r)), sleep(20_000)]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    }
  };
  try {
    // up: the HTTP server answers and the camera has frames
    const deadline = performance.now() + 180_000;
    for (;;) {
      if (daemon.exitCode !== null) throw new RuntimeFailure(`trt-detect bench: the daemon of the memory run exited (${String(daemon.exitCode)}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (performance.now() > deadline) throw new RuntimeFailure('trt-detect bench: the daemon of the memory run did not start within 180 s');
      if ((await canConnect(ports.http)) && ((await scrape(ports.http, password)).frames ?? 0) > 0) break;
      await sleep(500);
    }
    // the viewer: an RTSP client that reads the stream as a player does (and connects again when it drops)
    const startViewer = () => {
      const v = spawn(ffmpeg, ['-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', `rtsp://${BENCH_USER}:${password}@127.0.0.1:${ports.rtsp}/bench`, '-map', '0:v', '-c', 'copy', '-f', 'null', '-'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      v.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
      v.once('exit', (code) => {
        if (stopping) return;
        viewerExits.push(`${String(code)}: ${err.trim().split('\n').pop() ?? ''}`);
        setTimeout(() => {
          if (!stopping) viewer = startViewer();
        }, 1000);
      });
      return v;
    };
    viewer = startViewer();
    // the web UI's live view: logged in, the WebSocket read for the whole run (connected again when it drops)
    await live.start().catch((err: unknown) => {
      throw new RuntimeFailure(`trt-detect bench: the live viewer of the memory run could not connect (${err instanceof Error ? err.message : String(err)})`);
    });
    log(`memory run: daemon pid ${String(daemon.pid)}, RTSP viewer pid ${String(viewer.pid)}, a live viewer on the web UI's WebSocket, ${o.minutes} min, RSS every ${o.everySeconds} s`);
    const samples: DaemonMemorySample[] = [];
    const t0 = performance.now();
    const end = t0 + o.minutes * 60_000;
    let lastLog = t0;
    while (performance.now() < end) {
      if (daemon.exitCode !== null) throw new RuntimeFailure(`trt-detect bench: the daemon of the memory run exited (${String(daemon.exitCode)}) after ${((performance.now() - t0) / 1000).toFixed(0)} s: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      const pid = daemon.pid ?? -1;
      // the RSS and its two parts from one read of /proc status
      const parts = pidRssPartsMb(pid);
      const rss = parts?.rss_mb ?? null;
      if (rss !== null) {
        const children = childPidsOf(pid).reduce((a, c) => a + (pidRssMb(c) ?? 0), 0);
        const t = Number(((performance.now() - t0) / 1000).toFixed(2));
        const m = await scrape(ports.http, password);
        samples.push({
          t_s: t,
          rss_mb: rss,
          rss_anon_mb: parts?.anon_mb ?? null,
          rss_file_mb: parts?.file_mb ?? null,
          children_rss_mb: Number(children.toFixed(1)),
          viewer_rss_mb: viewer?.pid ? pidRssMb(viewer.pid) : null,
          heap_used_mb: m.heapUsedMb,
          array_buffers_mb: m.arrayBuffersMb,
        });
      }
      if (performance.now() - lastLog > 60_000) {
        lastLog = performance.now();
        const s = samples[samples.length - 1];
        const l = live.stats;
        log(
          `memory run: ${((lastLog - t0) / 60_000).toFixed(1)} min, daemon RSS ${s?.rss_mb} MB (heap ${s?.heap_used_mb ?? '?'} MB, ArrayBuffers ${s?.array_buffers_mb ?? '?'} MB), children ${s?.children_rss_mb} MB; live viewer ${l.fragments} fragments, ${(l.bytes / 1048576).toFixed(1)} MB${l.connected ? '' : ' (reconnecting)'}`,
        );
      }
      await sleep(o.everySeconds * 1000);
    }
    const frames = (await scrape(ports.http, password)).frames;
    const liveStats = live.stats;
    const viewerRunning = viewer?.exitCode === null;
    const asRss: RssSample[] = samples.map((s) => ({ t_s: s.t_s, rss_mb: s.rss_mb, heap_used_mb: 0, heap_total_mb: 0, external_mb: 0, children_rss_mb: s.children_rss_mb }));
    const warmup = (o.minutes * 60) / 3;
    const full = rssTrend(asRss, warmup);
    const { heap_slope_mb_per_min: _h, heap_total_slope_mb_per_min: _t, heap_total_settled_s: _s, external_slope_mb_per_min: _e, ...trend } = full;
    return {
      minutes: o.minutes,
      every_s: o.everySeconds,
      samples,
      trend,
      parts_trend: rssPartsTrend(samples, warmup),
      max_rss_mb: Math.max(0, ...samples.map((s) => s.rss_mb)),
      max_children_rss_mb: Math.max(0, ...samples.map((s) => s.children_rss_mb)),
      frames,
      viewer_running: viewerRunning,
      viewer_exits: viewerExits,
      live_viewer: liveStats,
      parts: [
        'one camera (looping clip, realtime)',
        'recording',
        'RTSP out + 1 RTSP viewer',
        '1 live viewer (web UI WebSocket)',
        'tracking + events + snapshots',
        o.mqttUrl ? 'MQTT' : 'no MQTT',
        'HTTP (auth on)',
      ],
    };
  } finally {
    await stop();
  }
}
