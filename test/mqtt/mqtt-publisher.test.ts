import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIRM_MS, MqttPublisher, PING_TIMEOUT_MS, type MqttPublisherOptions } from '../../daemon/sinks/mqtt-publisher.js';
import type { DetectionMessage } from '../../daemon/sinks/detection-message.js';
import type { ObjectEvent, TrackedObject } from '../../daemon/events/types.js';
import { ROOT } from '../support/cli.js';
import { collectMessages, freePort, startMosquitto, until, type Collector, type Mosquitto } from '../support/mosquitto.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length)
    await cleanups
      .pop()?.()
      .catch(() => undefined);
});

async function broker(opts: Parameters<typeof startMosquitto>[0] = {}): Promise<Mosquitto> {
  const b = await startMosquitto(opts);
  cleanups.push(() => b.stop());
  return b;
}
async function collector(url: string, filter: string, opts: Parameters<typeof collectMessages>[2] = {}): Promise<Collector> {
  const c = await collectMessages(url, filter, opts);
  cleanups.push(() => c.close());
  return c;
}
async function publisher(url: string, more: Partial<MqttPublisherOptions> = {}): Promise<MqttPublisher> {
  const p = await MqttPublisher.connect({ url, topicPrefix: 't', qos: 1, queueLimit: 100, ...more });
  cleanups.push(() => p.close(500));
  return p;
}

const message = (frame: number): DetectionMessage => ({
  camera: 'cam',
  frame,
  pts: frame / 25,
  timestamp: new Date(0).toISOString(),
  width: 640,
  height: 360,
  inference_ms: 1,
  detections: [],
});
const frames = (c: Collector) => c.messages.filter((m) => m.topic === 't/cam/detections').map((m) => (JSON.parse(m.payload) as DetectionMessage).frame);

