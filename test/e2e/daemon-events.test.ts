/**
 * Object events end to end: the compiled daemon on a generated clip with known objects
 * (make-dataset --sequence: ground-truth identities in gt/gt.txt) against a real mosquitto:
 * one `new` and one `end` per object with matching ids, snapshots that ffprobe decodes as JPEG
 * (files and the retained MQTT payloads), counts that follow the events, Home Assistant device
 * discovery with its fields, re-sent on Home Assistant's birth message, a stale device of an
 * earlier run removed at start and a camera dropped by a reload removed. `detect --events` on the
 * same clip gives the same objects.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectEvent } from '../../daemon/events/types.js';
import { CLI, MODEL, ROOT, runCli } from '../support/cli.js';
import { collectMessages, startMosquitto, until, type Collector, type Mosquitto } from '../support/mosquitto.js';
import { tempDir } from '../support/videos.js';

const SEED = 21; // not a seed the tracker was tuned or reported on
const SECONDS = 6;
const P = 'evt';
const HA = 'ha';

function pythonReady(): boolean {
  const r = spawnSync('bash', ['-c', `source "${join(ROOT, 'scripts', 'dataset', 'find-python.sh')}"; _py_ok /usr/bin/python3 || _py_ok python3`]);
  return r.status === 0;
}
const ready = pythonReady() && spawnSync('ffmpeg', ['-version']).status === 0 && existsSync(MODEL);

/** ffprobe's codec and size of an image file (throws when it cannot read it). */
function probeImage(file: string): { codec: string; width: number; height: number } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' });
  const s = (JSON.parse(out) as { streams: Array<{ codec_name: string; width: number; height: number }> }).streams[0];
  return { codec: s.codec_name, width: s.width, height: s.height };
}

/** Ground-truth identities per reported label (objects the dataset labels: conf 1). */
function groundTruth(seq: string): Record<string, number> {
  const names: Record<number, string> = { 1: 'pedestrian', 3: 'vehicle', 4: 'bicycle' };
  const ids: Record<string, Set<number>> = {};
  for (const line of readFileSync(join(seq, 'gt', 'gt.txt'), 'utf8')
    .trim()
    .split('\n')) {
    const [, id, , , , , conf, cls] = line.split(',').map(Number);
    if (conf !== 1) continue;
    (ids[names[cls]] ??= new Set()).add(id);
  }
  return Object.fromEntries(Object.entries(ids).map(([k, v]) => [k, v.size]));
}

