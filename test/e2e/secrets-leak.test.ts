/**
 * Planted secrets never leave the daemon: a run with camera URLs holding passwords and tokens
 * (one refused by an RTSP server that wants other credentials, through ffmpeg; one on a closed
 * port, through GStreamer), an MQTT password in a password file, and an HTTP password. Every
 * output is searched for every planted secret, as written and percent-encoded: the daemon's
 * stdout and stderr, every MQTT message on `#`, /metrics, /healthz, and check-config (a good and
 * a broken config).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspDigestAuth } from '../../daemon/sinks/rtsp-auth.js';
import { RtspServer } from '../../daemon/sinks/rtsp-server.js';
import { CLI, MODEL, logLines, runCli } from '../support/cli.js';
import { collectMessages, freePort, startMosquitto, until, type Mosquitto } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const CAM_PASSWORD = 'Cam@Pw:Plant1';
const CAM_TOKEN = 'TokPlant2';
const GST_PASSWORD = 'GstPlant3';
const GST_QUERY_PASSWORD = 'PwPlant4';
const MQTT_PASSWORD = 'MqPlant5';
const HTTP_PASSWORD = 'HttpPlant6';
const BROKEN_PASSWORD = 'BadPlant7';

const { dir, cleanup } = tempDir('secrets-leak');
let broker: Mosquitto;
let camServer: RtspServer;

beforeAll(async () => {
  broker = await startMosquitto({ auth: { username: 'mq', password: MQTT_PASSWORD } });
  // an RTSP server that wants other credentials: ffmpeg gets 401 and says so
  camServer = new RtspServer({ auth: new RtspDigestAuth({ username: 'camuser', password: 'not-the-planted-one' }) });
  await camServer.listen(0, '127.0.0.1');
  camServer.mount('s');
});
afterAll(async () => {
  await camServer?.close();
  await broker?.stop();
  cleanup();
});

/** every way a secret could show up */
function forms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])];
}

function leaks(where: string, text: string, secrets: string[]): string[] {
  const found: string[] = [];
  for (const s of secrets) for (const f of forms(s)) if (text.includes(f)) found.push(`${where}: ${f}`);
  return found;
}

describe('a daemon run with planted secrets', () => {
  it('shows none of them in its logs, its MQTT messages, /metrics, /healthz or check-config', async () => {
    const clip = makeTestVideo(join(dir, 'clip.mp4'), { width: 160, height: 120, frames: 30, fps: 15 });
    const closedPort = await freePort();
    const httpPort = await freePort();
    const pwFile = join(dir, 'mqtt-password');
    writeFileSync(pwFile, `${MQTT_PASSWORD}\n`);
    const camUrl = `rtsp://camuser:${encodeURIComponent(CAM_PASSWORD)}@127.0.0.1:${camServer.port}/s?token=${CAM_TOKEN}&channel=1`;
    const gstUrl = `rtsp://gstuser:${GST_PASSWORD}@127.0.0.1:${closedPort}/live?password=${GST_QUERY_PASSWORD}`;
    const cfg = join(dir, 'config.yaml');
    writeFileSync(
      cfg,
      `model: {path: ${MODEL}, threads: 1}
state_dir: ${join(dir, 'state')}
cameras:
  good: {source: ${clip}, loop: true, record: {enabled: false}}
  refused: {source: "${camUrl}", decoder: ffmpeg, stall_timeout_seconds: 2, record: {enabled: false}}
  closed: {source: "${gstUrl}", decoder: gstreamer, stall_timeout_seconds: 2, record: {enabled: false}}
mqtt: {url: "mqtt://mq@127.0.0.1:${broker.port}", password_file: ${pwFile}, topic_prefix: leak, stats_interval_seconds: 1}
rtsp_server: {enabled: false}
http: {host: 127.0.0.1, port: ${httpPort}, auth: {password: ${HTTP_PASSWORD}}}
`,
    );
    const sub = await collectMessages(broker.url, '#', { username: 'mq', password: MQTT_PASSWORD });
    const proc = spawn(process.execPath, [CLI, 'run', '-c', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    const auth = { authorization: `Basic ${Buffer.from(`admin:${HTTP_PASSWORD}`).toString('base64')}` };
    let metrics = '';
    let healthz = '';
    try {
      await until(() => logLines(stdout).some((l) => l.msg === 'running'), 60_000, `the daemon to run (${stderr})`);
      // both bad cameras failed (the refused one with the 401 it is meant to get) and stats went out
      const status = (cam: string) => sub.messages.filter((m) => m.topic === `leak/${cam}/status`).map((m) => m.payload);
      await until(
        () =>
          status('refused').some((p) => /401|unauthori[sz]ed/i.test(p)) &&
          status('closed').some((p) => /reconnecting|error/.test(p)) &&
          sub.messages.some((m) => m.topic === 'leak/stats'),
        90_000,
        'a 401 for the refused camera, a failure of the closed one, and stats',
      );
      metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: auth })).text();
      healthz = await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).text();
      expect(metrics).toContain('trt_detect_camera_state{camera="refused"');
      expect(healthz).toContain('"refused"');
    } finally {
      proc.kill('SIGTERM');
    }
    const code = await exited;
    expect(code, `${stderr}\n${stdout.slice(-3000)}`).toBe(0);
    await sub.close();

    const good = await runCli(['check-config', '-c', cfg]);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('rtsp://camuser:***@127.0.0.1');
    // a broken config that quotes the bad values in its error lines
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      `model: {path: ${MODEL}}\ncameras:\n  a: {source: "rtsp:/u:${BROKEN_PASSWORD}@h/s"}\n  b: {source: "ftp://u:${BROKEN_PASSWORD}@h/s?token=${CAM_TOKEN}"}\nmqtt: {url: "http://mq:${MQTT_PASSWORD}@h"}\n`,
    );
    const bad = await runCli(['check-config', '-c', broken]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('cameras.a.source');

    const token = readFileSync(join(dir, 'state', 'api-token'), 'utf8').trim();
    const secrets = [CAM_PASSWORD, CAM_TOKEN, GST_PASSWORD, GST_QUERY_PASSWORD, MQTT_PASSWORD, HTTP_PASSWORD, BROKEN_PASSWORD, token];
    const mqttText = sub.messages.map((m) => `${m.topic} ${m.payload}`).join('\n');
    expect(sub.messages.length).toBeGreaterThan(10);
    expect(stdout).toContain('rtsp://camuser:***@127.0.0.1');
    expect(stdout).toContain('token=***');
    expect([
      ...leaks('stdout', stdout, secrets),
      ...leaks('stderr', stderr, secrets),
      ...leaks('mqtt', mqttText, secrets),
      ...leaks('/metrics', metrics, secrets),
      ...leaks('/healthz', healthz, secrets),
      ...leaks('check-config', good.stdout + good.stderr, secrets),
      ...leaks('check-config (broken)', bad.stdout + bad.stderr, secrets),
    ]).toEqual([]);
  }, 180_000);
});