describe('MqttPublisher against a real mosquitto', () => {
  it('publishes online (retained), camera status (retained), detections and stats; offline on close', async () => {
    const b = await broker();
    const p = await publisher(b.url);
    p.publishCameraStatus('cam', { state: 'streaming', fps: 25 });
    p.publishDetections('cam', message(0));
    p.publishStats({ cameras: {} });
    await until(() => p.stats.published >= 4, 3000, 'published');
    // a late subscriber still learns the retained state
    const late = await collector(b.url, 't/#');
    await late.waitFor((ms) => ms.some((m) => m.topic === 't/status') && ms.some((m) => m.topic === 't/cam/status'), 3000);
    expect(late.messages.find((m) => m.topic === 't/status')).toMatchObject({ payload: 'online', retain: true });
    expect(late.messages.find((m) => m.topic === 't/cam/status')).toMatchObject({ payload: '{"state":"streaming","fps":25}', retain: true });
    expect(late.messages.some((m) => m.topic === 't/cam/detections')).toBe(false); // not retained
    await p.close(1000);
    await late.waitFor((ms) => ms.some((m) => m.topic === 't/status' && m.payload === 'offline'), 3000);
  });

  it('queues while the broker is down and delivers in order after it comes back, re-publishing status', async () => {
    const b = await broker({ persistence: true });
    const sub = await collector(b.url, 't/#', { clientId: 'queue-sub', clean: false, qos: 1 });
    const p = await publisher(b.url);
    p.publishCameraStatus('cam', { state: 'streaming', fps: 25 });
    p.publishDetections('cam', message(0));
    await sub.waitFor(() => frames(sub).includes(0), 3000);
    await b.restart(async () => {
      await until(() => !p.stats.connected, 5000, 'publisher notices the outage');
      for (let i = 1; i <= 5; i++) p.publishDetections('cam', message(i));
      p.publishCameraStatus('cam', { state: 'reconnecting', error: 'test' });
      expect(p.stats.queued).toBe(5);
    });
    await sub.waitFor(() => frames(sub).includes(5), 15000);
    // QoS 1 is at-least-once: a message in flight during the restart may come twice, never out of order
    expect([...new Set(frames(sub))]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p.stats).toMatchObject({ connected: true, queued: 0, dropped: 0 });
    expect(p.stats.reconnects).toBeGreaterThanOrEqual(1);
    await sub.waitFor((ms) => ms.some((m) => m.topic === 't/cam/status' && m.payload.includes('reconnecting')), 3000);
  });

  it('drops the oldest messages beyond queue_limit and counts them', async () => {
    const b = await broker({ persistence: true });
    const sub = await collector(b.url, 't/cam/detections', { clientId: 'drop-sub', clean: false, qos: 1 });
    const p = await publisher(b.url, { queueLimit: 3 });
    await b.restart(async () => {
      await until(() => !p.stats.connected, 5000, 'publisher notices the outage');
      for (let i = 0; i < 10; i++) p.publishDetections('cam', message(i));
      expect(p.stats).toMatchObject({ queued: 3, dropped: 7 });
    });
    await sub.waitFor(() => frames(sub).includes(9), 15000);
    expect([...new Set(frames(sub))]).toEqual([7, 8, 9]);
    expect(p.stats.dropped).toBe(7);
  });

  it('finds the cameras a crashed run left "streaming" and sets them offline (retained), keeping a camera\'s last error', async () => {
    const b = await broker();
    // the previous run: two cameras streaming, then the process died (no clean stop)
    const crashed = await MqttPublisher.connect({ url: b.url, topicPrefix: 't', qos: 1, queueLimit: 10 });
    crashed.publishCameraStatus('front', { state: 'streaming', fps: 25 });
    crashed.publishCameraStatus('gone', { state: 'streaming', fps: 12 });
    crashed.publishRetained('t/front/car', '2'); // another retained topic of the camera: not a status
    await until(() => crashed.stats.published >= 4, 3000, 'published');
    await new Promise((r) => setTimeout(r, 200));
    await crashed.close(0).catch(() => undefined);
    const next = await publisher(b.url);
    expect((await next.retainedCameras()).sort()).toEqual(['front', 'gone']);
    next.markCamerasOffline(['gone']);
    next.publishCameraStatus('front', { state: 'error', error: 'no such file' });
    next.markCamerasOffline(next.announcedCameras);
    await until(() => next.stats.published >= 4, 3000, 'published');
    const late = await collector(b.url, 't/+/status');
    await late.waitFor((ms) => ms.length >= 2, 3000);
    const status = (cam: string) => JSON.parse(late.messages.find((m) => m.topic === `t/${cam}/status`)?.payload ?? '{}') as unknown;
    expect(status('gone')).toEqual({ state: 'offline', fps: 0 });
    expect(status('front')).toEqual({ state: 'offline', fps: 0, error: 'no such file' });
  });

  it.each([0, 1] as const)(
    'QoS %i: a frozen broker (SIGSTOP) is noticed within seconds, and what was sent to it is not counted as published and lost: it goes again after the reconnect',
    async (qos) => {
      const b = await broker({ persistence: true });
      const sub = await collector(b.url, 't/cam/detections', { clientId: `frozen-sub-${qos}`, clean: false, qos: 1 });
      const p = await publisher(b.url, { queueLimit: 1000, qos });
      for (let i = 0; i < 10; i++) p.publishDetections('cam', message(i));
      await sub.waitFor(() => frames(sub).includes(9), 5000);
      await until(() => p.stats.published >= 10, 5000, 'the first ten confirmed');
      b.signal('SIGSTOP');
      const frozenAt = Date.now();
      // the socket still takes these: with QoS 0 the client cannot tell that nobody reads them
      for (let i = 10; i < 60; i++) {
        p.publishDetections('cam', message(i));
        await new Promise((r) => setTimeout(r, 20));
      }
      await until(() => !p.stats.connected, PING_TIMEOUT_MS + 2 * CONFIRM_MS + 5000, 'the publisher gives up on the frozen broker');
      const noticedAfter = Date.now() - frozenAt;
      expect(noticedAfter).toBeLessThan(PING_TIMEOUT_MS + 2 * CONFIRM_MS + 3000);
      expect(p.stats.published).toBeLessThan(60);
      // the frozen broker never comes back; a new one takes its port
      await b.restart();
      await sub.waitFor(() => frames(sub).includes(59), 20000);
      expect([...new Set(frames(sub))].sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i));
      await until(() => p.stats.published >= 60 && p.stats.queued === 0, 5000, 'everything confirmed');
      expect(p.stats.dropped).toBe(0);
    },
    60_000,
  );

  it('the broker publishes the retained offline Last Will when the process dies', async () => {
    const b = await broker();
    const sub = await collector(b.url, 't/status');
    const script = `import { MqttPublisher } from ${JSON.stringify(join(ROOT, 'dist', 'daemon', 'sinks', 'mqtt-publisher.js'))};
      await MqttPublisher.connect({ url: ${JSON.stringify(b.url)}, topicPrefix: 't', qos: 0, queueLimit: 10 });
      console.log('up'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(async () => child.kill('SIGKILL'));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await sub.waitFor((ms) => ms.some((m) => m.payload === 'online'), 3000);
    child.kill('SIGKILL');
    await sub.waitFor((ms) => ms.at(-1)?.payload === 'offline', 10000);
  });

  it('refused credentials and an unreachable broker are one clear error each', async () => {
    const b = await broker({ auth: { username: 'u', password: 'right' } });
    await expect(MqttPublisher.connect({ url: b.url, topicPrefix: 't', qos: 0, queueLimit: 1, username: 'u', password: 'wrong' })).rejects.toThrow(
      /^mqtt: mqtt:\/\/127\.0\.0\.1:\d+ refused the credentials .*\(check mqtt\.username and mqtt\.password\/password_file\)$/,
    );
    const ok = await publisher(b.url, { username: 'u', password: 'right' });
    expect(ok.stats.connected).toBe(true);
    const port = await freePort();
    await expect(MqttPublisher.connect({ url: `mqtt://127.0.0.1:${port}`, topicPrefix: 't', qos: 0, queueLimit: 1 }, 3000)).rejects.toThrow(
      new RegExp(`^mqtt: cannot connect to mqtt://127\\.0\\.0\\.1:${port} \\(.*\\) \\(check mqtt\\.url and that the broker is running\\)$`),
    );
  });

  it('publishes object events (not retained), snapshots and other retained state, again after a reconnect; an empty payload clears', async () => {
    const b = await broker(); // no persistence: a restart loses the retained messages
    const p = await publisher(b.url);
    const obj: TrackedObject = {
      id: '1764784920.123-abcdef',
      camera: 'cam',
      label: 'vehicle',
      track_id: 3,
      score: 0.8,
      top_score: 0.9,
      box: { x1: 1, y1: 2, x2: 30, y2: 40 },
      area: 1102,
      start_time: 1764784920.123,
      end_time: null,
      current_zones: [],
      entered_zones: [],
      stationary: false,
      loitering: false,
      has_snapshot: false,
      frame_time: 1764784920.123,
    };
    const ev: ObjectEvent = { type: 'new', before: obj, after: obj };
    const sub = await collector(b.url, 't/#');
    p.event(ev);
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x80, 0xff, 0xd9]);
    p.snapshot('cam', obj.id, 'vehicle', jpeg, null);
    p.publishRetained('t/cam/vehicle', '1');
    p.publishRetained('t/cam/gone', '1');
    await sub.waitFor((ms) => ms.some((m) => m.topic === 't/cam/gone'), 3000);
    const got = sub.messages.find((m) => m.topic === 't/events');
    expect(got?.retain).toBe(false);
    expect(JSON.parse(got?.payload ?? '')).toEqual(ev);
    expect(sub.messages.find((m) => m.topic === 't/cam/vehicle/snapshot')?.bytes.equals(jpeg)).toBe(true);
    p.publishRetained('t/cam/gone', '');
    p.publishRetained('t/cam/vehicle', '2');
    await sub.waitFor((ms) => ms.some((m) => m.topic === 't/cam/vehicle' && m.payload === '2'), 3000);
    // the broker lost its retained messages (restarted without them): the publisher sends them again
    await b.restart(async () => {
      await until(() => !p.stats.connected, 5000, 'publisher notices the outage');
    });
    await until(() => p.stats.connected, 10000, 'reconnected');
    const late = await collector(b.url, 't/#');
    await late.waitFor((ms) => ms.some((m) => m.topic === 't/cam/vehicle') && ms.some((m) => m.topic === 't/cam/vehicle/snapshot'), 5000);
    expect(late.messages.find((m) => m.topic === 't/cam/vehicle')).toMatchObject({ payload: '2', retain: true });
    expect(late.messages.find((m) => m.topic === 't/cam/vehicle/snapshot')?.bytes.equals(jpeg)).toBe(true);
    expect(late.messages.some((m) => m.topic === 't/cam/gone')).toBe(false);
    expect(late.messages.some((m) => m.topic === 't/events')).toBe(false);
  });
});
