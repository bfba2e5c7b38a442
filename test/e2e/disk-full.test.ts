import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_AUTH_YAML, TEST_PASSWORD, TEST_USER, basicAuth } from '../support/auth.js';
import { CLI, logLines, MODEL } from '../support/cli.js';
import { freePort, until } from '../support/mosquitto.js';
import { makeTestVideo, probeFrames, tempDir } from '../support/videos.js';

/**
 * Disk full, for real: the recordings live on a small tmpfs that the test fills up while the
 * daemon records and serves RTSP. Needs root (mount); skipped with a reason otherwise.
 */

const { dir, cleanup } = tempDir('disk-full');
const rec = join(dir, 'rec');
mkdirSync(rec);
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', rec]).status === 0;
afterAll(() => {
  if (mounted) spawnSync('umount', ['-l', rec]);
  cleanup();
});

/** Polls an async condition every 250 ms. */
async function eventually(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `frames` when an RTSP client (ffmpeg over TCP) gets that many pictures, else 0. */
function rtspFrames(url: string, frames: number): number {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-frames:v', String(frames), '-f', 'null', '-'], { timeout: 30_000 });
  return r.status === 0 ? frames : 0;
}

describe.skipIf(!mounted)('a full recordings disk (a real tmpfs)', () => {
  it('stops the recording with one line, leaves RTSP and detection running, and recording resumes by itself once there is space', async () => {
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 320, height: 240, fps: 15, frames: 45 });
    const [http, rtsp] = [await freePort(), await freePort()];
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}}\n` +
        `cameras:\n  cam: {source: ${clip}, loop: true, realtime: true, rtsp_out: true, record: {path: ${rec}, segment_seconds: 2, min_free_percent: 0}}\n` +
        `state_dir: ${join(dir, 'state')}\nmqtt: {enabled: false}\nrtsp_server: {host: 127.0.0.1, port: ${rtsp}}\nhttp: {host: 127.0.0.1, port: ${http}, auth: ${TEST_AUTH_YAML}}\n`,
    );
    const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const get = async (path: string): Promise<string> => {
      try {
        return await (await fetch(`http://127.0.0.1:${http}${path}`, { headers: basicAuth() })).text();
      } catch {
        return '';
      }
    };
    const recording = async () => {
      const body = await get('/healthz');
      return body ? (JSON.parse(body) as { cameras: Record<string, { recording?: string }> }).cameras.cam?.recording : undefined;
    };
    const metric = async (name: string) => Number(new RegExp(`\\n${name}\\{camera="cam"\\} (\\d+)\\n`).exec(await get('/metrics'))?.[1] ?? -1);
    const stopped = () => logLines(stdout).filter((l) => String(l.msg).startsWith('recording stopped'));
    const filler = join(rec, 'filler');
    const url = `rtsp://${TEST_USER}:${TEST_PASSWORD}@127.0.0.1:${rtsp}/cam`;
    try {
      await until(() => stdout.includes('"msg":"running"'), 60_000, `the daemon to run (stderr: ${stderr})`);
      await until(() => stdout.includes('recording segment finished'), 30_000, 'a first segment');
      expect(await recording()).toBe('ok');
      expect(await metric('trt_detect_recording')).toBe(1);
      // one encode, two consumers: the recorder and the RTSP stream
      expect(await metric('trt_detect_video_consumers')).toBe(2);

      // fill the disk to the last byte
      spawnSync('sh', ['-c', `cat /dev/zero > ${filler}`]);
      let state: string | undefined;
      await eventually(
        async () => {
          state = await recording();
          return state?.startsWith('error: ') ?? false;
        },
        30_000,
        'healthz to report the recording error',
      );
      expect(state).toMatch(/No space left on device/);
      expect(await metric('trt_detect_recording')).toBe(0);
      expect(JSON.parse(await get('/healthz'))).toMatchObject({ status: 'ok', cameras: { cam: { state: 'streaming' } } });
      // detection goes on, the RTSP output still plays
      const processed = await metric('trt_detect_frames_processed_total');
      expect(rtspFrames(url, 10)).toBe(10);
      expect(await metric('trt_detect_frames_processed_total')).toBeGreaterThan(processed);
      expect(stopped()).toHaveLength(1);
      expect(stopped()[0].level).toBe('error');

      // space again: recording resumes by itself, without a restart or a reload
      rmSync(filler);
      const before = stdout.length;
      await until(() => stdout.slice(before).includes('"msg":"recording resumed"'), 90_000, 'recording to resume');
      await eventually(async () => (await recording()) === 'ok', 10_000, 'healthz to say ok again');
      expect(await metric('trt_detect_recording')).toBe(1);
      expect(await metric('trt_detect_recording_errors_total')).toBe(1);
      expect(stopped()).toHaveLength(1); // the failed retries while full were not logged again
      expect(rtspFrames(url, 5)).toBe(5);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // every segment left on the disk plays (one without a complete fragment was removed)
      const segs = readdirSync(join(rec, 'cam'), { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.mp4'));
      expect(segs.length).toBeGreaterThanOrEqual(2);
      for (const s of segs) expect(probeFrames(join(rec, 'cam', s)).count).toBeGreaterThan(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(filler, { force: true });
    }
  }, 240_000);
});
