// The soak run (scripts/soak): a daemon with two cameras, a looping file and an RTSP camera served
// by GStreamer's gst-rtsp-server (not our own server), and in turn: the broker stopped, the RTSP
// camera killed, the recordings disk filled, SIGKILL mid-segment and a restart, SIGHUP with a
// broken config, SIGTERM. After each it checks that the other camera kept its frame rate, that no
// MQTT message beyond the queue limit was lost, that no child process was left, that RSS did not
// grow, and at the end that every segment plays. Loopback only, bounded in time. Prints a table
// and, with --report FILE, writes it as Markdown.
//   node scripts/soak.mjs [--quick] [--report FILE]   (scripts/soak runs it in a private mount namespace)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'daemon', 'cli', 'main.js');
const MODEL = join(ROOT, 'models', 'ssd-traffic.onnx');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const reportAt = args.indexOf('--report');
const reportFile = reportAt >= 0 ? args[reportAt + 1] : null;
const T = quick ? { broker: 15, camera: 10, disk: 15, settle: 6, baseline: 8 } : { broker: 60, camera: 30, disk: 30, settle: 10, baseline: 20 };
const QUEUE_LIMIT = 150;
const PREFIX = 'soak';
const USER = 'soak';
const PASSWORD = 'soak-pw-Ωx1';

const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const work = mkdtempSync(join(tmpdir(), 'trt-soak-'));
const rows = [];
const failures = [];
const procs = new Set();
function check(step, what, ok, figure) {
  rows.push({ step, what, ok, figure });
  if (!ok) failures.push(`${step}: ${what} (${figure})`);
  process.stdout.write(`[soak] ${ok ? 'ok  ' : 'FAIL'} ${step}: ${what}: ${figure}\n`);
}
const say = (m) => process.stdout.write(`[soak] ${m}\n`);

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function start(cmd, argv, opts = {}) {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  procs.add(p);
  p.out = '';
  p.err = '';
  p.stdout.on('data', (d) => (p.out += d.toString()));
  p.stderr.on('data', (d) => (p.err += d.toString()));
  p.exited = new Promise((r) => p.on('exit', (code, signal) => r({ code, signal })));
  p.exited.then(() => procs.delete(p));
  return p;
}

async function until(what, cond, seconds) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(0.2);
  }
}

// --- the parts -----------------------------------------------------------------------------------
const brokerPort = await freePort();
const rtspInPort = await freePort();
const rtspOutPort = await freePort();
const httpPort = await freePort();
const recordings = join(work, 'recordings');
mkdirSync(recordings);
let diskMounted = false;
if (process.getuid?.() === 0 && process.env.TRT_SOAK_IN_NAMESPACE === '1') {
  // a small disk of its own, private to this mount namespace (scripts/soak), gone with it
  diskMounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'soak-recordings', recordings]).status === 0;
}

writeFileSync(
  join(work, 'mosquitto.conf'),
  `listener ${brokerPort} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${work}/\nautosave_interval 1\nqueue_qos0_messages true\nmax_queued_messages 100000\n`,
);
const startBroker = async () => {
  const b = start('mosquitto', ['-c', join(work, 'mosquitto.conf')]);
  await until('broker', () => canConnect(brokerPort), 10);
  return b;
};
function canConnect(port) {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

const camArgs = [
  join(ROOT, 'test', 'support', 'gst-rtsp-camera.py'),
  '--port',
  String(rtspInPort),
  '--name',
  'cam',
  '--width',
  '320',
  '--height',
  '240',
  '--fps',
  '15',
];
const startCamera = async () => {
  const c = start('/usr/bin/python3', camArgs);
  await until('camera', () => c.out.includes('ready'), 10);
  return c;
};

const clip = join(work, 'clip.mp4');
execFileSync('ffmpeg', [
  '-v',
  'error',
  '-f',
  'lavfi',
  '-i',
  'testsrc2=size=320x240:rate=15',
  '-frames:v',
  '150',
  '-c:v',
  'libx264',
  '-pix_fmt',
  'yuv420p',
  '-g',
  '15',
  clip,
]);

function config({ broken = false } = {}) {
  return `model: {path: ${MODEL}, threads: 1}
detect: {threshold: 0.4}
cameras:
  file: {source: ${clip}, loop: true, realtime: true, rtsp_out: true, record: {enabled: true, path: ${recordings}, segment_seconds: 10, min_free_percent: 5}}
  live: {source: 'rtsp://127.0.0.1:${rtspInPort}/cam', record: {enabled: true, path: ${recordings}, segment_seconds: 10, min_free_percent: 5}}
mqtt: {url: 'mqtt://127.0.0.1:${brokerPort}', topic_prefix: ${PREFIX}, publish: all_frames, queue_limit: ${QUEUE_LIMIT}, stats_interval_seconds: 1, home_assistant: {enabled: false}}
rtsp_server: {host: 127.0.0.1, port: ${rtspOutPort}}
http: {host: 127.0.0.1, port: ${httpPort}, auth: {username: ${USER}, password: '${PASSWORD}'}}
state_dir: ${work}/state
log: {level: info}
${broken ? 'cameras: [this is: not valid\n' : ''}`;
}
const cfgFile = join(work, 'config.yaml');
writeFileSync(cfgFile, config());

const logs = (p) =>
  p.out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    });
