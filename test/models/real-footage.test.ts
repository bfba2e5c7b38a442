import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

/**
 * The default camera model as a user runs it (`trt-detect detect -c config/config.yaml`) on real
 * footage, checked against objects annotated by hand (test/fixtures/real-footage-objects.json):
 * frames of OpenCV's vtest.avi (people walking, parked vehicles, a tripod, cones, litter on the
 * grass) and real photos, among them scenes with nothing to report. setup --test installs them
 * (Debian's opencv-doc) and pulls the model.
 */

type Box = [number, number, number, number];
type Objects = { pedestrian?: Box[]; vehicle?: Box[]; optional?: { pedestrian?: Box[]; vehicle?: Box[] } };
interface Fixture {
  frames: Record<string, Objects>;
  photos: Record<string, Objects>;
}
interface Line {
  camera: string;
  frame: number;
  detections: Array<{ label: string; score: number; box: { x1: number; y1: number; x2: number; y2: number } }>;
}

const DATA = '/usr/share/doc/opencv-doc/examples/data';
const CLIP = join(DATA, 'vtest.avi');
const MODEL = join(ROOT, 'models', 'ssdlite-mobilenet-v2-coco.onnx');
const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'real-footage-objects.json'), 'utf8')) as Fixture;

const skipReason = !existsSync(CLIP)
  ? `${CLIP} missing (scripts/setup --test installs opencv-doc)`
  : !existsSync(MODEL)
    ? `${MODEL} missing (scripts/setup pulls it: trt-detect models pull ssdlite-mobilenet-v2-coco)`
    : '';
if (skipReason && process.env.CI) throw new Error(`real-footage test cannot run in CI: ${skipReason}`);

const iou = (a: Box, b: Box): number => {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
};

interface Score {
  required: number;
  found: number;
  misses: string[];
  /** detections on nothing annotated at all (IoU < 0.1 with every object of any label) */
  onNothing: string[];
  /** other unmatched detections: a second box on one object, a box on part of one */
  duplicates: string[];
}

/** Greedy matching, best detection first: same label, IoU >= 0.4, each object once. */
function score(where: string, objects: Objects, dets: Line['detections'], into: Score): void {
  const objs: Array<{ label: string; box: Box; required: boolean; used: boolean }> = [];
  for (const label of ['pedestrian', 'vehicle'] as const) {
    for (const box of objects[label] ?? []) objs.push({ label, box, required: true, used: false });
    for (const box of objects.optional?.[label] ?? []) objs.push({ label, box, required: false, used: false });
  }
  into.required += objs.filter((o) => o.required).length;
  for (const d of [...dets].sort((a, b) => b.score - a.score)) {
    const box: Box = [d.box.x1, d.box.y1, d.box.x2, d.box.y2];
    let best: (typeof objs)[number] | null = null;
    let bestIou = 0.4;
    for (const o of objs) {
      if (o.used || o.label !== d.label) continue;
      const v = iou(o.box, box);
      if (v >= bestIou) [best, bestIou] = [o, v];
    }
    const text = `${where}: ${d.label} ${d.score.toFixed(2)} [${box.map(Math.round).join(',')}]`;
    if (best) {
      best.used = true;
      if (best.required) into.found++;
    } else if (objs.every((o) => iou(o.box, box) < 0.1)) into.onNothing.push(text);
    else into.duplicates.push(text);
  }
  for (const o of objs) if (o.required && !o.used) into.misses.push(`${where}: ${o.label} [${o.box.join(',')}]`);
}

describe.skipIf(!!skipReason)('the default camera model on real footage (detect -c config/config.yaml)', () => {
  const { dir, cleanup } = tempDir('real-footage');
  afterAll(cleanup);

  it('finds the people and vehicles a person sees, and puts no box where nothing is', async () => {
    const photos = join(dir, 'photos');
    mkdirSync(photos);
    for (const name of Object.keys(fixture.photos)) symlinkSync(join(DATA, name), join(photos, name));
    // the detector's own quality, frame by frame: tracking (on by default) reports a new object
    // from its third detector frame on, which an annotation of single frames would count as misses
    const clip = await runCli(['detect', '-c', 'config/config.yaml', '-i', CLIP, '-o', join(dir, 'vtest.mp4'), '--json', join(dir, 'vtest.jsonl'), '--no-track'], {
      timeoutMs: 180_000,
    });
    expect(clip.code, clip.stderr).toBe(0);
    const stills = await runCli(['detect', '-c', 'config/config.yaml', '-i', photos, '-o', join(dir, 'out'), '--json', join(dir, 'photos.jsonl')]);
    expect(stills.code, stills.stderr).toBe(0);

    const read = (f: string): Line[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
    const frames = read(join(dir, 'vtest.jsonl'));
    expect(frames).toHaveLength(795); // every frame of the clip has its line
    const s: Score = { required: 0, found: 0, misses: [], onNothing: [], duplicates: [] };
    for (const [index, objects] of Object.entries(fixture.frames)) {
      const line = frames.find((l) => l.frame === Number(index));
      expect(line, `frame ${index}`).toBeDefined();
      score(`vtest.avi frame ${index}`, objects, line!.detections, s);
    }
    const byName = new Map(read(join(dir, 'photos.jsonl')).map((l) => [l.camera, l]));
    for (const [name, objects] of Object.entries(fixture.photos)) score(name, objects, byName.get(name)!.detections, s);

    const images = Object.keys(fixture.frames).length + Object.keys(fixture.photos).length;
    console.log(
      `real footage, ${images} images: ${s.found}/${s.required} required objects found (recall ${(s.found / s.required).toFixed(3)}); ` +
        `boxes on nothing ${s.onNothing.length}; second or partial boxes ${s.duplicates.length}\n` +
        `  missed: ${s.misses.join('; ') || 'none'}\n  on nothing: ${s.onNothing.join('; ') || 'none'}\n  second/partial: ${s.duplicates.join('; ') || 'none'}`,
    );
    // No box where nothing is: the tripod, the cones, the litter, the sign, empty streets and facades.
    expect(s.onNothing).toEqual([]);
    // Recall of what a person sees at once. Known misses (see the note of the real-world detector
    // issue): a man walking shoulder to shoulder with another (frame 100) and a woman on the grass
    // at frame 700, whom the model scores 0.19 there (0.30 with TF's own resize) and 0.8+ ten
    // frames later. Anything below 95 % is a regression.
    expect(s.found / s.required).toBeGreaterThanOrEqual(0.95);
    // a second box on one object: at most one in the whole set
    expect(s.duplicates.length).toBeLessThanOrEqual(1);
  });
});
