import { existsSync, promises as fsp, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { RuntimeFailure, errorMessage } from '../core/errors.js';
import { listImages } from '../media/image-io.js';
import type { Box } from '../core/box.js';
import type { GroundTruthBox, GroundTruthImage } from './map.js';

/**
 * KITTI object labels: one `.txt` per image, one object a line,
 * `type truncated occluded alpha x1 y1 x2 y2 [h w l x y z ry [score]]` (at least the first 8 fields).
 */
export interface KittiObject {
  type: string;
  /** 0 (fully inside the image) .. 1 (fully outside) */
  truncated: number;
  /** 0 fully visible, 1 partly occluded, 2 largely occluded, 3 unknown */
  occluded: number;
  alpha: number;
  box: Box;
  /** 1-based line in the label file */
  line: number;
}

/**
 * Which ground truth boxes are "difficult" (ignored like VOC difficult: matching one is neither
 * TP nor FP, missing one is not a FN). A box is difficult when it is largely occluded
 * (occluded == 2; 3 means unknown and is not difficult), truncated more than `maxTruncated`,
 * less than `minHeight` pixels tall, or without width (no detection can match it).
 */
export interface DifficultRule {
  maxTruncated: number;
  minHeight: number;
}

export const DEFAULT_DIFFICULT_RULE: DifficultRule = { maxTruncated: 0.5, minHeight: 10 };

const FIELD_NAMES = ['type', 'truncated', 'occluded', 'alpha', 'x1', 'y1', 'x2', 'y2'];

/** Parses a KITTI label file's text. Malformed lines throw a RuntimeFailure naming `file:line`. */
export function parseKittiLabels(text: string, file: string): KittiObject[] {
  const objects: KittiObject[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const f = raw.split(/\s+/);
    if (f.length < 8) {
      throw new RuntimeFailure(`${where}: expected at least 8 fields (type truncated occluded alpha x1 y1 x2 y2), got ${f.length}: "${raw}"`);
    }
    const num = (k: number): number => {
      const v = Number(f[k]);
      if (!Number.isFinite(v)) throw new RuntimeFailure(`${where}: field ${FIELD_NAMES[k]} is not a number: "${f[k]}" (fix the label file)`);
      return v;
    };
    const box = { x1: num(4), y1: num(5), x2: num(6), y2: num(7) };
    if (box.x2 < box.x1 || box.y2 < box.y1) {
      throw new RuntimeFailure(`${where}: box has x2 < x1 or y2 < y1 (${f.slice(4, 8).join(' ')}); expected left top right bottom in pixels`);
    }
    objects.push({ type: f[0], truncated: num(1), occluded: num(2), alpha: num(3), box, line: i + 1 });
  }
  return objects;
}

export function isDifficult(o: KittiObject, rule: DifficultRule = DEFAULT_DIFFICULT_RULE): boolean {
  const height = o.box.y2 - o.box.y1;
  const width = o.box.x2 - o.box.x1;
  return o.occluded === 2 || o.truncated > rule.maxTruncated || height < rule.minHeight || width <= 0;
}

/** KITTI's own class names mapped onto the project's labels when the model has no class of that name. */
const KITTI_ALIASES: Record<string, string> = {
  car: 'vehicle',
  van: 'vehicle',
  truck: 'vehicle',
  pedestrian: 'pedestrian',
  cyclist: 'bicycle',
};

const normalize = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, '');

/**
 * Maps KITTI type names to the evaluated classes: case-insensitively (also ignoring `_`, `-` and
 * spaces), then through KITTI's aliases (Car/Van/Truck -> vehicle, Pedestrian -> pedestrian,
 * Cyclist -> bicycle). Returns null for types that map to no class.
 */
export function kittiTypeMapper(classes: string[]): (type: string) => string | null {
  const byName = new Map<string, string>();
  for (const c of classes) if (!byName.has(normalize(c))) byName.set(normalize(c), c);
  return (type: string) => {
    const key = normalize(type);
    const direct = byName.get(key);
    if (direct !== undefined) return direct;
    const alias = KITTI_ALIASES[key];
    return alias !== undefined ? (byName.get(normalize(alias)) ?? null) : null;
  };
}

