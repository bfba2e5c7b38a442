import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema, diffConfigs, loadConfig, parseConfig } from '../../daemon/config/index.js';
import type { Schema } from '../../daemon/config/schema.js';
import { ConfigError } from '../../daemon/core/errors.js';
import { MODEL, ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('config');
afterAll(cleanup);

/** The ConfigError lines parseConfig throws for `text` (named a.yaml). */
function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'a.yaml', { env, cwd: dir });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected the config to be rejected');
}

const minimal = (camera = 'source: /data/in.mp4') => `cameras:\n  front:\n    ${camera}\n`;

describe('config validation', () => {
  it('names file:line:col and the key path, with a did-you-mean for misspelt keys', () => {
    const lines = problems(`model:
  precison: fp16
detect:
  threshold: 1.5
cameras:
  front:
    source: rtps://cam/1
    recrd: {enabled: true}
mqtt:
  qos: 3
`);
    expect(lines).toEqual([
      'a.yaml:2:3: model.precison: unknown key (did you mean "precision"?)',
      'a.yaml:4:3: detect.threshold: 1.5 is out of range (expected a number from 0 to 1)',
      'a.yaml:7:5: cameras.front.source: unsupported scheme "rtps" (expected csi, rtsp, v4l2, file)',
      'a.yaml:8:5: cameras.front.recrd: unknown key (did you mean "record"?)',
      'a.yaml:10:3: mqtt.qos: 3 is out of range (expected an integer from 0 to 2)',
    ]);
  });

  it('rejects wrong types, bad enums, bad names, bad URLs and an empty camera list', () => {
    expect(problems(minimal('source: 42'))[0]).toMatch(/^a\.yaml:3:5: cameras\.front\.source: /);
    expect(problems(`model: {backend: tensorflow}\n${minimal()}`)[0]).toMatch(/^a\.yaml:1:\d+: model\.backend: .*auto.*tensorrt.*onnxruntime/);
    expect(problems('cameras:\n  "bad name":\n    source: /x.mp4\n')[0]).toMatch(/^a\.yaml:2:3: cameras\.bad name: invalid camera name/);
    expect(problems(`mqtt: {url: "http://broker"}\n${minimal()}`)[0]).toMatch(/mqtt\.url: unsupported scheme "http"/);
    expect(problems('cameras: {}\n')[0]).toMatch(/cameras: no cameras configured/);
    expect(problems(`model: {input: {std: [0.5, 0, 0.5]}}\n${minimal()}`)[0]).toMatch(/model\.input\.std\[1\]: 0 is not allowed/);
    expect(problems(minimal('source: rtsp:/host/x'))[0]).toMatch(/malformed source/);
    expect(problems(minimal('source: /x.mp4\n    record: {preset: fastest}'))[0]).toMatch(/cameras\.front\.record\.preset: .*ultrafast.*veryslow/);
    expect(problems(minimal('source: /x.mp4\n    record: {crf: 60}'))[0]).toMatch(/cameras\.front\.record\.crf: /);
    expect(problems(`media: {nice: 20}\n${minimal()}`)[0]).toBe('a.yaml:1:9: media.nice: 20 is out of range (expected an integer from 0 to 19)');
    expect(problems(`media: {nice: 2.5}\n${minimal()}`)[0]).toMatch(/^a\.yaml:1:9: media\.nice: /);
  });

  it('reports YAML syntax errors and empty files with a position', () => {
    expect(problems('model: [\n')[0]).toMatch(/^a\.yaml:\d+:\d+: YAML syntax error: /);
    expect(problems('')[0]).toMatch(/^a\.yaml:1:1: \(top level\): the file is empty/);
    // a key written twice is named
    expect(problems('cameras:\n  front: {source: /a.mp4}\n  front: {source: /b.mp4}\n')).toEqual([
      'a.yaml:3:3: "front" appears twice in the same section (keep one of them)',
    ]);
    // "without quotes" only for a number in quotes
    expect(problems(minimal('source: /a.mp4') + 'detect: {threshold: high}\n')[0]).toMatch(/detect.threshold: expected a number from 0 to 1, got "high"$/);
    expect(problems(minimal('source: /a.mp4') + 'detect: {threshold: "0.5"}\n')[0]).toMatch(/got "0.5" \(write the number without quotes\)$/);
  });

  it('expands ${VAR} and names a missing variable', () => {
    const cfg = parseConfig(minimal('source: rtsp://${CAM_USER}@h/s'), 'a.yaml', { env: { CAM_USER: 'bob' } });
    expect(cfg.cameras.front.source).toBe('rtsp://bob@h/s');
    expect(problems(minimal('source: ${NOPE}'))[0]).toMatch(/cameras\.front\.source: environment variable NOPE is not set/);
  });

  it('merges per-camera detect overrides over the top-level detect section', () => {
    const cfg = parseConfig(
      `detect: {threshold: 0.3, interval: 1}\ncameras:\n  a: {source: /a.mp4}\n  b: {source: /b.mp4, detect: {threshold: 0.7}}\n`,
      'a.yaml',
      { cwd: dir },
    );
    expect(cfg.cameras.a.effective_detect).toMatchObject({ threshold: 0.3, interval: 1, nms_iou: 0.45 });
    expect(cfg.cameras.b.effective_detect).toMatchObject({ threshold: 0.7, interval: 1 });
  });

  it('finds missing files only when asked (check-config), line-numbered', () => {
    const file = join(dir, 'files.yaml');
    writeFileSync(file, `model: {path: nope.onnx}\n${minimal('source: missing.mp4')}`);
    expect(() => loadConfig(file, { cwd: dir })).not.toThrow();
    try {
      loadConfig(file, { checkFiles: true, cwd: dir });
      throw new Error('not rejected');
    } catch (err) {
      const lines = (err as Error).message.split('\n');
      expect(lines[0]).toMatch(/files\.yaml:1:\d+: model\.path: model file not found: .*nope\.onnx/);
      expect(lines[1]).toMatch(/files\.yaml:4:5: cameras\.front\.source: video file not found: .*missing\.mp4/);
    }
    expect(() => loadConfig(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml: file not found/);
  });

  it('diffConfigs tells unchanged, changed, added and removed cameras apart', () => {
    const a = parseConfig('cameras:\n  x: {source: /x.mp4}\n  y: {source: /y.mp4}\n  z: {source: /z.mp4}\n', 'a.yaml');
    const b = parseConfig(
      'cameras:\n  x: {source: /x.mp4}\n  y: {source: /y.mp4, detect: {threshold: 0.9}}\n  w: {source: /w.mp4}\nlog: {level: debug}\n',
      'b.yaml',
    );
    expect(diffConfigs(a, b)).toEqual({ added: ['w'], removed: ['z'], changed: ['y'], unchanged: ['x'], globalChanged: ['log'] });
    expect(a.media).toEqual({ nice: 10 });
    const c = parseConfig('cameras:\n  x: {source: /x.mp4}\n  y: {source: /y.mp4}\n  z: {source: /z.mp4}\nmedia: {nice: 0}\n', 'c.yaml');
    expect(diffConfigs(a, c).globalChanged).toEqual(['media']);
  });
});

describe('the shipped config/config.yaml', () => {
  const shipped = join(ROOT, 'config', 'config.yaml');
  const text = readFileSync(shipped, 'utf8');

  it('is valid and shows every default the schema has (the two are kept in step)', () => {
    const full = parseConfig(text, shipped, { cwd: ROOT });
    const bare = parseConfig(minimal('source: samples/traffic.mp4').replace('front', 'demo'), 'bare.yaml', { cwd: ROOT });
    // every default written in the file is the schema's default
    const { cameras: c1, ...rest1 } = full;
    const { cameras: c2, ...rest2 } = bare;
    expect(rest1).toEqual(rest2);
    // the paths of the checkout's demo (relative) are not the defaults (/var/lib/trt-detect/..., or none)
    const noPaths = (c: typeof c1.demo) => ({ ...c, record: { ...c.record, path: '' }, snapshots: { ...c.snapshots, path: '' } });
    expect(noPaths(c1.demo)).toEqual(noPaths(c2.demo));

    // and every key of the schema appears in the file
    const doc = parse(text) as Record<string, unknown>;
    const missing: string[] = [];
    const walk = (schema: Schema, value: unknown, path: string) => {
      if (schema.type === 'object') {
        for (const [k, s] of Object.entries(schema.fields)) {
          const v = value && typeof value === 'object' ? (value as Record<string, unknown>)[k] : undefined;
          if (v === undefined && !(path === '' && k === 'base_dir') && !path.endsWith('.detect')) missing.push(`${path}${path ? '.' : ''}${k}`);
          else walk(s, v, `${path}${path ? '.' : ''}${k}`);
        }
      } else if (schema.type === 'map') {
        for (const [k, v] of Object.entries((value as Record<string, unknown>) ?? {})) walk((schema as { values: Schema }).values, v, `${path}.${k}`);
      }
    };
    walk(configSchema, doc, '');
    expect(missing).toEqual([]);
    // base_dir is documented as a comment
    expect(text).toMatch(/^# base_dir:/m);
  });
});

describe('trt-detect check-config', () => {
  it('prints what would run with secrets masked, exit 0; problems on stderr, exit 2', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      `model: {path: ${MODEL}}\ncameras:\n  front: {source: "rtsp://admin:s3cret@192.0.2.10:554/stream1", rtsp_out: true}\nmqtt: {url: "mqtt://bob:hunter2@localhost:1883"}\n`,
    );
    const ok = await runCli(['check-config', '-c', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('config OK');
    expect(ok.stdout).toContain('rtsp://admin:***@192.0.2.10:554/stream1');
    expect(ok.stdout).toContain('mqtt://bob:***@localhost:1883');
    expect(ok.stdout + ok.stderr).not.toMatch(/s3cret|hunter2/);
    expect(ok.stdout).toContain('rtsp://<host>:8554/front');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `${minimal('source: /x.mp4')}mqtt: {qos: 5}\n`);
    const ko = await runCli(['check-config', '-c', bad]);
    expect(ko.code).toBe(2);
    expect(ko.stdout).toBe('');
    expect(ko.stderr).toContain(`${bad}:4:8: mqtt.qos: 5 is out of range`);
    const missing = join(dir, 'missing.yaml');
    writeFileSync(missing, `model: {path: ${MODEL}}\n${minimal('source: /x.mp4')}`);
    const ko2 = await runCli(['check-config', '-c', missing]);
    expect(ko2.code).toBe(2);
    expect(ko2.stderr.trim()).toBe(
      `${missing}:4:5: cameras.front.source: video file not found: /x.mp4 (check the path; relative paths resolve against the current directory ${ROOT})`,
    );
    expect(ko.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('check-config looks at what run would trip over', () => {
  it('loads an .onnx model: not a model, labels that do not match; a record.path that cannot be written', async () => {
    const good = join(dir, 'model-ok.yaml');
    writeFileSync(good, `model: {path: ${MODEL}}\ncameras:\n  front: {source: "rtsp://192.0.2.10/s"}\n`);
    const ok = await runCli(['check-config', '-c', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('model check: loaded with ONNX Runtime: input 512x288, layout scores_boxes, reports road_sign, vehicle, pedestrian, bicycle');

    const notModel = join(dir, 'text.onnx');
    writeFileSync(notModel, 'not a model\n');
    const c1 = join(dir, 'model-text.yaml');
    writeFileSync(c1, `model: {path: ${notModel}}\ncameras:\n  front: {source: "rtsp://192.0.2.10/s"}\n`);
    const r1 = await runCli(['check-config', '-c', c1]);
    expect(r1.code).toBe(2);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    expect(r1.stderr).toMatch(new RegExp(`^${c1}: model.path: ${notModel}: not a model ONNX Runtime can load`));

    const c2 = join(dir, 'model-labels.yaml');
    writeFileSync(c2, `model: {path: ${MODEL}, labels: [background, car, person]}\ncameras:\n  front: {source: "rtsp://192.0.2.10/s"}\n`);
    const r2 = await runCli(['check-config', '-c', c2]);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim()).toBe(`${c2}: model.path: ${MODEL}: the model has 5 classes but 3 labels were given (fix model.labels or the .labels.txt file)`);

    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const c3 = join(dir, 'record-path.yaml');
    writeFileSync(c3, `model: {path: ${MODEL}}\ncameras:\n  front:\n    source: "rtsp://192.0.2.10/s"\n    record: {path: ${join(blocker, 'rec')}}\n`);
    const r3 = await runCli(['check-config', '-c', c3]);
    expect(r3.code).toBe(2);
    expect(r3.stderr.trim()).toBe(
      `${c3}:5:14: cameras.front.record.path: ${blocker} is a file, not a folder (point record.path at a folder trt-detect can write)`,
    );
  });
});

describe('config/examples', () => {
  it('every example is a valid config', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(join(ROOT, 'config', 'examples')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const text = readFileSync(join(ROOT, 'config', 'examples', f), 'utf8');
      expect(() => parseConfig(text, f, { env: { DRIVEWAY_PASSWORD: 'x' }, cwd: ROOT }), f).not.toThrow();
    }
  });
});

describe('zones, filters, events and snapshots', () => {
  it('parses zones in pixels and fractions, filters per label, and resolves snapshots.path', () => {
    const c = parseConfig(
      `cameras:\n  front:\n    source: /x.mp4\n    zones:\n      gate: {coordinates: [[0, 0.5], [1, 0.5], [1, 1]], objects: [vehicle]}\n      door: {coordinates: [[10, 10], [200, 10], [200, 300]], inertia: 1, loitering_seconds: 5}\n    filters:\n      pedestrian: {min_area: 0.01, threshold: 0.6}\n    snapshots: {path: snaps}\nmqtt: {home_assistant: {discovery_prefix: ha}}\n`,
      'a.yaml',
      { cwd: dir },
    );
    const cam = c.cameras.front;
    expect(cam.zones.gate).toEqual({
      coordinates: [
        [0, 0.5],
        [1, 0.5],
        [1, 1],
      ],
      objects: ['vehicle'],
      inertia: 3,
      loitering_seconds: 0,
    });
    expect(cam.zones.door.loitering_seconds).toBe(5);
    expect(cam.filters.pedestrian).toEqual({ min_area: 0.01, max_area: null, min_ratio: 0, max_ratio: null, min_score: 0, threshold: 0.6 });
    expect(cam.snapshots).toEqual({ enabled: true, path: join(dir, 'snaps'), retain_days: 10, max_mb: 500 });
    expect(cam.events).toEqual({ enabled: true, stationary_seconds: 10, stationary_iou: 0.6, max_objects: 100 });
    expect(c.mqtt.home_assistant).toEqual({ enabled: true, discovery_prefix: 'ha', url: null });
  });

  it('accepts Frigate\'s zone string "x1,y1,x2,y2,..." in pixels or fractions, quoted or not', () => {
    const zones = (gate: string, door: string) =>
      parseConfig(
        `cameras:\n  front:\n    source: /x.mp4\n    zones:\n      gate: {coordinates: ${gate}}\n      door:\n        coordinates: ${door}\n`,
        'a.yaml',
        { cwd: dir },
      ).cameras.front.zones;
    const z = zones('"0,0.5, 1,0.5 ,1,1,0,1"', '10,10,200,10,200,300');
    expect(z.gate.coordinates).toEqual([
      [0, 0.5],
      [1, 0.5],
      [1, 1],
      [0, 1],
    ]);
    expect(z.door.coordinates).toEqual([
      [10, 10],
      [200, 10],
      [200, 300],
    ]);
    // the same polygon as a list gives the same config
    expect(zones('[[0, 0.5], [1, 0.5], [1, 1], [0, 1]]', '[[10, 10], [200, 10], [200, 300]]')).toEqual(z);
  });

  it('bad zone strings are errors with the key path: odd count, not numbers, negative, too few corners, outside the frame', () => {
    const zone = (coords: string, more = '') => problems(minimal(`source: /x.mp4${more}\n    zones:\n      gate: {coordinates: ${coords}}`));
    expect(zone('"0,0,1,0,1"')).toEqual([
      'a.yaml:5:14: cameras.front.zones.gate.coordinates: 5 values, an odd count: the last x has no y (write "x1,y1,x2,y2,x3,y3,..." with x,y pairs of numbers, or a list [[x, y], ...])',
    ]);
    expect(zone('"0,0,1,zero,1,1"')).toEqual([
      'a.yaml:5:14: cameras.front.zones.gate.coordinates: value 4, "zero", is not a number (write "x1,y1,x2,y2,x3,y3,..." with x,y pairs of numbers, or a list [[x, y], ...])',
    ]);
    expect(zone('"0,0,,1,1,1"')[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates: value 3, "", is not a number/);
    expect(zone('"0;0;1;0;1;1"')[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates: value 1, "0;0;1;0;1;1", is not a number/);
    expect(zone('""')[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates: empty string/);
    expect(zone('"0,0,-1,0,0,1"')[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates: value 3, -1, is negative/);
    expect(zone('"0,0,1,1"')).toEqual([
      'a.yaml:5:14: cameras.front.zones.gate.coordinates: a zone needs at least 3 corners, got 2 (write [[x, y], [x, y], [x, y], ...] or "x1,y1,x2,y2,x3,y3", in pixels or 0..1 fractions)',
    ]);
    expect(zone('"0,0,700,0,0,300"', '\n    width: 640\n    height: 360')[0]).toMatch(
      /^a\.yaml:7:14: cameras\.front\.zones\.gate\.coordinates: corner \[700, 0\] is outside the 640x360 frame/,
    );
    // a number alone is neither a list nor a string of corners
    expect(zone('5')[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates: expected a list, got 5/);
  });

  it('bad polygons are errors with the key path: too few corners, no area, outside a frame of known size, negative', () => {
    const zone = (coords: string, more = '') => minimal(`source: /x.mp4${more}\n    zones:\n      gate: {coordinates: ${coords}}`);
    expect(problems(zone('[[0, 0], [1, 1]]'))).toEqual([
      'a.yaml:5:14: cameras.front.zones.gate.coordinates: a zone needs at least 3 corners, got 2 (write [[x, y], [x, y], [x, y], ...] or "x1,y1,x2,y2,x3,y3", in pixels or 0..1 fractions)',
    ]);
    expect(problems(zone('[[0, 0], [0.5, 0.5], [1, 1]]'))[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates: the corners lie on one line/);
    expect(problems(zone('[[0, 0], [700, 0], [0, 300]]', '\n    width: 640\n    height: 360'))[0]).toMatch(
      /^a\.yaml:7:14: cameras\.front\.zones\.gate\.coordinates: corner \[700, 0\] is outside the 640x360 frame/,
    );
    expect(problems(zone('[[0, 0], [-1, 0], [0, 1]]'))[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates\[1\]\[0\]: -1 is out of range/);
    expect(problems(zone('[[0, 0, 1], [1, 0], [0, 1]]'))[0]).toMatch(/cameras\.front\.zones\.gate\.coordinates\[0\]: expected 2 items/);
    expect(problems(minimal('source: /x.mp4\n    zones:\n      "bad zone": {coordinates: [[0, 0], [1, 0], [0, 1]]}'))[0]).toMatch(/invalid zone name/);
    expect(problems(minimal('source: /x.mp4\n    filters:\n      vehicle: {min_score: 2}'))[0]).toMatch(
      /cameras\.front\.filters\.vehicle\.min_score: 2 is out of range/,
    );
  });
});
