/**
 * trt-detect under a real systemd: scripts/install into a throwaway systemd booted as PID 1 of its
 * own namespaces (test/systemd/boot-systemd.sh: overlay root, private /tmp, /run, network and
 * cgroups, only our units), a mosquitto inside it, then systemctl start / reload / watchdog
 * restart / stop. The namespace is powered off at the end, also when a test fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { until } from '../support/mosquitto.js';
import { makeTestVideo, tempDir } from '../support/videos.js';

const BOOT = join(ROOT, 'test', 'systemd', 'boot-systemd.sh');

/** Why a real systemd cannot be booted here, or null when it can. */
function whyNoSystemd(): string | null {
  if (process.env.TRT_SKIP_SYSTEMD_TESTS) return 'TRT_SKIP_SYSTEMD_TESTS is set';
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (namespaces, mounts, cgroups)';
  if (!existsSync('/lib/systemd/systemd')) return 'systemd is not installed (apt-get install systemd)';
  for (const tool of ['unshare', 'nsenter', 'setpriv']) if (spawnSync(tool, ['--version']).status !== 0) return `${tool} missing (apt-get install util-linux)`;
  if (!existsSync('/usr/sbin/mosquitto') || spawnSync('mosquitto_sub', ['--help']).error)
    return 'mosquitto/mosquitto_sub missing (apt-get install mosquitto mosquitto-clients)';
  if (!readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n')) return 'the kernel has no overlayfs';
  const probe = spawnSync(
    'unshare',
    ['--mount', '--pid', '--fork', '--net', '--uts', '--ipc', '--cgroup', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs probe /mnt'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return `cannot create namespaces and mounts here (${probe.stderr.trim().split('\n')[0]})`;
  const cg = ['/sys/fs/cgroup/cgroup.controllers', '/sys/fs/cgroup/unified/cgroup.controllers'].find(existsSync);
  if (!cg) return 'no cgroup v2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified';
  return null;
}

const skipReason = whyNoSystemd();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const { dir, cleanup } = tempDir('systemd');
let boot: ChildProcess | null = null;
let pid = 0; // host pid of the namespaced systemd
let sub: ChildProcess | null = null;
const mqtt: Array<{ topic: string; payload: string }> = [];

/** Runs a command inside the namespaces (as root, in its root directory). */
function inside(cmd: string[], timeoutMs = 120_000, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), '-m', '-p', '-n', '-u', '-i', '-C', '-r', '-w', '--', ...cmd], {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd.join(' ')}: no result in ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) {
      child.stdin!.on('error', () => undefined); // a command that exits without reading its input
      child.stdin!.end(input);
    }
  });
}