const lastStatsLine = (p) =>
  logs(p)
    .filter((l) => l.msg === 'stats')
    .pop() ?? null;
const lastStats = (p) => lastStatsLine(p)?.stats ?? null;
async function health() {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(3000) });
    return await r.json();
  } catch {
    return null;
  }
}
/** mean fps of a camera over `seconds`, sampled from /healthz every second */
async function fpsOver(camera, seconds) {
  const xs = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1);
    const h = await health();
    xs.push(h?.cameras?.[camera]?.fps ?? 0);
  }
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
async function metric(name, camera) {
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
      signal: AbortSignal.timeout(3000),
    });
    const line = (await r.text()).split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`camera="${camera}"`));
    return line ? Number(line.trim().split(/\s+/).pop()) : -1;
  } catch {
    return -1;
  }
}
function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}
const alive = (pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
async function startDaemon() {
  const d = start(process.execPath, [CLI, 'run', '-c', cfgFile]);
  const ok = await until('daemon', () => logs(d).some((l) => l.msg === 'running'), 60);
  if (!ok) throw new Error(`the daemon did not start: ${d.err}${d.out.slice(-2000)}`);
  return d;
}

// --- a subscriber that misses nothing the broker takes (persistent session, QoS 1) -----------------
const received = [];
const sub = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, { clientId: 'soak-subscriber', clean: false, reconnectPeriod: 200 });
sub.on('message', (topic, payload) => {
  const at = Date.now();
  let m = {};
  if (topic.endsWith('/detections') || topic === `${PREFIX}/stats`) {
    try {
      m = JSON.parse(payload.toString());
    } catch {
      /* not ours */
    }
  }
  received.push({ topic, at, camera: m.camera ?? null, frame: m.frame ?? null, t: m.timestamp ? Date.parse(m.timestamp) : at });
});
sub.on('error', () => undefined);

let broker = await startBroker();
await new Promise((r) => sub.once('connect', r));
await new Promise((r) => sub.subscribe(`${PREFIX}/#`, { qos: 1 }, r));
let camera = await startCamera();
let daemon = await startDaemon();
const startedAt = Date.now();

