import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../daemon/core/errors.js';
import { isDifficult, kittiTypeMapper, listKittiSamples, parseKittiLabels, readKittiDataset, toGroundTruth } from '../../daemon/eval/kitti.js';

const CLASSES = ['road_sign', 'vehicle', 'pedestrian', 'bicycle'];

describe('parseKittiLabels', () => {
  it('reads the first 8 fields of full 15-field lines and short 8-field lines, skipping blanks and comments', () => {
    const text = [
      'Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59',
      '',
      '# a comment',
      'road_sign 0.2 1 0 10 20 30.5 60\r',
    ].join('\n');
    const objs = parseKittiLabels(text, 'labels/000001.txt');
    expect(objs).toEqual([
      { type: 'Car', truncated: 0, occluded: 0, alpha: -1.58, box: { x1: 587.01, y1: 173.33, x2: 614.12, y2: 200.12 }, line: 1 },
      { type: 'road_sign', truncated: 0.2, occluded: 1, alpha: 0, box: { x1: 10, y1: 20, x2: 30.5, y2: 60 }, line: 4 },
    ]);
  });

  it('names file:line for too few fields', () => {
    expect(() => parseKittiLabels('Car 0 0 0 1 2 3 4\nCar 0 0 0 1 2\n', 'labels/7.txt')).toThrowError(/^labels\/7\.txt:2: expected at least 8 fields .* got 6/);
  });

  it('names file:line and the field for a value that is not a number', () => {
    const err = (() => {
      try {
        parseKittiLabels('\nvehicle 0 0 0 10 abc 30 40', 'l.txt');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as Error).message).toBe('l.txt:2: field y1 is not a number: "abc" (fix the label file)');
  });

  it('rejects inverted boxes with file:line', () => {
    expect(() => parseKittiLabels('vehicle 0 0 0 50 10 40 30', 'l.txt')).toThrowError(/^l\.txt:1: box has x2 < x1/);
  });
});

describe('type mapping and difficult boxes', () => {
  it('maps names case-insensitively and KITTI aliases onto the model labels', () => {
    const map = kittiTypeMapper(CLASSES);
    expect(map('Vehicle')).toBe('vehicle');
    expect(map('ROAD_SIGN')).toBe('road_sign');
    expect(map('Car')).toBe('vehicle');
    expect(map('Van')).toBe('vehicle');
    expect(map('Truck')).toBe('vehicle');
    expect(map('Pedestrian')).toBe('pedestrian');
    expect(map('Cyclist')).toBe('bicycle');
    expect(map('Tram')).toBeNull();
    expect(map('DontCare')).toBeNull();
  });

  it('prefers a model label named like the KITTI type over the alias', () => {
    const map = kittiTypeMapper(['car', 'vehicle']);
    expect(map('Car')).toBe('car');
    expect(map('Van')).toBe('vehicle');
  });

  it('aliases only apply when the model has the target label', () => {
    expect(kittiTypeMapper(['person'])('Cyclist')).toBeNull();
  });

  it('difficult: occluded 2, truncated > 0.5 or under 10 px tall', () => {
    const o = (truncated: number, occluded: number, h: number) => ({
      type: 'vehicle',
      truncated,
      occluded,
      alpha: 0,
      box: { x1: 0, y1: 0, x2: 20, y2: h },
      line: 1,
    });
    expect(isDifficult(o(0, 0, 12))).toBe(false);
    expect(isDifficult(o(0, 1, 40))).toBe(false);
    expect(isDifficult(o(0, 3, 40))).toBe(false);
    expect(isDifficult(o(0, 2, 40))).toBe(true);
    expect(isDifficult(o(0.5, 0, 40))).toBe(false);
    expect(isDifficult(o(0.51, 0, 40))).toBe(true);
    expect(isDifficult(o(0, 0, 9.5))).toBe(true);
    expect(isDifficult(o(0, 0, 9.5), { maxTruncated: 0.5, minHeight: 5 })).toBe(false);
  });

  it('toGroundTruth: DontCare becomes an ignore region, unknown types are reported', () => {
    const objs = parseKittiLabels('Car 0 0 0 0 0 50 50\nDontCare -1 -1 -10 100 100 200 200\nTram 0 0 0 0 0 9 9\nvehicle 0 2 0 60 0 90 30', 'l.txt');
    const r = toGroundTruth('000', objs, kittiTypeMapper(CLASSES));
    expect(r.image).toEqual({
      id: '000',
      boxes: [
        { label: 'vehicle', box: { x1: 0, y1: 0, x2: 50, y2: 50 }, difficult: false },
        { label: 'vehicle', box: { x1: 60, y1: 0, x2: 90, y2: 30 }, difficult: true },
      ],
      ignore: [{ x1: 100, y1: 100, x2: 200, y2: 200 }],
    });
    expect(r.unmapped).toEqual(['Tram']);
  });
});

describe('reading a dataset folder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trt-kitti-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const make = (files: Record<string, string>) => {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
  };

  it('pairs every image with its label file, sorted, and parses the ground truth', async () => {
    make({
      'images/b.png': 'x',
      'images/a.jpg': 'x',
      'images/notes.txt': 'not an image',
      'labels/a.txt': 'Pedestrian 0 0 0 1 1 11 31\n',
      'labels/b.txt': '',
      'labels/orphan.txt': 'Car 0 0 0 0 0 1 1',
    });
    const ds = await readKittiDataset(dir, CLASSES);
    expect(ds.samples.map((s) => s.id)).toEqual(['a', 'b']);
    expect(ds.samples[0].imagePath).toBe(join(dir, 'images', 'a.jpg'));
    expect(ds.samples[0].labelPath).toBe(join(dir, 'labels', 'a.txt'));
    expect(ds.gt).toEqual([
      { id: 'a', boxes: [{ label: 'pedestrian', box: { x1: 1, y1: 1, x2: 11, y2: 31 }, difficult: false }], ignore: [] },
      { id: 'b', boxes: [], ignore: [] },
    ]);
  });

  it('counts the types that map to no class', async () => {
    make({ 'images/a.png': 'x', 'labels/a.txt': 'Misc 0 0 0 0 0 20 20\nMisc 0 0 0 0 0 20 20\nCar 0 0 0 0 0 20 20\n' });
    const ds = await readKittiDataset(dir, CLASSES);
    expect(ds.unmapped).toEqual({ Misc: 2 });
  });

  it('accepts KITTI image_2/ and label_2/ folders', async () => {
    make({ 'image_2/000001.png': 'x', 'label_2/000001.txt': 'Car 0 0 0 0 0 20 20\n' });
    const samples = await listKittiSamples(dir);
    expect(samples.map((s) => s.id)).toEqual(['000001']);
  });

  it('one-line errors: missing dataset, missing folders, missing label file, malformed label', async () => {
    await expect(readKittiDataset(join(dir, 'nope'), CLASSES)).rejects.toThrowError(`${join(dir, 'nope')}: dataset not found (check -d)`);
    await expect(readKittiDataset(dir, CLASSES)).rejects.toThrowError(/no images\/ folder/);
    make({ 'images/a.png': 'x' });
    await expect(readKittiDataset(dir, CLASSES)).rejects.toThrowError(/no labels\/ folder/);
    make({ 'labels/.keep': '' });
    await expect(readKittiDataset(dir, CLASSES)).rejects.toThrowError(
      `${join(dir, 'labels', 'a.txt')}: missing label file for ${join(dir, 'images', 'a.png')}`,
    );
    make({ 'labels/a.txt': 'Car 0 0 0 0 0 20 20\nCar 0 0\n' });
    const err = await readKittiDataset(dir, CLASSES).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as Error).message).toMatch(
      new RegExp(`^${join(dir, 'labels', 'a.txt').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2: expected at least 8 fields`),
    );
  });

  it('an empty images/ folder is an empty dataset', async () => {
    make({ 'images/.keep': '', 'labels/.keep': '' });
    const ds = await readKittiDataset(dir, CLASSES);
    expect(ds.samples).toEqual([]);
    expect(ds.gt).toEqual([]);
  });
});
