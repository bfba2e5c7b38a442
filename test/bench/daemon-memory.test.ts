/**
 * The bench's memory step on the real daemon (trt-detect bench --daemon-memory), short: the daemon
 * with recording, RTSP out and one RTSP viewer, one live viewer of the web UI (its WebSocket,
 * logged in), tracking, events and snapshots and MQTT (a real mosquitto when installed) on a
 * looping clip, HTTP auth on, its RSS sampled from /proc. The 15-minute figure comes from
 * scripts/bench.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, runCli } from '../support/cli.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

let tmp: ReturnType<typeof tempDir>;
let clip: string;

beforeAll(() => {
  tmp = tempDir('bench-memory');
  clip = makeTestVideo(join(tmp.dir, 'clip.mp4'), { width: 640, height: 360, fps: 15, frames: 45 });
});
afterAll(() => tmp.cleanup());

describe('trt-detect bench --daemon-memory', () => {
  it('runs the real daemon with recording, RTSP out + a viewer, a live viewer and events, samples its RSS, reports the trend; the daemon is gone afterwards', async () => {
    const json = join(tmp.dir, 'memory.json');
    const r = await runCli(['bench', '--daemon-memory', '-m', MODEL, '-i', clip, '--loop-minutes', '0.4', '--rss-every', '1', '--json', json], { timeoutMs: 240_000 });
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    expect(r.stdout).toMatch(
      /^memory run \(the daemon: one camera \(looping clip, realtime\), recording, RTSP out \+ 1 RTSP viewer, 1 live viewer \(web UI WebSocket\), tracking \+ events \+ snapshots/m,
    );
    expect(r.stdout).toMatch(/^live viewer \(web UI WebSocket\): \d+ fragments, \d+ init segment\(s\), \d+ messages, [\d.]+ MB in \d+ connection\(s\)/m);
    expect(r.stdout).toMatch(/daemon RSS [\d.]+\.\.[\d.]+ MB after the first third/);
    const out = JSON.parse(readFileSync(json, 'utf8')) as {
      memory: {
        samples: Array<{ t_s: number; rss_mb: number; children_rss_mb: number; viewer_rss_mb: number | null; heap_used_mb: number | null; array_buffers_mb: number | null; rss_anon_mb?: number | null; rss_file_mb?: number | null }>;
        trend: { samples_used: number; slope_mb_per_min: number; warmup_s: number };
        parts_trend: { anon: { max_mb: number; slope_mb_per_min: number }; file: { slope_mb_per_min: number } } | null;
        max_rss_mb: number;
        frames: number | null;
        viewer_running: boolean;
        viewer_exits: string[];
        minutes: number;
        live_viewer: { connections: number; logins: number; fragments: number; init_segments: number; bytes: number; bad_messages: number; codec: string | null; connected: boolean };
      };
    };
    const m = out.memory;
    expect(m.minutes).toBe(0.4);
    // about one sample a second over 24 s (a loaded machine takes longer between them)
    expect(m.samples.length).toBeGreaterThanOrEqual(8);
    expect(m.samples.every((s) => s.rss_mb > 30 && s.rss_mb < 2000)).toBe(true);
    // the ffmpeg decoder and encoder are the daemon's children; the viewer is not counted in them
    expect(Math.max(...m.samples.map((s) => s.children_rss_mb))).toBeGreaterThan(1);
    expect(m.samples.some((s) => (s.viewer_rss_mb ?? 0) > 1)).toBe(true);
    expect(m.trend.samples_used).toBeGreaterThan(3);
    // the RSS in its two parts: anonymous + file-backed is the RSS (one read of /proc status), the program's code is file-backed
    for (const s of m.samples) expect(Math.abs((s.rss_anon_mb ?? 0) + (s.rss_file_mb ?? 0) - s.rss_mb)).toBeLessThan(15);
    expect(Math.min(...m.samples.map((s) => s.rss_file_mb ?? 0))).toBeGreaterThan(10);
    expect(m.parts_trend?.anon.max_mb).toBe(Math.max(...m.samples.filter((s) => s.t_s >= m.trend.warmup_s).map((s) => s.rss_anon_mb ?? 0)));
    expect(Number.isFinite(m.parts_trend?.file.slope_mb_per_min)).toBe(true);
    expect(r.stdout).toMatch(/^daemon RSS by part after the first third: anonymous [\d.]+\.\.[\d.]+ MB, slope -?[\d.]+ ± [\d.]+ MB\/min; file-backed /m);
    expect(Number.isFinite(m.trend.slope_mb_per_min)).toBe(true);
    expect(m.max_rss_mb).toBe(Math.max(...m.samples.map((s) => s.rss_mb)));
    expect(m.frames).toBeGreaterThan(0);
    // the viewer read the stream (a dropped connection is reconnected and listed)
    expect(Array.isArray(m.viewer_exits)).toBe(true);
    // the live viewer logged in (auth is on) and read the fMP4 stream: codec, init segment, fragments
    expect(m.live_viewer.logins).toBeGreaterThanOrEqual(1);
    expect(m.live_viewer.init_segments).toBeGreaterThanOrEqual(1);
    expect(m.live_viewer.fragments).toBeGreaterThan(10);
    expect(m.live_viewer.bytes).toBeGreaterThan(m.live_viewer.fragments * 100);
    expect(m.live_viewer.bad_messages).toBe(0);
    expect(m.live_viewer.codec).toMatch(/^avc1\./);
    // the main thread's heap and ArrayBuffers come from /metrics (behind the login)
    expect(m.samples.some((s) => (s.heap_used_mb ?? 0) > 1 && (s.array_buffers_mb ?? 0) > 0)).toBe(true);
    // stopped at the end: the daemon and the viewer are gone
    const pids = [...r.stderr.matchAll(/daemon pid (\d+), RTSP viewer pid (\d+)/g)].flatMap((x) => [Number(x[1]), Number(x[2])]);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(existsSync(`/proc/${pid}/status`) && !readFileSync(`/proc/${pid}/status`, 'utf8').includes('State:\tZ'), `pid ${pid}`).toBe(false);
  }, 300_000);

  it('without a model it is one clear line and exit 2', async () => {
    const r = await runCli(['bench', '--daemon-memory', '-i', clip]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/-m MODEL is required/);
  });
});
