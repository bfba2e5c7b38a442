import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CameraState } from '../../daemon/core/status.js';
import { silentLogger } from '../../daemon/core/log.js';
import type { CameraView, ServiceView } from '../../daemon/service/metrics.js';
import { EXTEND_EVERY_MS, EXTEND_MS, ServiceNotifier, statusSummary, untilSourcesStarted, watchdogIntervalMs } from '../../daemon/service/notify.js';
import { until } from '../support/mosquitto.js';
import { tempDir } from '../support/videos.js';

interface FakeCamera {
  name: string;
  state: CameraState | 'stopped';
  progress: number;
  fps: number;
}

function viewOf(cams: FakeCamera[]): ServiceView {
  return {
    cameras: () =>
      cams.map((c): CameraView => ({
        name: c.name,
        state: c.state,
        stats:
          c.state === 'stopped'
            ? null
            : {
                state: c.state,
                fps: c.fps,
                frames: c.progress,
                inferred: c.progress,
                dropped: 0,
                reconnects: 0,
                queue_depth: 0,
                inference_ms: 0,
                preprocess_ms: 0,
                postprocess_ms: 0,
                draw_ms: 0,
                encode_ms: 0,
                recording: null,
                recording_error: null,
              },
        decoded: c.progress,
        inference: null,
        error: null,
        progress: c.progress,
      })),
    mqtt: () => null,
  };
}

describe('watchdogIntervalMs', () => {
  it('reads WATCHDOG_USEC, only for our pid when WATCHDOG_PID is set', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 1234)).toBe(30000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1234' }, 1234)).toBe(30000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '99' }, 1234)).toBeNull();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 1234)).toBeNull();
    expect(watchdogIntervalMs({}, 1234)).toBeNull();
  });
});

describe('statusSummary', () => {
  it('counts streaming cameras, sums their fps and names the others', () => {
    const v = viewOf([
      { name: 'a', state: 'streaming', progress: 1, fps: 12.25 },
      { name: 'b', state: 'streaming', progress: 1, fps: 10 },
      { name: 'c', state: 'reconnecting', progress: 1, fps: 3 },
    ]);
    expect(statusSummary(v.cameras())).toBe('2/3 cameras streaming, 22.3 fps; c reconnecting');
    expect(statusSummary([])).toBe('no cameras enabled');
  });
});

