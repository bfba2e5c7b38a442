/**
 * The daemon with live cameras, end to end through real parts: two RTSP cameras served by a real
 * RTSP server, a third "camera" that accepts connections and never answers, a real mosquitto, the
 * compiled CLI, ffprobe as an RTSP client of the annotated output.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSegments } from '../../daemon/sinks/recorder.js';
import { TEST_AUTH_YAML, TEST_PASSWORD, TEST_USER } from '../support/auth.js';
import { CLI, MODEL, runCli } from '../support/cli.js';
import { collectMessages, freePort, startMosquitto, type CollectedMessage, type Mosquitto } from '../support/mosquitto.js';
import { childrenNamed, threadNices } from '../support/proc.js';
import { makeTestVideo, probeFrames, tempDir } from '../support/videos.js';
import { rtspCamera } from './rtsp-camera.js';

const { dir, cleanup } = tempDir('live');
let broker: Mosquitto;
const children: ChildProcess[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await broker?.stop();
  cleanup();
});

function startDaemon(configFile: string, detached = false): { proc: ChildProcess; out: () => string; exit: Promise<number | null> } {
  // TRT_TEST_NODE runs the daemon under another Node (e.g. scripts/fetch-node16's Node 16)
  const proc = spawn(process.env.TRT_TEST_NODE ?? process.execPath, [CLI, 'run', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'], detached });
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  return { proc, out: () => out, exit };
}

const statusOf = (ms: CollectedMessage[], topic: string) =>
  ms.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload) as { state: string; error?: string; fps?: number });

function ffprobeRtsp(url: string, frames: number): Promise<Array<{ width: number; height: number }>> {
  return new Promise((resolve, reject) =>
    execFile(
      'ffprobe',
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-select_streams',
        'v:0',
        '-read_intervals',
        `%+#${frames}`,
        '-show_entries',
        'frame=width,height',
        '-of',
        'json',
        url,
      ],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(stderr || err.message)) : resolve((JSON.parse(stdout) as { frames: Array<{ width: number; height: number }> }).frames),
    ),
  );
}

describe('trt-detect run with live RTSP cameras', () => {
  it('streams two cameras, survives one camera restarting, detects a stalled one, serves annotated RTSP, records', async () => {
    const front = await rtspCamera({ name: 'front', width: 160, height: 120, fps: 10 });
    const back = await rtspCamera({ name: 'back', width: 128, height: 96, fps: 10 });
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    const rtspPort = await freePort();
    const rec = join(dir, 'rec');
    const cfg = join(dir, 'live.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}}
cameras:
  front:
    source: ${front.url}
    decoder: ffmpeg
    rtsp_out: true
    record: {enabled: true, path: ${rec}, segment_seconds: 2}
  back:
    source: ${back.url}
    decoder: ffmpeg
    detect: {interval: 3}
    record: {enabled: false}
  mute:
    source: rtsp://127.0.0.1:${silentPort}/none
    decoder: ffmpeg
    stall_timeout_seconds: 1
    record: {enabled: false}
mqtt: {url: ${broker.url}, topic_prefix: live, publish: all_frames, stats_interval_seconds: 1}
rtsp_server: {enabled: true, port: ${rtspPort}}
http: {enabled: false, auth: ${TEST_AUTH_YAML}}
`,
    );
    const sub = await collectMessages(broker.url, 'live/#');
    const daemon = startDaemon(cfg);
    try {
      const streaming = (cam: string) => (ms: CollectedMessage[]) => statusOf(ms, `live/${cam}/status`).some((s) => s.state === 'streaming');
      await sub.waitFor((ms) => streaming('front')(ms) && streaming('back')(ms), 45_000);

      // a camera whose server accepts and never answers is reported as stalled
      await sub.waitFor(
        (ms) => statusOf(ms, 'live/mute/status').some((s) => s.state === 'reconnecting' && s.error === 'no frames for 1 s (stream stalled)'),
        20_000,
      );

      // the annotated stream of `front` is served over RTSP at the camera's size, to clients with the http.auth credentials
      await expect(ffprobeRtsp(`rtsp://127.0.0.1:${rtspPort}/front`, 1)).rejects.toThrow(/401 Unauthorized/);
      const served = await ffprobeRtsp(`rtsp://${TEST_USER}:${TEST_PASSWORD}@127.0.0.1:${rtspPort}/front`, 5);
      expect(served.length).toBeGreaterThanOrEqual(5);
      for (const f of served) expect(f).toEqual({ width: 160, height: 120 });

      // `front` loses its server: reconnecting with a reason; `back` keeps publishing meanwhile
      await front.stop();
      await sub.waitFor((ms) => statusOf(ms, 'live/front/status').some((s) => s.state === 'reconnecting' && !!s.error), 20_000);
      const backCount = sub.messages.filter((m) => m.topic === 'live/back/detections').length;
      await sub.waitFor((ms) => ms.filter((m) => m.topic === 'live/back/detections').length >= backCount + 3, 20_000);
      await front.start();
      const mark = sub.messages.length;
      await sub.waitFor((ms) => ms.slice(mark).some((m) => m.topic === 'live/front/status' && JSON.parse(m.payload).state === 'streaming'), 45_000);
      await sub.waitFor((ms) => ms.slice(mark).filter((m) => m.topic === 'live/front/detections').length >= 3, 20_000);
      const frontStates = statusOf(sub.messages, 'live/front/status').map((s) => s.state);
      expect(frontStates.slice(frontStates.indexOf('reconnecting'))).toContain('streaming');

      // per-camera stats; `back` infers only every 4th frame
      await sub.waitFor((ms) => ms.some((m) => m.topic === 'live/stats' && (JSON.parse(m.payload).cameras?.front?.reconnects ?? 0) >= 1), 15_000);
      const stats = JSON.parse(sub.messages.filter((m) => m.topic === 'live/stats').pop()!.payload);
      expect(Object.keys(stats.cameras).sort()).toEqual(['back', 'front', 'mute']);
      expect(stats.cameras.front.frames).toBeGreaterThan(0);
      expect(stats.cameras.back.frames).toBeGreaterThan(0);
      expect(stats.cameras.mute.frames).toBe(0);
      expect(stats.cameras.mute.reconnects).toBeGreaterThanOrEqual(1);
      // no burst of stale frames at connect (ffmpeg used to deliver ~2 s of probed frames at once, all dropped)
      expect(stats.cameras.back.dropped).toBeLessThan(10);
      // every 4th frame inferred; frames count those through the output stage, and up to 12 more (8 in
      // the detect stage: two inferences and the frames between them, 4 queued for output) may be inferred already
      expect(stats.cameras.back.inferred).toBeLessThanOrEqual(Math.ceil((stats.cameras.back.frames + 12) / 4) + 1);
      const backFrames = sub.messages.filter((m) => m.topic === 'live/back/detections').map((m) => JSON.parse(m.payload).frame as number);
      for (const f of backFrames) expect(f % 4).toBe(0);

      // the retained camera status is re-published with the stats: it carries the frame rate of
      // now, not the 0 of the moment the camera started streaming
      await sub.waitFor((ms) => statusOf(ms, 'live/back/status').some((s) => s.state === 'streaming' && (s.fps ?? 0) > 0), 15_000);

      daemon.proc.kill('SIGTERM');
      expect(await daemon.exit).toBe(0);
      // a clean stop leaves no camera "streaming" behind in the retained status
      await sub.waitFor((ms) => ms.some((m) => m.topic === 'live/status' && m.payload === 'offline'), 10_000);
      for (const cam of ['front', 'back', 'mute'])
        expect(
          statusOf(sub.messages, `live/${cam}/status`)
            .slice(-2)
            .map((s) => s.state),
          cam,
        ).toEqual(['ended', 'offline']);
      // log lines: the camera named once; a camera reconnecting is a warning
      const logs = daemon
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      for (const l of logs) expect((l.match(/"camera":/g) ?? []).length, l).toBeLessThanOrEqual(1);
      const reconnecting = logs
        .map((l) => JSON.parse(l) as { level: string; camera?: string; msg: string })
        .filter((l) => l.camera === 'mute' && l.msg.startsWith('camera reconnecting'));
      expect(reconnecting.length).toBeGreaterThan(0);
      for (const l of reconnecting) expect(l.level).toBe('warn');
      // recordings: consecutive segments that ffprobe decodes at the camera's size
      const segs = listSegments(rec, 'front');
      expect(segs.length).toBeGreaterThanOrEqual(2);
      for (const s of segs) expect(probeFrames(s)).toMatchObject({ width: 160, height: 120 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.out().slice(-4000)}`);
    } finally {
      if (daemon.proc.exitCode === null) daemon.proc.kill('SIGKILL');
      await sub.close();
      await front.stop();
      await back.stop();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, 180_000);

  it('a segment cut short by SIGKILL (daemon and encoder killed together, as in a power loss) still plays', async () => {
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 160, height: 120, fps: 10, frames: 20 });
    const rec = join(dir, 'rec-kill');
    const cfg = join(dir, 'kill.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}}
cameras:
  cam: {source: ${clip}, loop: true, record: {enabled: true, path: ${rec}, segment_seconds: 3600}}
mqtt: {enabled: false}
rtsp_server: {enabled: false}
http: {enabled: false}
`,
    );
    const daemon = startDaemon(cfg, true);
    try {
      const until = Date.now() + 30_000;
      // wait until the encoder has written a few fragments (1 s each)
      while (Date.now() < until) {
        const segs = listSegments(rec, 'cam');
        if (
          segs.length &&
          (await new Promise<number>((r) =>
            execFile(
              'ffprobe',
              ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', segs[0]],
              (e, o) => r(e ? 0 : Number(o.trim()) || 0),
            ),
          )) >= 30
        )
          break;
        await new Promise((r) => setTimeout(r, 300));
      }
      process.kill(-(daemon.proc.pid as number), 'SIGKILL'); // the whole process group: node and ffmpeg
      await daemon.exit;
      const segs = listSegments(rec, 'cam');
      expect(segs.length).toBe(1);
      const p = probeFrames(segs[0]);
      expect(p.count).toBeGreaterThanOrEqual(30);
      expect(p).toMatchObject({ width: 160, height: 120 });
      p.pts.forEach((t, i) => expect(t).toBeCloseTo(i / 10, 3));
    } finally {
      try {
        process.kill(-(daemon.proc.pid as number), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }, 90_000);

  it('a reload that changes mqtt.topic_prefix leaves no retained camera status behind under the old prefix', async () => {
    const clip = makeTestVideo(join(dir, 'prefix.mp4'), { width: 160, height: 120, fps: 10, frames: 20 });
    const cfg = join(dir, 'prefix.yaml');
    const write = (prefix: string) =>
      writeFileSync(
        cfg,
        `model: {path: ${MODEL}}\ncameras:\n  cam: {source: ${clip}, loop: true, record: {enabled: false}}\nmqtt: {url: ${broker.url}, topic_prefix: ${prefix}, stats_interval_seconds: 1}\nhttp: {enabled: false}\nrtsp_server: {enabled: false}\n`,
      );
    write('pfx-a');
    const sub = await collectMessages(broker.url, '#');
    const daemon = startDaemon(cfg);
    try {
      await sub.waitFor((ms) => statusOf(ms, 'pfx-a/cam/status').some((x) => x.state === 'streaming'), 45_000);
      write('pfx-b');
      daemon.proc.kill('SIGHUP');
      await sub.waitFor((ms) => statusOf(ms, 'pfx-b/cam/status').some((x) => x.state === 'streaming'), 20_000);
      // a newcomer sees what is retained: the old prefix says offline, and has no camera status left
      const late = await collectMessages(broker.url, 'pfx-a/#');
      await new Promise((r) => setTimeout(r, 1000));
      await late.close();
      const retained = late.messages.filter((m) => m.retain).map((m) => [m.topic, m.payload]);
      expect(retained, JSON.stringify(retained)).toEqual([['pfx-a/status', 'offline']]);
      daemon.proc.kill('SIGTERM');
      expect(await daemon.exit).toBe(0);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.out().slice(-3000)}`);
    } finally {
      if (daemon.proc.exitCode === null) daemon.proc.kill('SIGKILL');
      await sub.close();
    }
  }, 120_000);

  it.runIf(process.platform === 'linux')(
    'media.nice: the decoder and the recording encoder run that much nicer than the daemon; a reload with a new value restarts the camera with it',
    async () => {
      const clip = makeTestVideo(join(dir, 'nice.mp4'), { width: 320, height: 240, fps: 10, frames: 20 });
      const cfg = join(dir, 'nice.yaml');
      const write = (nice: number) =>
        writeFileSync(
          cfg,
          `model: {path: ${MODEL}}\ncameras:\n  cam: {source: ${clip}, loop: true, realtime: true, record: {path: ${join(dir, 'nice-rec')}}}\nmqtt: {url: ${broker.url}, topic_prefix: nice}\nhttp: {enabled: false}\nrtsp_server: {enabled: false}\nmedia: {nice: ${nice}}\n`,
        );
      write(3);
      const sub = await collectMessages(broker.url, 'nice/cam/status');
      const daemon = startDaemon(cfg);
      const pid = daemon.proc.pid as number;
      /** nice values of the daemon's ffmpeg children's threads, once it has a decoder and an encoder */
      const childNices = async () => {
        for (let i = 0; i < 100; i++) {
          const kids = childrenNamed(pid, 'ffmpeg');
          if (kids.length >= 2) return new Set(kids.flatMap((k) => threadNices(k)));
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('the daemon never ran a decoder and an encoder');
      };
      try {
        const base = threadNices(pid)[0];
        await sub.waitFor((ms) => statusOf(ms, 'nice/cam/status').some((x) => x.state === 'streaming'), 45_000);
        expect(await childNices()).toEqual(new Set([base + 3]));
        const before = sub.messages.length;
        write(8);
        daemon.proc.kill('SIGHUP');
        await sub.waitFor((ms) => statusOf(ms.slice(before), 'nice/cam/status').some((x) => x.state === 'streaming'), 20_000);
        await new Promise((r) => setTimeout(r, 500));
        expect(await childNices()).toEqual(new Set([base + 8]));
        daemon.proc.kill('SIGTERM');
        expect(await daemon.exit).toBe(0);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- daemon output ---\n${daemon.out().slice(-3000)}`);
      } finally {
        if (daemon.proc.exitCode === null) daemon.proc.kill('SIGKILL');
        await sub.close();
      }
    },
    120_000,
  );

  it('a taken RTSP port stops the daemon at start with one line and exit 1', async () => {
    const blocker = createServer(() => undefined);
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r));
    const port = (blocker.address() as { port: number }).port;
    const clip = makeTestVideo(join(dir, 'port.mp4'), { width: 64, height: 48, fps: 5, frames: 5 });
    const cfg = join(dir, 'port.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}}\ncameras:\n  cam: {source: ${clip}, rtsp_out: true, record: {enabled: false}}\nmqtt: {enabled: false}\nrtsp_server: {port: ${port}}\nhttp: {enabled: false, auth: ${TEST_AUTH_YAML}}\n`,
    );
    try {
      const r = await runCli(['run', '-c', cfg]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`rtsp_server: cannot listen on 0.0.0.0:${port}: port ${port} is already in use (set rtsp_server.port to a free port)`);
    } finally {
      blocker.close();
    }
  });
});
