/**
 * The synthetic dataset generator (scripts/make-dataset, `npm run make-dataset`) and the sample
 * clip generator (scripts/make-sample-video): deterministic from the seed, KITTI labels with the
 * four classes and valid boxes, clear errors for bad arguments.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { probeFrames, tempDir } from '../support/videos.js';

const CLASSES = ['road_sign', 'vehicle', 'pedestrian', 'bicycle'];
const MAKE_DATASET = join(ROOT, 'scripts', 'make-dataset');
const MAKE_VIDEO = join(ROOT, 'scripts', 'make-sample-video');

/** The generator needs a python3 with numpy and Pillow (scripts/setup --test installs them). */
function pythonReady(): boolean {
  const r = spawnSync('bash', ['-c', `source "${join(ROOT, 'scripts', 'dataset', 'find-python.sh')}"; _py_ok /usr/bin/python3 || _py_ok python3`]);
  return r.status === 0;
}
const noPython = !pythonReady();
const noFfmpeg = spawnSync('ffmpeg', ['-version']).status !== 0;

function run(script: string, args: string[]) {
  const r = spawnSync('bash', [script, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function makeSplit(dir: string, seed: number, count: number, extra: string[] = []) {
  const r = run(MAKE_DATASET, ['--seed', String(seed), '--count', String(count), '--out', dir, '--quiet', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

const labelsOf = (dir: string): Map<string, string> =>
  new Map(
    readdirSync(join(dir, 'labels'))
      .sort()
      .map((f) => [f, readFileSync(join(dir, 'labels', f), 'utf8')]),
  );

describe.skipIf(noPython)('make-dataset (needs python3 with numpy and Pillow)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let a: string;
  let b: string;
  let other: string;
  beforeAll(() => {
    tmp = tempDir('dataset');
    [a, b, other] = ['a', 'b', 'other'].map((n) => join(tmp.dir, n));
    makeSplit(a, 3, 12);
    makeSplit(b, 3, 12, ['--workers', '1']); // one process: same result as the pool
    makeSplit(other, 4, 12);
  });
  afterAll(() => tmp.cleanup());

  it('writes K images and K label files named alike', () => {
    const images = readdirSync(join(a, 'images')).sort();
    const labels = readdirSync(join(a, 'labels')).sort();
    expect(images).toHaveLength(12);
    expect(images[0]).toBe('000000.jpg');
    expect(labels).toEqual(images.map((f) => f.replace(/\.jpg$/, '.txt')));
    // real JPEGs of the default size (SOF0 marker carries height and width)
    const jpg = readFileSync(join(a, 'images', images[0]));
    expect(jpg.subarray(0, 2).toString('hex')).toBe('ffd8');
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    expect(sof).toBeGreaterThan(0);
    expect([jpg.readUInt16BE(sof + 5), jpg.readUInt16BE(sof + 7)]).toEqual([360, 640]);
  });

  it('is deterministic: the same seed gives the same label bytes and images', () => {
    const la = labelsOf(a);
    const lb = labelsOf(b);
    expect([...lb.keys()]).toEqual([...la.keys()]);
    for (const [name, text] of la) expect(lb.get(name), name).toBe(text);
    for (const f of readdirSync(join(a, 'images'))) {
      expect(readFileSync(join(b, 'images', f)).equals(readFileSync(join(a, 'images', f))), f).toBe(true);
    }
  });

  it('gives a different split for a different seed', () => {
    const la = labelsOf(a);
    const lo = labelsOf(other);
    const same = [...la].filter(([name, text]) => lo.get(name) === text).length;
    expect(same).toBe(0);
  });

  it('writes 15-field KITTI lines with the four class names (or DontCare) and boxes inside the image', () => {
    const seen = new Set<string>();
    let boxes = 0;
    for (const dir of [a, other]) {
      for (const [name, text] of labelsOf(dir)) {
        for (const line of text.split('\n').filter((l) => l.length > 0)) {
          const f = line.split(' ');
          expect(f, `${name}: ${line}`).toHaveLength(15);
          const [type, truncated, occluded] = [f[0], Number(f[1]), Number(f[2])];
          const [x1, y1, x2, y2] = f.slice(4, 8).map(Number);
          expect([...CLASSES, 'DontCare'], `${name}: ${line}`).toContain(type);
          expect(
            f.slice(1).every((v) => Number.isFinite(Number(v))),
            `${name}: ${line}`,
          ).toBe(true);
          expect(x1 >= 0 && y1 >= 0 && x2 <= 640 && y2 <= 360, `${name}: ${line}`).toBe(true);
          expect(x2 - x1 >= 1 && y2 - y1 >= 1, `${name}: ${line}`).toBe(true);
          if (type !== 'DontCare') {
            expect(truncated >= 0 && truncated <= 1, `${name}: ${line}`).toBe(true);
            expect([0, 1, 2], `${name}: ${line}`).toContain(occluded);
            seen.add(type);
            boxes++;
          }
        }
      }
    }
    expect([...seen].sort()).toEqual([...CLASSES].sort());
    expect(boxes).toBeGreaterThan(24 * 3); // busy street scenes, not a box per image
  });

  it('runs through `npm run make-dataset -- ...` (the documented interface)', () => {
    const dir = join(tmp.dir, 'npm');
    const r = spawnSync('npm', ['run', '-s', 'make-dataset', '--', '--seed', '3', '--count', '2', '--out', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote 2 images \(\d+ labelled boxes\)/);
    expect(labelsOf(dir).get('000001.txt')).toBe(labelsOf(a).get('000001.txt'));
  });

  it.each([
    [['--count', '3', '--out', 'x'], /--seed/],
    [['--seed', '3', '--count', 'many', '--out', 'x'], /--count must be an integer, got "many"/],
    [['--seed', '-1', '--count', '3', '--out', 'x'], /--seed must be >= 0, got -1/],
    [['--seed', '3', '--count', '3', '--out', 'x', '--width', '10'], /--width and --height must be at least 64/],
    [['--seed', '3', '--count', '3', '--out', 'x', '--colour', 'red'], /unrecognized arguments: --colour red/],
  ])('exits 2 with one clear line for bad arguments %j', (args, message) => {
    const r = run(MAKE_DATASET, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(ROOT, 'x'))).toBe(false);
  });

  it('exits 2 naming the directory when the output cannot be created', () => {
    const file = join(tmp.dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const r = run(MAKE_DATASET, ['--seed', '3', '--count', '1', '--out', join(file, 'split')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot create output directory ${join(file, 'split')}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

interface GroundTruth {
  seed: number;
  width: number;
  height: number;
  fps: number;
  frames: Array<{ frame: number; pts: number; objects: Array<{ id: number; label: string; box: number[] }>; dontcare: number[][] }>;
}

describe.skipIf(noPython || noFfmpeg)('make-sample-video (needs python3 with numpy and Pillow, and ffmpeg)', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('sample-video');
  });
  afterAll(() => tmp.cleanup());

  it('renders a clip whose frames match its ground truth, with objects that move', () => {
    const out = join(tmp.dir, 'clip.mp4');
    const r = run(MAKE_VIDEO, [
      '--seed',
      '7',
      '--seconds',
      '1',
      '--fps',
      '10',
      '--size',
      '320x180',
      '--out',
      out,
      '--kitti',
      join(tmp.dir, 'kitti'),
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const probe = probeFrames(out);
    expect(probe).toMatchObject({ count: 10, width: 320, height: 180, fps: '10/1' });
    const gt = JSON.parse(readFileSync(join(tmp.dir, 'clip.gt.json'), 'utf8')) as GroundTruth;
    expect(gt).toMatchObject({ seed: 7, width: 320, height: 180, fps: 10 });
    expect(gt.frames.map((f) => f.frame)).toEqual([...Array(10).keys()]);
    expect(gt.frames.map((f) => f.pts)).toEqual(probe.pts);
    for (const f of gt.frames) {
      for (const o of f.objects) {
        expect(CLASSES).toContain(o.label);
        const [x1, y1, x2, y2] = o.box;
        expect(x1 >= 0 && y1 >= 0 && x2 <= 320 && y2 <= 180 && x2 > x1 && y2 > y1, JSON.stringify(o)).toBe(true);
      }
    }
    // the same object (id) has a different box in the last frame than in the first: things move
    const first = new Map(gt.frames[0].objects.map((o) => [o.id, o.box.join(',')]));
    const moved = gt.frames[9].objects.filter((o) => first.has(o.id) && first.get(o.id) !== o.box.join(','));
    expect(moved.length).toBeGreaterThanOrEqual(3);
    // --kitti: one label file per frame and the frames decoded back from the MP4
    expect(readdirSync(join(tmp.dir, 'kitti', 'labels'))).toHaveLength(10);
    expect(readdirSync(join(tmp.dir, 'kitti', 'images')).sort()[0]).toBe('000000.png');
    const kitti0 = readFileSync(join(tmp.dir, 'kitti', 'labels', '000000.txt'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(kitti0.filter((l) => !l.startsWith('DontCare'))).toHaveLength(gt.frames[0].objects.length);
  });

  it('the committed samples/traffic.mp4 is the documented clip: 10 s at 25 fps with ground truth for every frame', () => {
    const clip = join(ROOT, 'samples', 'traffic.mp4');
    const probe = probeFrames(clip);
    expect(probe).toMatchObject({ count: 250, width: 960, height: 540, fps: '25/1' });
    const gt = JSON.parse(readFileSync(join(ROOT, 'samples', 'traffic.gt.json'), 'utf8')) as GroundTruth;
    expect(gt).toMatchObject({ seed: 7, width: 960, height: 540, fps: 25 });
    expect(gt.frames).toHaveLength(250);
    expect([1, 2, 3]).not.toContain(gt.seed); // the dataset's train/val/test seeds
    const labels = new Set(gt.frames.flatMap((f) => f.objects.map((o) => o.label)));
    expect([...labels].sort()).toEqual([...CLASSES].sort());
  });

  it('exits 2 with one clear line for a bad size', () => {
    const r = run(MAKE_VIDEO, ['--size', '12x34x5', '--out', join(tmp.dir, 'bad.mp4')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--size must look like 960x540, got "12x34x5"/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(tmp.dir, 'bad.mp4'))).toBe(false);
  });
});