async function show(...props: string[]): Promise<Record<string, string>> {
  const r = await inside(['systemctl', 'show', 'trt-detect.service', ...props.map((p) => `--property=${p}`)]);
  const out: Record<string, string> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

async function journal(): Promise<string> {
  return (await inside(['journalctl', '--no-pager', '-o', 'cat', '-u', 'trt-detect.service'])).stdout;
}

async function eventually(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- journal ---\n${await journal()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Masks for every unit the stock targets would pull in, except the journal. */
function writeUnits(units: string): void {
  mkdirSync(units, { recursive: true });
  const keep = new Set(['systemd-journald.service', 'systemd-journald.socket', 'systemd-journald-dev-log.socket', 'systemd-journal-flush.service']);
  const mask = new Set([
    'systemd-tmpfiles-setup.service',
    'systemd-tmpfiles-setup-dev.service',
    'systemd-tmpfiles-clean.timer',
    'systemd-tmpfiles-clean.service',
    'systemd-networkd.service',
    'systemd-networkd.socket',
    'systemd-resolved.service',
    'systemd-timesyncd.service',
    'systemd-udevd.service',
    'systemd-udev-trigger.service',
    'systemd-udev-settle.service',
    'systemd-udevd-control.socket',
    'systemd-udevd-kernel.socket',
    'systemd-sysctl.service',
    'systemd-modules-load.service',
    'systemd-binfmt.service',
    'proc-sys-fs-binfmt_misc.automount',
    'proc-sys-fs-binfmt_misc.mount',
    'systemd-journald-audit.socket',
    'systemd-remount-fs.service',
    'systemd-random-seed.service',
    'systemd-logind.service',
    'getty.target',
    'console-getty.service',
    'dbus.service',
    'dbus.socket',
    'mosquitto.service',
    'systemd-firstboot.service',
    'systemd-machine-id-commit.service',
    'systemd-hwdb-update.service',
  ]);
  for (const target of ['sysinit', 'sockets', 'timers', 'paths', 'local-fs', 'basic', 'multi-user', 'remote-fs']) {
    for (const base of ['/lib/systemd/system', '/usr/lib/systemd/system', '/etc/systemd/system']) {
      const wants = join(base, `${target}.target.wants`);
      if (existsSync(wants)) for (const u of readdirSync(wants)) if (!keep.has(u) && !u.endsWith('.target')) mask.add(u);
    }
  }
  for (const u of mask) symlinkSync('/dev/null', join(units, u));
  writeFileSync(
    join(units, 'trt-test.target'),
    '[Unit]\nDescription=trt-detect test target\nWants=systemd-journald.socket test-mosquitto.service\nAfter=systemd-journald.socket\n',
  );
  writeFileSync(
    join(units, 'test-mosquitto.service'),
    '[Unit]\nDescription=test broker\n[Service]\nExecStart=/usr/sbin/mosquitto -c /srv/trt-test/mosquitto.conf\n',
  );
}

function daemonConfig(cameras: string): string {
  return `base_dir: /opt/trt-detect
model: {path: models/ssd-traffic.onnx, threads: 1}
cameras:
${cameras}mqtt: {url: 'mqtt://127.0.0.1:1883', topic_prefix: td, stats_interval_seconds: 2}
rtsp_server: {enabled: false}
http: {host: 127.0.0.1, port: 9100}
`;
}
const CAM_FRONT =
  '  front: {source: /var/lib/trt-detect/front.mp4, loop: true, record: {enabled: true, path: /var/lib/trt-detect/recordings, segment_seconds: 60}}\n';
const CAM_SECOND = '  second: {source: /var/lib/trt-detect/second.mp4, loop: true, record: {enabled: false}}\n';

async function putConfig(text: string): Promise<void> {
  const r = await inside(
    [
      'sh',
      '-c',
      'cat > /etc/trt-detect/config.yaml.new && chgrp trt-detect /etc/trt-detect/config.yaml.new && chmod 0640 /etc/trt-detect/config.yaml.new && mv /etc/trt-detect/config.yaml.new /etc/trt-detect/config.yaml',
    ],
    10_000,
    text,
  );
  expect(r.code, r.stderr).toBe(0);
}

const received = (topic: string, payload?: (p: string) => boolean) => mqtt.some((m) => m.topic === topic && (!payload || payload(m.payload)));

describe.skipIf(skipReason !== null)(`trt-detect under a real systemd${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    const units = join(dir, 'units');
    const share = join(dir, 'share');
    writeUnits(units);
    mkdirSync(share);
    writeFileSync(join(share, 'mosquitto.conf'), 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n');
    makeTestVideo(join(share, 'front.mp4'), { frames: 150, fps: 15 });
    copyFileSync(join(ROOT, 'test', 'systemd', 'fake-tensorrt-addon.cjs'), join(share, 'fake-tensorrt-addon.cjs'));
    copyFileSync(join(share, 'front.mp4'), join(share, 'second.mp4'));
    boot = spawn('bash', [BOOT, 'boot', dir], { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
    let bootErr = '';
    boot.stderr!.on('data', (d: Buffer) => (bootErr += d.toString()));
    const unsharePid = boot.pid as number;
    await until(
      () => {
        try {
          const kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
          if (!kids) return false;
          pid = Number(kids.split(' ')[0]);
          // systemd runs and its private socket (what systemctl talks to) exists
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd' && existsSync(`/proc/${pid}/root/run/systemd/private`);
        } catch {
          return boot?.exitCode !== null
            ? (() => {
                throw new Error(`boot-systemd.sh failed: ${bootErr}`);
              })()
            : false;
        }
      },
      30_000,
      `systemd to boot (${bootErr})`,
    );
    const running = await inside(['systemctl', 'is-system-running', '--wait'], 60_000);
    expect(running.stdout.trim(), `${running.stdout}${running.stderr}\n${(await inside(['systemctl', '--failed', '--no-pager'])).stdout}`).toBe('running');
    // a subscriber inside the namespace's network
    sub = spawn('nsenter', ['-t', String(pid), '-m', '-p', '-n', '-u', '-i', '-C', '-r', '-w', '--', 'mosquitto_sub', '-h', '127.0.0.1', '-t', 'td/#', '-v'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buf = '';
    sub.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const sp = line.indexOf(' ');
        mqtt.push({ topic: line.slice(0, sp), payload: line.slice(sp + 1) });
      }
    });
  }, 180_000);

  afterAll(async () => {
    sub?.kill();
    if (pid > 1) spawnSync('bash', [BOOT, 'stop', dir, String(pid)], { stdio: 'inherit', timeout: 60_000 });
    // not booted (yet): the unshare process takes its namespace along
    if (boot && boot.exitCode === null && boot.signalCode === null) boot.kill('SIGKILL');
    if (existsSync(join(dir, 'cgroup'))) spawnSync('bash', [BOOT, 'stop', dir], { timeout: 10_000 });
    cleanup();
  }, 90_000);

  it('installs with scripts/install: user, state dir, config, enabled unit that systemd-analyze verify accepts', async () => {
    const r = await inside(['bash', join(ROOT, 'scripts', 'install'), '--no-build'], 180_000);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('enabled trt-detect.service');
    expect((await inside(['id', '-nG', 'trt-detect'])).stdout.trim().split(' ')).toEqual(expect.arrayContaining(['trt-detect', 'video']));
    expect((await inside(['systemctl', 'is-enabled', 'trt-detect.service'])).stdout.trim()).toBe('enabled');
    const verify = await inside(['systemd-analyze', 'verify', '/etc/systemd/system/trt-detect.service']);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    // test settings: a short watchdog, no core dumps of the aborted daemon; a node option as README shows it
    const dropin = await inside([
      'sh',
      '-c',
      'mkdir -p /etc/systemd/system/trt-detect.service.d && printf "[Service]\\nWatchdogSec=8s\\nRestartSec=1s\\nLimitCORE=0\\nEnvironment=TRT_DETECT_NODE_OPTIONS=--max-semi-space-size=2\\n" > /etc/systemd/system/trt-detect.service.d/test.conf && systemctl daemon-reload',
    ]);
    expect(dropin.code, dropin.stderr).toBe(0);
    const clips = await inside([
      'sh',
      '-c',
      'cp /srv/trt-test/front.mp4 /srv/trt-test/second.mp4 /var/lib/trt-detect/ && chown trt-detect: /var/lib/trt-detect/*.mp4',
    ]);
    expect(clips.code, clips.stderr).toBe(0);
    await putConfig(daemonConfig(CAM_FRONT));
  }, 240_000);

  it('systemctl start returns once READY=1: active, status line, online on MQTT, /healthz 200, /metrics behind the generated password', async () => {
    const start = await inside(['systemctl', 'start', 'trt-detect.service'], 150_000);
    expect(start.code, `${start.stderr}\n${await journal()}`).toBe(0);
    const s = await show('ActiveState', 'SubState', 'StatusText', 'MainPID', 'User');
    expect(s).toMatchObject({ ActiveState: 'active', SubState: 'running', User: 'trt-detect' });
    expect(s.StatusText).toMatch(/^1\/1 cameras streaming, [0-9.]+ fps$/);
    // the hardening is in force: unprivileged, no new privileges, a seccomp filter, no capabilities
    const status = (await inside(['cat', `/proc/${s.MainPID}/status`])).stdout;
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).not.toMatch(/^Uid:\s+0\s/m);
    // TRT_DETECT_NODE_OPTIONS reached node's own command line, before the script
    const argv = (await inside(['cat', `/proc/${s.MainPID}/cmdline`])).stdout.split('\0');
    expect(argv.indexOf('--max-semi-space-size=2'), argv.join(' ')).toBe(1);
    expect(argv[2]).toMatch(/\/dist\/daemon\/cli\/main\.js$/);
    await until(() => received('td/status', (p) => p === 'online'), 10_000, 'td/status online');
    await until(() => received('td/front/status', (p) => JSON.parse(p).state === 'streaming'), 10_000, 'front streaming');
    const health = await inside([
      'node',
      '-e',
      "require('http').get('http://127.0.0.1:9100/healthz', (r) => { process.stdout.write(String(r.statusCode)); process.exit(0); })",
    ]);
    expect(health.stdout).toBe('200');
    // the first start generated the login into the state folder (readable by the service only) and said where, once
    const pwFile = await inside(['stat', '-c', '%a %U', '/var/lib/trt-detect/http-password', '/var/lib/trt-detect/api-token']);
    expect(pwFile.stdout.trim().split('\n')).toEqual(['600 trt-detect', '600 trt-detect']);
    const password = (await inside(['cat', '/var/lib/trt-detect/http-password'])).stdout.trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const log = await journal();
    expect(log.split('\n').filter((l) => l.includes('generated one into /var/lib/trt-detect/http-password'))).toHaveLength(1);
    expect(log).not.toContain(password);
    const get = (auth: string) =>
      inside([
        'node',
        '-e',
        `require('http').get({ host: '127.0.0.1', port: 9100, path: '/metrics', auth: ${JSON.stringify(auth)} || undefined }, (r) => { process.stdout.write(String(r.statusCode)); process.exit(0); })`,
      ]);
    expect((await get('')).stdout).toBe('401');
    expect((await get(`admin:${password}`)).stdout).toBe('200');
  }, 180_000);

  it('systemctl reload applies a valid change without restarting unchanged cameras, and rejects a broken config', async () => {
    const { MainPID } = await show('MainPID');
    const frontStarts = mqtt.filter((m) => m.topic === 'td/front/status' && JSON.parse(m.payload).state === 'starting').length;
    await putConfig(daemonConfig(CAM_FRONT + CAM_SECOND));
    expect((await inside(['systemctl', 'reload', 'trt-detect.service'])).code).toBe(0);
    await until(() => received('td/second/status', (p) => JSON.parse(p).state === 'streaming'), 30_000, 'the added camera streaming');
    await eventually('config reloaded in the journal', async () => (await journal()).includes('config reloaded'), 10_000);
    expect(mqtt.filter((m) => m.topic === 'td/front/status' && JSON.parse(m.payload).state === 'starting').length).toBe(frontStarts);

    await putConfig('cameras: [this is not: valid\n');
    expect((await inside(['systemctl', 'reload', 'trt-detect.service'])).code).toBe(0);
    await eventually('the rejection in the journal', async () => /reload rejected: .*config\.yaml/.test(await journal()), 10_000);
    await eventually('back to READY with both cameras', async () => /^2\/2 cameras streaming/.test((await show('StatusText')).StatusText), 15_000);
    const s = await show('ActiveState', 'MainPID');
    expect(s).toEqual({ ActiveState: 'active', MainPID });
    await putConfig(daemonConfig(CAM_FRONT + CAM_SECOND)); // valid again, for the restart below
  }, 120_000);

  it('a wedged pipeline stops the watchdog pings: systemd kills and restarts the daemon', async () => {
    const { MainPID } = await show('MainPID');
    // freeze the decoder of camera front (the ffmpeg child that reads front.mp4); second keeps running
    const ps = await inside(['sh', '-c', `for p in $(cat /proc/${MainPID}/task/*/children); do echo "$p $(tr '\\0' ' ' < /proc/$p/cmdline)"; done`]);
    const decoder = ps.stdout.split('\n').find((l) => /ffmpeg .*-i \S*front\.mp4/.test(l));
    expect(decoder, ps.stdout).toBeDefined();
    const frozen = decoder!.trim().split(/\s+/)[0];
    expect((await inside(['kill', '-STOP', frozen])).code).toBe(0);
    await eventually(
      'a restart by the watchdog',
      async () => {
        const s = await show('NRestarts', 'MainPID', 'ActiveState');
        return Number(s.NRestarts) >= 1 && s.MainPID !== MainPID && s.MainPID !== '0' && s.ActiveState === 'active';
      },
      60_000,
    );
    const log = await journal();
    expect(log).toMatch(/Watchdog timeout/);
    expect(log).toMatch(/camera pipeline stalled: front/);
    await eventually('READY again after the restart', async () => /^2\/2 cameras streaming/.test((await show('StatusText')).StatusText), 60_000);
  }, 150_000);

  it('systemctl stop: clean exit 0 within 10 s, offline on MQTT, a playable last recording', async () => {
    const offlineBefore = mqtt.filter((m) => m.topic === 'td/status' && m.payload === 'offline').length;
    const t0 = Date.now();
    const stop = await inside(['systemctl', 'stop', 'trt-detect.service'], 60_000);
    const took = Date.now() - t0;
    expect(stop.code).toBe(0);
    expect(took).toBeLessThan(10_000);
    const s = await show('ActiveState', 'Result', 'ExecMainStatus');
    expect(s).toEqual({ ActiveState: 'inactive', Result: 'success', ExecMainStatus: '0' });
    const last = (await journal())
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; code?: number });
    expect(last.filter((l) => l.msg === 'stopped').pop()).toMatchObject({ code: 0 });
    await until(() => mqtt.filter((m) => m.topic === 'td/status' && m.payload === 'offline').length > offlineBefore, 10_000, 'td/status offline');
    const files = (await inside(['sh', '-c', 'ls -t $(find /var/lib/trt-detect/recordings/front -name "*.mp4")'])).stdout.trim().split('\n');
    expect(files[0]).toMatch(/^\/var\/lib\/trt-detect\/recordings\/front\/\d{4}-\d{2}-\d{2}\/\d{2}-\d{2}-\d{2}\.mp4$/);
    const probe = await inside([
      'ffprobe',
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=nb_read_frames,codec_name',
      '-of',
      'csv=p=0',
      files[0],
    ]);
    expect(probe.stderr).toBe('');
    const [codec, frames] = probe.stdout.trim().split(',');
    expect(codec).toBe('h264');
    expect(Number(frames)).toBeGreaterThan(0);
  }, 90_000);

  describe('a first start that builds a TensorRT engine (a slow stand-in build: test/systemd/fake-tensorrt-addon.cjs)', () => {
    const ENGINES = '/var/lib/trt-detect/engines';
    const BUILD_SECONDS = 24;
    const trtConfig = () => daemonConfig(CAM_FRONT).replace('threads: 1}', 'threads: 1, backend: tensorrt, precision: fp16}');
    const partials = async () => (await inside(['sh', '-c', `ls ${ENGINES} 2>/dev/null | grep '\\.tmp\\.' || true`])).stdout.trim();

    beforeAll(async () => {
      // TimeoutStartSec well below the build: only EXTEND_TIMEOUT_USEC keeps systemd from killing it
      const r = await inside([
        'sh',
        '-c',
        `cp /srv/trt-test/fake-tensorrt-addon.cjs /var/lib/trt-detect/ && chown trt-detect: /var/lib/trt-detect/fake-tensorrt-addon.cjs && ` +
          `printf "[Service]\\nTimeoutStartSec=8s\\nEnvironment=TRT_DETECT_ADDON=/var/lib/trt-detect/fake-tensorrt-addon.cjs\\nEnvironment=TRT_FAKE_BUILD_SECONDS=${BUILD_SECONDS}\\n" > /etc/systemd/system/trt-detect.service.d/zz-engine-build.conf && systemctl daemon-reload`,
      ]);
      expect(r.code, r.stderr).toBe(0);
      await putConfig(trtConfig());
    }, 30_000);

    afterAll(async () => {
      await inside([
        'sh',
        '-c',
        `systemctl stop trt-detect.service; rm -rf /etc/systemd/system/trt-detect.service.d/zz-engine-build.conf ${ENGINES}; systemctl daemon-reload`,
      ]);
    }, 60_000);

    it('outlasts TimeoutStartSec by extending it while the engine builds, then streams with the built engine', async () => {
      const t0 = Date.now();
      const start = await inside(['systemctl', 'start', 'trt-detect.service'], 120_000);
      const took = Date.now() - t0;
      expect(start.code, `${start.stderr}\n${await journal()}`).toBe(0);
      expect(took).toBeGreaterThan(BUILD_SECONDS * 1000);
      const s = await show('ActiveState', 'NRestarts', 'StatusText');
      expect(s.ActiveState).toBe('active');
      expect(s.NRestarts).toBe('0');
      expect(s.StatusText).toMatch(/^1\/1 cameras streaming/);
      const log = await journal();
      expect(log).toMatch(/built fp16 engine in \d+ s/);
      expect((await inside(['ls', ENGINES])).stdout.split('\n')).toEqual(expect.arrayContaining(['ssd-traffic.fp16.engine', 'ssd-traffic.fp16.engine.json']));
      expect(await partials()).toBe('');
    }, 150_000);

    it('a restart in the middle of a build removes the partial engine, builds again and starts; SIGTERM during the build exits at once', async () => {
      expect((await inside(['systemctl', 'stop', 'trt-detect.service'], 60_000)).code).toBe(0);
      expect((await inside(['rm', '-rf', ENGINES])).code).toBe(0);
      expect((await inside(['systemctl', 'start', '--no-block', 'trt-detect.service'])).code).toBe(0);
      await eventually('a build under way (its partial file)', async () => (await partials()) !== '', 30_000);
      const t0 = Date.now();
      const restart = await inside(['systemctl', 'restart', 'trt-detect.service'], 150_000);
      expect(restart.code, `${restart.stderr}\n${await journal()}`).toBe(0);
      expect(Date.now() - t0).toBeGreaterThan(BUILD_SECONDS * 1000);
      const log = await journal();
      expect(log).toMatch(/stop requested while starting: exiting before the model finished opening/);
      expect(log).toMatch(/ssd-traffic\.fp16\.engine\.tmp\.\d+: removed the partial engine of a build that did not finish/);
      // the stop during the build was a clean exit, not a SIGKILL after TimeoutStopSec
      expect(log).not.toMatch(/State 'stop-sigterm' timed out/);
      expect((await show('ActiveState')).ActiveState).toBe('active');
      expect(await partials()).toBe('');
    }, 240_000);
  });

  it('a bad config fails the start with one clear journal line and is not retried (exit 2)', async () => {
    await putConfig(daemonConfig(CAM_FRONT).replace('threads: 1', 'threads: many'));
    const start = await inside(['systemctl', 'start', 'trt-detect.service'], 60_000);
    expect(start.code).not.toBe(0);
    const s = await show('ActiveState', 'Result', 'ExecMainStatus', 'NRestarts');
    expect(s).toEqual({ ActiveState: 'failed', Result: 'exit-code', ExecMainStatus: '2', NRestarts: '0' });
    expect(await journal()).toMatch(/^\/etc\/trt-detect\/config\.yaml:\d+:\d+: model\.threads: .+$/m);
  }, 90_000);

  it('an option node refuses in TRT_DETECT_NODE_OPTIONS fails the start with one journal line and is not retried (exit 2)', async () => {
    await putConfig(daemonConfig(CAM_FRONT));
    const dropin = await inside([
      'sh',
      '-c',
      'printf "[Service]\\nEnvironment=TRT_DETECT_NODE_OPTIONS=--no-such-node-option\\n" > /etc/systemd/system/trt-detect.service.d/zz-bad-node-option.conf && systemctl daemon-reload',
    ]);
    expect(dropin.code, dropin.stderr).toBe(0);
    try {
      const start = await inside(['systemctl', 'start', 'trt-detect.service'], 60_000);
      expect(start.code).not.toBe(0);
      const s = await show('ActiveState', 'Result', 'ExecMainStatus', 'NRestarts');
      expect(s).toEqual({ ActiveState: 'failed', Result: 'exit-code', ExecMainStatus: '2', NRestarts: '0' });
      expect(await journal()).toMatch(/^trt-detect: TRT_DETECT_NODE_OPTIONS: .*bad option: --no-such-node-option$/m);
    } finally {
      await inside(['sh', '-c', 'rm -f /etc/systemd/system/trt-detect.service.d/zz-bad-node-option.conf && systemctl daemon-reload']);
    }
  }, 90_000);

  it('scripts/uninstall disables and removes the service, keeps config, recordings and user unless --purge', async () => {
    const r = await inside(['bash', join(ROOT, 'scripts', 'uninstall')], 60_000);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect((await inside(['systemctl', 'is-enabled', 'trt-detect.service'])).code).not.toBe(0);
    expect((await inside(['test', '-e', '/opt/trt-detect'])).code).toBe(1);
    expect((await inside(['test', '-f', '/etc/trt-detect/config.yaml'])).code).toBe(0);
    expect((await inside(['test', '-d', '/var/lib/trt-detect/recordings/front'])).code).toBe(0);
    expect((await inside(['id', 'trt-detect'])).code).toBe(0);
    const purge = await inside(['bash', join(ROOT, 'scripts', 'uninstall'), '--purge'], 60_000);
    expect(purge.code, `${purge.stdout}${purge.stderr}`).toBe(0);
    expect((await inside(['test', '-e', '/var/lib/trt-detect'])).code).toBe(1);
    expect((await inside(['test', '-e', '/etc/trt-detect'])).code).toBe(1);
    expect((await inside(['id', 'trt-detect'])).code).not.toBe(0);
  }, 120_000);
});