describe('ServiceNotifier decisions', () => {
  const env = { NOTIFY_SOCKET: '/run/fake', WATCHDOG_USEC: '2000000' };

  it('does nothing without NOTIFY_SOCKET', () => {
    const sent: string[] = [];
    const n = new ServiceNotifier({ view: viewOf([]), logger: silentLogger(), env: {}, send: (s) => (sent.push(s), true) });
    n.ready();
    n.tick();
    n.stopping();
    expect(n.enabled).toBe(false);
    expect(sent).toEqual([]);
  });

  it('pings only while every streaming camera makes progress', () => {
    const cams: FakeCamera[] = [
      { name: 'front', state: 'streaming', progress: 0, fps: 5 },
      { name: 'file', state: 'ended', progress: 7, fps: 0 },
    ];
    const sent: string[] = [];
    const n = new ServiceNotifier({ view: viewOf(cams), logger: silentLogger(), env, send: (s) => (sent.push(s), true) });
    expect(n.watchdogMs).toBe(2000);
    expect(n.tickMs).toBe(1000);
    const t0 = Date.now();
    n.ready();
    n.close(); // drive ticks by hand
    expect(sent.shift()).toBe('READY=1\nSTATUS=1/2 cameras streaming, 5.0 fps; file ended');
    cams[0].progress = 5;
    n.tick(t0 + 1000);
    expect(sent.shift()).toBe('WATCHDOG=1\nSTATUS=1/2 cameras streaming, 5.0 fps; file ended');
    n.tick(t0 + 1900); // no new frame yet, but less than one period since the last one
    expect(sent.shift()).toMatch(/^WATCHDOG=1\n/);
    n.tick(t0 + 2100); // no frame for more than a period: wedged
    expect(sent.shift()).toBe('STATUS=stalled: front made no progress');
    n.tick(t0 + 3100);
    expect(sent.shift()).toBe('STATUS=stalled: front made no progress');
    cams[0].progress = 6; // it recovers
    n.tick(t0 + 3200);
    expect(sent.shift()).toMatch(/^WATCHDOG=1\n/);
    cams[0].state = 'reconnecting'; // waiting for a camera is not a wedge
    n.tick(t0 + 9000);
    expect(sent.shift()).toBe('WATCHDOG=1\nSTATUS=0/2 cameras streaming, 0.0 fps; front reconnecting, file ended');
    cams[0].state = 'streaming'; // back: a fresh period of grace
    n.tick(t0 + 9500);
    expect(sent.shift()).toMatch(/^WATCHDOG=1\n/);
    n.tick(t0 + 10600);
    expect(sent.shift()).toBe('STATUS=stalled: front made no progress');
    n.reloading();
    expect(sent.shift()).toBe('RELOADING=1\nSTATUS=reloading the configuration');
    n.stopping('SIGTERM');
    expect(sent.shift()).toBe('STOPPING=1\nSTATUS=stopping (SIGTERM)');
    n.tick(t0 + 20000);
    n.ready();
    expect(sent).toEqual([]); // nothing after STOPPING=1
  });

  it('sends STATUS= without WATCHDOG=1 when systemd set no watchdog', () => {
    const sent: string[] = [];
    const n = new ServiceNotifier({
      view: viewOf([{ name: 'a', state: 'streaming', progress: 1, fps: 2 }]),
      logger: silentLogger(),
      env: { NOTIFY_SOCKET: '/run/fake' },
      send: (s) => (sent.push(s), true),
      statusIntervalMs: 5000,
    });
    expect(n.watchdogMs).toBeNull();
    expect(n.tickMs).toBe(5000);
    n.ready();
    n.close();
    n.tick(Date.now() + 1);
    expect(sent).toEqual(['READY=1\nSTATUS=1/1 cameras streaming, 2.0 fps', 'STATUS=1/1 cameras streaming, 2.0 fps']);
  });

  it('during a long step (an engine build) extends the start timeout every 20 s until the step ends', () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      const n = new ServiceNotifier({ view: viewOf([]), logger: silentLogger(), env: { NOTIFY_SOCKET: '/run/fake' }, send: (s) => (sent.push(s), true) });
      n.longStep('building the TensorRT engine');
      expect(sent).toEqual([`EXTEND_TIMEOUT_USEC=${EXTEND_MS * 1000}\nSTATUS=building the TensorRT engine (0 s so far; minutes on a Jetson Nano)`]);
      vi.advanceTimersByTime(EXTEND_EVERY_MS * 3);
      expect(sent).toHaveLength(4);
      expect(sent[3]).toMatch(/^EXTEND_TIMEOUT_USEC=60000000\nSTATUS=building the TensorRT engine \(60 s so far/);
      // each extension outlasts the gap to the next one
      expect(EXTEND_MS).toBeGreaterThan(2 * EXTEND_EVERY_MS);
      n.longStep(null);
      vi.advanceTimersByTime(EXTEND_EVERY_MS * 3);
      expect(sent).toHaveLength(4);
      // not under systemd: nothing
      const quiet: string[] = [];
      new ServiceNotifier({ view: viewOf([]), logger: silentLogger(), env: {}, send: (s) => (quiet.push(s), true) }).longStep('x');
      expect(quiet).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('survives a failing socket and logs once', () => {
    let calls = 0;
    const warnings: string[] = [];
    const logger = silentLogger();
    logger.warn = ((obj: unknown, msg?: string) => void warnings.push(String(msg ?? obj))) as typeof logger.warn;
    const n = new ServiceNotifier({
      view: viewOf([]),
      logger,
      env,
      send: () => {
        calls++;
        throw new Error('sd_notify: sending to NOTIFY_SOCKET /run/fake failed: Connection refused');
      },
    });
    n.ready();
    n.close();
    n.tick();
    n.tick();
    expect(calls).toBe(3);
    expect(warnings).toEqual(['sd_notify failed']);
  });
});

describe('untilSourcesStarted', () => {
  it('waits until no camera is starting', async () => {
    const cams: FakeCamera[] = [{ name: 'a', state: 'starting', progress: 0, fps: 0 }];
    const waiting = untilSourcesStarted(viewOf(cams), 30000, 10);
    setTimeout(() => (cams[0].state = 'streaming'), 50);
    expect(await waiting).toBe(true);
    expect(await untilSourcesStarted(viewOf([{ name: 'a', state: 'starting', progress: 0, fps: 0 }]), 30, 10)).toBe(false);
  });
});

// A real unix datagram socket, as systemd's NOTIFY_SOCKET: python3 prints every datagram as a JSON line.
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('ready', flush=True)
while True:
    print(json.dumps(s.recv(65536).decode()), flush=True)
`;

describe('ServiceNotifier on a real NOTIFY_SOCKET', () => {
  const saved = process.env.NOTIFY_SOCKET;
  let receiver: ChildProcess | null = null;
  let cleanup: (() => void) | null = null;
  afterEach(() => {
    if (saved === undefined) delete process.env.NOTIFY_SOCKET;
    else process.env.NOTIFY_SOCKET = saved;
    receiver?.kill();
    receiver = null;
    cleanup?.();
  });

  it('sends READY=1, pings while frames flow, stops pinging when the pipeline wedges, STOPPING=1 at the end', async () => {
    const tmp = tempDir('notify');
    cleanup = tmp.cleanup;
    const path = join(tmp.dir, 'notify.sock');
    const got: string[] = [];
    receiver = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    receiver.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line !== 'ready') got.push(JSON.parse(line) as string);
        else got.push('<listening>');
      }
    });
    await until(() => got.includes('<listening>'), 10000, 'the receiver to listen');
    got.length = 0;
    process.env.NOTIFY_SOCKET = path;
    const cams: FakeCamera[] = [{ name: 'front', state: 'streaming', progress: 0, fps: 8 }];
    // the default sender is the addon's sd_notify on process.env.NOTIFY_SOCKET
    const n = new ServiceNotifier({ view: viewOf(cams), logger: silentLogger(), env: { NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' } });
    const frames = setInterval(() => cams[0].progress++, 10);
    try {
      n.ready();
      await until(() => got.filter((m) => m.startsWith('WATCHDOG=1')).length >= 3, 20000, 'three watchdog pings');
      expect(got[0]).toBe('READY=1\nSTATUS=1/1 cameras streaming, 8.0 fps');
      clearInterval(frames); // the pipeline wedges
      await until(() => got.filter((m) => m.startsWith('STATUS=stalled')).length >= 3, 20000, 'three stalled ticks');
      const firstStall = got.findIndex((m) => m.startsWith('STATUS=stalled'));
      expect(got.slice(firstStall).every((m) => m === 'STATUS=stalled: front made no progress')).toBe(true);
      n.stopping('SIGTERM');
      await until(() => got.includes('STOPPING=1\nSTATUS=stopping (SIGTERM)'), 10000, 'STOPPING=1');
    } finally {
      clearInterval(frames);
      n.close();
    }
  });
});