describe.skipIf(!ready)('object events: the daemon on a generated clip, a real mosquitto', () => {
  let tmp: ReturnType<typeof tempDir>;
  let clip: string;
  let seq: string;
  let broker: Mosquitto;
  const children: ChildProcess[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    tmp = tempDir('events');
    seq = join(tmp.dir, 'seq');
    const r = spawnSync(
      'bash',
      [join(ROOT, 'scripts', 'make-dataset'), '--sequence', '--seed', String(SEED), '--seconds', String(SECONDS), '--out', seq, '--quiet'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    clip = join(seq, `synth-traffic-${SEED}.mp4`);
    broker = await startMosquitto();
  }, 150_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const close of closers) await close().catch(() => undefined);
    await broker?.stop();
    tmp?.cleanup();
  });

  const config = (cameras: string) =>
    `model: {path: ${MODEL}}\ncameras:\n${cameras}mqtt: {url: ${broker.url}, topic_prefix: ${P}, home_assistant: {discovery_prefix: ${HA}, url: "http://jetson.local:9100/"}}\nhttp: {enabled: false}\nrtsp_server: {enabled: false}\n`;
  const street = () =>
    `  street:\n    source: ${clip}\n    record: {enabled: false}\n    zones:\n      right: {coordinates: [[0.5, 0], [1, 0], [1, 1], [0.5, 1]], inertia: 2}\n    snapshots: {path: ${join(tmp.dir, 'snaps')}}\n`;
  const extra = () => `  extra:\n    source: ${clip}\n    loop: true\n    realtime: true\n    record: {enabled: false}\n`;

  it('one new and one end per object, snapshots, counts, discovery; a reload that drops a camera removes its device', async () => {
    const sub: Collector = await collectMessages(broker.url, '#');
    closers.push(() => sub.close());
    // a device an earlier run announced for a camera that is gone now, and one of another program
    const pub = await mqtt.connectAsync(broker.url);
    closers.push(() => pub.endAsync());
    const stale = JSON.stringify({ dev: { ids: ['trt_detect_old'] }, o: { name: 'trt-detect' }, cmps: {}, availability_topic: `${P}/status` });
    const foreign = JSON.stringify({ dev: { ids: ['trt_detect_other'] }, o: { name: 'trt-detect' }, cmps: {}, availability_topic: 'elsewhere/status' });
    await pub.publishAsync(`${HA}/device/trt_detect_old/config`, stale, { retain: true, qos: 1 });
    await pub.publishAsync(`${HA}/device/trt_detect_other/config`, foreign, { retain: true, qos: 1 });

    const cfgFile = join(tmp.dir, 'config.yaml');
    writeFileSync(cfgFile, config(street() + extra()));
    const proc = spawn(process.execPath, [CLI, 'run', '-c', cfgFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proc);
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));

    // the clip plays to its end; the camera's objects end with it
    await sub.waitFor((ms) => ms.some((m) => m.topic === `${P}/street/status` && m.payload.includes('"ended"')), 240_000);
    const events = () =>
      sub.messages
        .filter((m) => m.topic === `${P}/events`)
        .map((m) => JSON.parse(m.payload) as ObjectEvent)
        .filter((e) => e.after.camera === 'street');
    await until(
      () => {
        const ev = events();
        const open = new Set(ev.filter((e) => e.type === 'new').map((e) => e.after.id));
        for (const e of ev) if (e.type === 'end') open.delete(e.after.id);
        return ev.length > 0 && open.size === 0;
      },
      30_000,
      'every object of street ended',
    );
    const ev = events();

    // one new and one end per object, matching ids, in order, with the documented fields
    const byId = new Map<string, ObjectEvent[]>();
    for (const e of ev) byId.set(e.after.id, [...(byId.get(e.after.id) ?? []), e]);
    for (const [id, list] of byId) {
      expect(list[0].type, id).toBe('new');
      expect(list.at(-1)?.type, id).toBe('end');
      expect(list.filter((e) => e.type === 'new')).toHaveLength(1);
      expect(list.filter((e) => e.type === 'end')).toHaveLength(1);
      expect(id).toMatch(/^\d{10}\.\d{3}-[a-z0-9]{6}$/);
      const end = list.at(-1) as ObjectEvent;
      expect(Object.keys(end.after).sort()).toEqual(
        [
          'id',
          'camera',
          'label',
          'track_id',
          'score',
          'top_score',
          'box',
          'area',
          'start_time',
          'end_time',
          'current_zones',
          'entered_zones',
          'stationary',
          'loitering',
          'has_snapshot',
          'frame_time',
        ].sort(),
      );
      expect(end.after.end_time).toBeGreaterThanOrEqual(end.after.start_time);
      // a file: times are its start plus pts, so durations are the clip's
      expect((end.after.end_time as number) - end.after.start_time).toBeLessThanOrEqual(SECONDS + 0.1);
      for (let i = 1; i < list.length; i++) expect(list[i].before).toEqual(list[i - 1].after);
      const updates = list.filter((e) => e.type === 'update');
      for (let i = 1; i < updates.length; i++) expect(updates[i].after.frame_time - updates[i - 1].after.frame_time).toBeGreaterThanOrEqual(0.999);
      expect(end.after.has_snapshot, id).toBe(true);
    }
    // the objects match the clip's: per label, about as many objects as ground-truth identities
    const gt = groundTruth(seq);
    const news = ev.filter((e) => e.type === 'new');
    for (const label of ['vehicle', 'pedestrian', 'bicycle']) {
      const n = news.filter((e) => e.after.label === label).length;
      expect(n, `${label}: ${n} events for ${gt[label]} objects`).toBeGreaterThanOrEqual(Math.ceil(gt[label] * 0.6));
      expect(n, `${label}: ${n} events for ${gt[label]} objects`).toBeLessThanOrEqual(Math.ceil(gt[label] * 1.5) + 1);
    }
    // objects that walked or drove into the right half entered the zone
    expect(ev.some((e) => e.after.entered_zones.includes('right'))).toBe(true);

    // snapshots: a JPEG file per object, the size of the clip, and the retained MQTT payloads
    const files = readdirSync(join(tmp.dir, 'snaps', 'street')).sort();
    expect(files).toEqual([...byId.keys()].map((id) => `${id}.jpg`).sort());
    for (const f of files.slice(0, 5)) expect(probeImage(join(tmp.dir, 'snaps', 'street', f))).toEqual({ codec: 'mjpeg', width: 640, height: 360 });
    const snapMsgs = sub.messages.filter((m) => /^evt\/street\/[^/]+\/snapshot$/.test(m.topic));
    expect(snapMsgs.length).toBeGreaterThanOrEqual(byId.size);
    const lastSnap = join(tmp.dir, 'last.jpg');
    writeFileSync(lastSnap, (snapMsgs.at(-1) as { bytes: Buffer }).bytes);
    expect(probeImage(lastSnap)).toEqual({ codec: 'mjpeg', width: 640, height: 360 });

    // counts: every label starts at 0, follows the events, and is 0 once the objects ended
    for (const label of ['vehicle', 'pedestrian', 'bicycle']) {
      const counts = sub.messages.filter((m) => m.topic === `${P}/street/${label}`).map((m) => Number(m.payload));
      expect(counts[0], label).toBe(0);
      expect(counts.at(-1), label).toBe(0);
      let active = 0;
      let peak = 0;
      for (const e of ev.filter((x) => x.after.label === label && x.type !== 'update')) {
        active += e.type === 'new' ? 1 : -1;
        peak = Math.max(peak, active);
      }
      expect(Math.max(...counts), label).toBe(peak);
      for (let i = 1; i < counts.length; i++) expect(counts[i]).not.toBe(counts[i - 1]); // on change only
    }
    const zoneCounts = sub.messages.filter((m) => m.topic.startsWith(`${P}/street/right/`));
    expect(zoneCounts.some((m) => Number(m.payload) > 0)).toBe(true);
    for (const label of ['vehicle', 'pedestrian', 'bicycle']) {
      const values = zoneCounts.filter((m) => m.topic === `${P}/street/right/${label}`).map((m) => m.payload);
      expect(values.at(-1), label).toBe('0');
    }

    // Home Assistant: one device per camera, with the documented fields
    const disc = (camera: string) => sub.messages.filter((m) => m.topic === `${HA}/device/trt_detect_${camera}/config`);
    const d = JSON.parse((disc('street').at(-1) as { payload: string }).payload) as Record<string, Record<string, Record<string, unknown>>>;
    expect(d.dev).toMatchObject({ ids: ['trt_detect_street'], name: 'trt-detect street', mf: 'trt-detect', mdl: 'camera', cu: 'http://jetson.local:9100/' });
    expect(d.dev.sw).toMatch(/^\d+\.\d+\.\d+/);
    expect(d.o).toMatchObject({ name: 'trt-detect', url: 'http://jetson.local:9100/' });
    expect((d as unknown as Record<string, unknown>).availability_topic).toBe(`${P}/status`);
    for (const label of ['vehicle', 'pedestrian', 'bicycle', 'road_sign']) {
      const id = label;
      expect(d.cmps[`${id}_count`]).toMatchObject({ p: 'sensor', unique_id: `trt_detect_street_${id}_count`, state_topic: `${P}/street/${label}` });
      expect(d.cmps[`${id}_occupancy`]).toMatchObject({ p: 'binary_sensor', device_class: 'occupancy', state_topic: `${P}/street/${label}` });
      expect(d.cmps[`${id}_snapshot`]).toMatchObject({ p: 'image', image_topic: `${P}/street/${label}/snapshot`, content_type: 'image/jpeg' });
      expect(d.cmps[`right_${id}_count`]).toMatchObject({ p: 'sensor', state_topic: `${P}/street/right/${label}` });
    }
    expect(d.cmps.status).toMatchObject({ p: 'sensor', state_topic: `${P}/street/status`, value_template: '{{ value_json.state }}' });
    expect(d.cmps.fps).toMatchObject({ p: 'sensor', state_topic: `${P}/street/status`, value_template: '{{ value_json.fps }}' });
    expect(disc('extra').at(-1)?.payload).toContain('"trt_detect_extra"');
    // the earlier run's device is removed; another instance's is left alone
    await sub.waitFor((ms) => ms.some((m) => m.topic === `${HA}/device/trt_detect_old/config` && m.payload === ''), 5000);
    expect(disc('other').map((m) => m.payload)).toEqual([foreign]);

    // Home Assistant comes online: the discovery is sent again
    const before = disc('street').length;
    await pub.publishAsync(`${HA}/status`, 'online');
    await sub.waitFor(() => disc('street').length > before && disc('extra').length > 1, 5000);

    // a reload without `extra`: its device gets the empty retained payload, street's stays
    writeFileSync(cfgFile, config(street()));
    proc.kill('SIGHUP');
    await sub.waitFor(() => disc('extra').at(-1)?.payload === '', 30_000);
    expect(disc('street').at(-1)?.payload).not.toBe('');
    proc.kill('SIGTERM');
    expect(await exit, out.slice(-2000)).toBe(0);

    // what the broker keeps (retained): street's device (not extra's, nor the stale one), the
    // counts at 0, the latest snapshot per label; no events
    const late = await collectMessages(broker.url, '#');
    closers.push(() => late.close());
    await late.waitFor((ms) => ms.some((m) => m.topic.endsWith('trt_detect_street/config')) && ms.some((m) => m.topic === `${P}/street/vehicle`), 5000);
    await new Promise((r) => setTimeout(r, 500));
    expect(late.messages.every((m) => m.retain)).toBe(true);
    const kept = late.messages.map((m) => m.topic);
    expect(kept.filter((t) => t.startsWith(`${HA}/`)).sort()).toEqual([`${HA}/device/trt_detect_other/config`, `${HA}/device/trt_detect_street/config`]);
    expect(kept).not.toContain(`${P}/events`);
    for (const label of ['vehicle', 'pedestrian', 'bicycle']) {
      expect(late.messages.find((m) => m.topic === `${P}/street/${label}`)?.payload, label).toBe('0');
      expect(late.messages.find((m) => m.topic === `${P}/street/right/${label}`)?.payload, label).toBe('0');
      const snap = late.messages.find((m) => m.topic === `${P}/street/${label}/snapshot`);
      expect(snap?.bytes.subarray(0, 2).toString('hex'), label).toBe('ffd8'); // a JPEG's SOI marker
    }

    // detect --events on the same clip: the same objects, by track id and label
    const lines = join(tmp.dir, 'events.jsonl');
    const r = await runCli(['detect', '-m', MODEL, '-i', clip, '-o', join(tmp.dir, 'out.mp4'), '--events', lines], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const fromDetect = readFileSync(lines, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ObjectEvent);
    // per object, in order (an `end` may wait for its object's first snapshot, so the order
    // between objects depends on how fast the JPEGs are encoded)
    const perObject = (list: ObjectEvent[]) => {
      const m = new Map<number, string[]>();
      for (const e of list.filter((x) => x.type !== 'update')) m.set(e.after.track_id, [...(m.get(e.after.track_id) ?? []), `${e.type}:${e.after.label}`]);
      return [...m.entries()].sort((a, b) => a[0] - b[0]);
    };
    expect(perObject(fromDetect)).toEqual(perObject(ev));
  }, 420_000);

  it('a zone in pixels outside the file frames is a config error naming the key, exit 2', async () => {
    const cfgFile = join(tmp.dir, 'bad-zone.yaml');
    writeFileSync(
      cfgFile,
      config(`  street:\n    source: ${clip}\n    record: {enabled: false}\n    zones:\n      far: {coordinates: [[0, 0], [5000, 0], [0, 300]]}\n`).replace(
        /mqtt: \{[^\n]*\}/,
        'mqtt: {enabled: false}',
      ),
    );
    const r = await runCli(['run', '-c', cfgFile, '--exit-when-done'], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('cameras.street.zones.far.coordinates: corner [5000, 0] is outside the 640x360 frame');
    // check-config finds it too
    const c = await runCli(['check-config', '-c', cfgFile], { timeoutMs: 60_000 });
    expect(c.code).toBe(2);
    expect(c.stderr.trim()).toMatch(/^\S+bad-zone\.yaml: cameras\.street\.zones\.far\.coordinates: corner \[5000, 0\] is outside the 640x360 frame/);
  }, 90_000);
});