try {
  // --- baseline ---------------------------------------------------------------------------------
  const base = { file: await fpsOver('file', T.baseline), live: 0 };
  base.live = (await health())?.cameras?.live?.fps ?? 0;
  const rss0 = lastStats(daemon)?.rss_mb ?? 0;
  check(
    'baseline',
    'both cameras streaming',
    base.file > 5 && base.live > 5,
    `file ${base.file.toFixed(1)} fps, live ${base.live.toFixed(1)} fps, RSS ${rss0} MB`,
  );

  // --- 1. broker stopped ------------------------------------------------------------------------
  {
    // Accounting between two stats lines S0 (before) and S1 (after the queue drained): with
    // publish: all_frames every inferred frame is one message, and every stats line one more; what
    // the subscriber got of them, against what was made, is what was lost, and that must equal the
    // daemon's own count of dropped messages. What was kept must be the queue limit.
    const S0 = lastStatsLine(daemon);
    const t0 = Date.now();
    broker.kill('SIGTERM');
    await broker.exited;
    const fps = await fpsOver('file', T.broker - 1);
    broker = await startBroker();
    await until('reconnect', () => lastStats(daemon)?.mqtt?.connected && lastStats(daemon).mqtt.queued === 0, 30);
    await sleep(3);
    const S1 = lastStatsLine(daemon);
    // made: everything the publisher took in between (its own counters: confirmed + dropped + still
    // held); delivered: everything under the prefix that the subscriber got in between (a few ms of
    // broker latency at either end)
    const held = (m) => m.published + m.dropped + m.queued;
    const made = held(S1.stats.mqtt) - held(S0.stats.mqtt);
    const [t0s, t1s] = [Date.parse(S0.stats.timestamp), Date.parse(S1.stats.timestamp)];
    const got = received.filter((m) => m.at > t0s && m.at <= t1s).length;
    const lost = made - got;
    const dropped = S1.stats.mqtt.dropped - S0.stats.mqtt.dropped;
    check(`broker stopped ${T.broker} s`, 'the file camera kept its rate', fps > 0.8 * base.file, `${fps.toFixed(1)} fps (baseline ${base.file.toFixed(1)})`);
    // dropped may exceed lost by what was in flight when the broker went (sent, not yet confirmed,
    // then dropped from the full queue although the broker may have had it): about a second's worth
    const secs = (Date.now() - t0) / 1000;
    const slack = Math.max(10, Math.ceil((2 * made) / secs));
    check(
      `broker stopped ${T.broker} s`,
      'no message lost beyond those counted as dropped; the queue kept its limit',
      lost <= dropped + 5 && dropped - lost <= slack && made - lost >= Math.min(made, QUEUE_LIMIT) - 5,
      `${made} made in ${secs.toFixed(0)} s, ${got} delivered, ${lost} lost, ${dropped} counted as dropped (queue_limit ${QUEUE_LIMIT})`,
    );
    // frames of the file camera after the outage: contiguous again (nothing lost once connected)
    const after = received.filter((m) => m.camera === 'file' && m.t > Date.now() - 2500).map((m) => m.frame);
    const gaps = after.slice(1).filter((f, i) => f !== after[i] + 1).length;
    check(
      `broker stopped ${T.broker} s`,
      'reconnected: file camera messages contiguous again',
      after.length > 5 && gaps === 0,
      `${after.length} messages in the last 2.5 s, ${gaps} gaps`,
    );
  }

  // --- 2. RTSP camera killed ----------------------------------------------------------------------
  {
    camera.kill('SIGKILL');
    await camera.exited;
    const fps = await fpsOver('file', T.camera);
    const state = (await health())?.cameras?.live?.state;
    camera = await startCamera();
    const back = await until('live streaming', async () => (await health())?.cameras?.live?.state === 'streaming', 45);
    check(`RTSP camera killed ${T.camera} s`, 'the file camera kept its rate', fps > 0.8 * base.file, `${fps.toFixed(1)} fps`);
    check(
      `RTSP camera killed ${T.camera} s`,
      'the live camera reconnected by itself',
      state !== 'streaming' && back,
      `state during: ${state}; streaming again: ${back}`,
    );
  }

  // --- 3. recordings disk full --------------------------------------------------------------------
  if (diskMounted) {
    const filler = join(recordings, 'filler.bin');
    const before = new Set(['file', 'live'].flatMap((c) => segmentsOf(c)));
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
    const fps = await fpsOver('file', T.disk);
    const h = await health();
    const rtsp = spawnSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-rtsp_transport',
        'tcp',
        '-show_entries',
        'stream=codec_name',
        '-of',
        'csv=p=0',
        `rtsp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${rtspOutPort}/file`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    rmSync(filler, { force: true });
    const t0 = Date.now();
    const resumed = await until(
      'recording again',
      () => {
        const newest = newestSegment('file');
        return newest !== null && statSync(newest).mtimeMs > t0 && statSync(newest).size > 0;
      },
      60,
    );
    check(`disk full ${T.disk} s`, 'the file camera kept its rate', fps > 0.8 * base.file, `${fps.toFixed(1)} fps`);
    check(
      `disk full ${T.disk} s`,
      'RTSP out kept serving',
      rtsp.stdout.trim() === 'h264',
      `ffprobe: ${rtsp.stdout.trim() || rtsp.stderr.trim().split('\n').pop()}`,
    );
    // the recorder may already have freed room by itself (retention on ENOSPC): the log and the error counter tell
    const stopped = logs(daemon).filter((l) => /recording stopped/.test(l.msg ?? '')).length;
    // both cameras record to the full disk; either may be the one that hits it
    const errors = (await metric('trt_detect_recording_errors_total', 'file')) + (await metric('trt_detect_recording_errors_total', 'live'));
    const removed = [...before].filter((f) => !existsSync(f)).length;
    check(
      `disk full ${T.disk} s`,
      'the full disk was handled: reported (a log line, /metrics) or room made by deleting the oldest segments',
      (stopped >= 1 && errors >= 1) || (removed > 0 && h?.cameras?.file?.recording === 'ok'),
      `${stopped} 'recording stopped' line(s), trt_detect_recording_errors_total ${errors} (both cameras), ${removed} old segments deleted to make room, /healthz at the end: ${JSON.stringify(h?.cameras?.file?.recording ?? null)}`,
    );
    check(
      `disk full ${T.disk} s`,
      'recording resumed by itself once space was back',
      resumed,
      resumed ? `within ${((Date.now() - t0) / 1000).toFixed(0)} s` : 'not within 60 s',
    );
  } else {
    check('disk full', 'skipped', true, 'needs root and a private mount namespace (run scripts/soak as root)');
  }

  // --- 4. SIGKILL mid-segment, restart -----------------------------------------------------------
  {
    await sleep(4); // into a segment
    const kids = childrenOf(daemon.pid);
    const cut = newestSegment('file');
    daemon.kill('SIGKILL');
    await daemon.exited;
    const left = await until('children gone', () => kids.every((k) => !alive(k)), 10);
    check('SIGKILL mid-segment', 'no child process left', left, `${kids.length} children, ${kids.filter(alive).length} still running after 10 s`);
    const frames = cut ? countFrames(cut) : 0;
    check('SIGKILL mid-segment', 'the segment cut short plays', frames > 0, `${cut ? cut.slice(recordings.length + 1) : 'none'}: ${frames} frames`);
    daemon = await startDaemon();
    const fps = await fpsOver('file', T.settle);
    check('SIGKILL mid-segment', 'restarted and streaming', fps > 0.8 * base.file, `${fps.toFixed(1)} fps`);
  }

  // --- 5. SIGHUP with a broken config --------------------------------------------------------------
  {
    const rssBefore = lastStats(daemon)?.rss_mb ?? 0;
    writeFileSync(cfgFile, config({ broken: true }));
    daemon.kill('SIGHUP');
    const rejected = await until('rejected', () => logs(daemon).some((l) => /reload rejected/.test(l.msg ?? '')), 15);
    const fps = await fpsOver('file', T.settle);
    const live = (await health())?.cameras?.live?.fps ?? 0;
    writeFileSync(cfgFile, config());
    check(
      'SIGHUP, broken config',
      'rejected, both cameras kept running',
      rejected && fps > 0.8 * base.file && live > 0.8 * base.live,
      `rejected: ${rejected}; file ${fps.toFixed(1)}, live ${live.toFixed(1)} fps`,
    );
    void rssBefore;
  }

  // --- RSS over the second process's life -----------------------------------------------------------
  {
    const series = logs(daemon)
      .filter((l) => l.msg === 'stats')
      .map((l) => l.stats.rss_mb);
    const early = series.slice(3, 8);
    const late = series.slice(-5);
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    check(
      'RSS',
      'did not grow',
      med(late) - med(early) < 40,
      `${med(early)} MB early, ${med(late)} MB late (second process); first process ${rss0} MB at baseline`,
    );
  }

  // --- 6. SIGTERM --------------------------------------------------------------------------------
  {
    const kids = childrenOf(daemon.pid);
    const t0 = Date.now();
    daemon.kill('SIGTERM');
    const end = await daemon.exited;
    const took = (Date.now() - t0) / 1000;
    const left = await until('children gone', () => kids.every((k) => !alive(k)), 5);
    check(
      'SIGTERM',
      'exit 0 within 10 s, no child left',
      end.code === 0 && took < 10 && left,
      `exit ${end.code} in ${took.toFixed(1)} s; ${kids.filter(alive).length} of ${kids.length} children left`,
    );
  }

  // --- every segment plays -------------------------------------------------------------------------
  {
    const segs = ['file', 'live'].flatMap((c) => segmentsOf(c));
    const bad = segs.filter((s) => countFrames(s) === 0);
    check(
      'recordings',
      'every segment plays',
      segs.length > 0 && bad.length === 0,
      `${segs.length} segments, ${bad.length} without a playable frame${bad.length ? `: ${bad.map((b) => b.slice(recordings.length + 1)).join(', ')}` : ''}`,
    );
  }
} catch (err) {
  check('soak', 'ran to the end', false, String(err?.message ?? err));
} finally {
  sub.end(true);
  for (const p of procs) p.kill('SIGKILL');
  if (diskMounted) spawnSync('umount', ['-l', recordings]);
  rmSync(work, { recursive: true, force: true });
}

function segmentsOf(camera) {
  const dir = join(recordings, camera);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((day) =>
      readdirSync(join(dir, day))
        .filter((f) => f.endsWith('.mp4'))
        .sort()
        .map((f) => join(dir, day, f)),
    );
}
function newestSegment(camera) {
  return segmentsOf(camera).pop() ?? null;
}
function countFrames(file) {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  return Number(r.stdout.trim().split('\n')[0]) || 0;
}

const minutes = ((Date.now() - startedAt) / 60000).toFixed(1);
const table = [
  `Soak run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${quick ? 'quick' : 'full'}, ${minutes} min): two cameras (a looping file; an RTSP camera served by gst-rtsp-server), mqtt.queue_limit ${QUEUE_LIMIT}.`,
  '',
  '| step | check | result | figure |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.step} | ${r.what} | ${r.ok ? 'ok' : '**failed**'} | ${r.figure.replace(/\|/g, '\\|')} |`),
  '',
].join('\n');
if (reportFile) writeFileSync(reportFile, table);
say(failures.length ? `${failures.length} check(s) failed:\n  ${failures.join('\n  ')}` : `all ${rows.length} checks held (${minutes} min)`);
process.exit(failures.length ? 1 : 0);