export function isDontCare(type: string): boolean {
  return normalize(type) === 'dontcare';
}

/** One image's ground truth for computeMap, plus the type names that mapped to no class. */
export function toGroundTruth(
  id: string,
  objects: KittiObject[],
  mapType: (type: string) => string | null,
  rule: DifficultRule = DEFAULT_DIFFICULT_RULE,
): { image: GroundTruthImage; unmapped: string[] } {
  const boxes: GroundTruthBox[] = [];
  const ignore: Box[] = [];
  const unmapped: string[] = [];
  for (const o of objects) {
    if (isDontCare(o.type)) {
      ignore.push(o.box);
      continue;
    }
    const label = mapType(o.type);
    if (label === null) {
      unmapped.push(o.type);
      continue;
    }
    boxes.push({ label, box: o.box, difficult: isDifficult(o, rule) });
  }
  return { image: { id, boxes, ignore }, unmapped };
}

export interface KittiSample {
  /** image file name without extension; also the label file's base name */
  id: string;
  imagePath: string;
  labelPath: string;
}

function firstDir(root: string, names: string[]): string | null {
  for (const n of names) {
    const p = join(root, n);
    if (existsSync(p) && statSync(p).isDirectory()) return p;
  }
  return null;
}

/**
 * The images of a KITTI-format dataset (`images/` and `labels/`; KITTI's own `image_2/` and
 * `label_2/` are accepted too), each with its label file. Every image needs a label file (an empty
 * file means no objects).
 */
export async function listKittiSamples(dir: string): Promise<KittiSample[]> {
  if (!existsSync(dir)) throw new RuntimeFailure(`${dir}: dataset not found (check -d)`);
  if (!statSync(dir).isDirectory()) throw new RuntimeFailure(`${dir}: not a directory (-d expects a KITTI-format dataset folder with images/ and labels/)`);
  const imagesDir = firstDir(dir, ['images', 'image_2']);
  const labelsDir = firstDir(dir, ['labels', 'label_2']);
  if (!imagesDir) throw new RuntimeFailure(`${dir}: no images/ folder (expected a KITTI-format dataset: images/ and labels/; npm run make-dataset writes one)`);
  if (!labelsDir) throw new RuntimeFailure(`${dir}: no labels/ folder (expected a KITTI-format dataset: images/ and labels/; npm run make-dataset writes one)`);
  const images = await listImages(imagesDir);
  const seen = new Map<string, string>();
  return images.map((imagePath) => {
    const id = basename(imagePath, extname(imagePath));
    const other = seen.get(id);
    if (other !== undefined) throw new RuntimeFailure(`${imagePath}: same base name as ${other}; each image needs its own labels/${id}.txt`);
    seen.set(id, imagePath);
    const labelPath = join(labelsDir, `${id}.txt`);
    if (!existsSync(labelPath)) {
      throw new RuntimeFailure(`${labelPath}: missing label file for ${imagePath} (every image needs one; an empty file means no objects)`);
    }
    return { id, imagePath, labelPath };
  });
}

export interface KittiDataset {
  samples: KittiSample[];
  /** ground truth per sample, same order as `samples` */
  gt: GroundTruthImage[];
  /** KITTI types that mapped to none of the classes, with how many boxes were dropped */
  unmapped: Record<string, number>;
}

/** Lists and parses a KITTI-format dataset into ground truth for `classes`. */
export async function readKittiDataset(dir: string, classes: string[], rule: DifficultRule = DEFAULT_DIFFICULT_RULE): Promise<KittiDataset> {
  const samples = await listKittiSamples(dir);
  const mapType = kittiTypeMapper(classes);
  const unmapped: Record<string, number> = {};
  const gt: GroundTruthImage[] = [];
  for (const s of samples) {
    let text: string;
    try {
      text = await fsp.readFile(s.labelPath, 'utf8');
    } catch (err) {
      throw new RuntimeFailure(`${s.labelPath}: cannot read (${errorMessage(err)})`);
    }
    const r = toGroundTruth(s.id, parseKittiLabels(text, s.labelPath), mapType, rule);
    for (const t of r.unmapped) unmapped[t] = (unmapped[t] ?? 0) + 1;
    gt.push(r.image);
  }
  return { samples, gt, unmapped };
}
