/**
 * A tracking sequence in MOTChallenge layout: SEQDIR/seqinfo.ini, SEQDIR/gt/gt.txt and the frames
 * (SEQDIR/<imDir>/000001<imExt>, …), plus, as `npm run make-dataset -- --sequence` writes it, the
 * clip itself (SEQDIR/<name>.mp4). Reading only; problems are one-line ConfigErrors (exit 2).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { readMotChallenge, type MotChallengeBox } from '../track/mot-metrics.js';

export interface MotSequence {
  dir: string;
  name: string;
  frameRate: number;
  seqLength: number;
  imWidth: number;
  imHeight: number;
  imDir: string;
  imExt: string;
  /** the clip (SEQDIR/<name>.mp4, or the one video file in SEQDIR), null when there is none */
  video: string | null;
  /** every gt.txt line, ignored ones (conf 0) included */
  gt: MotChallengeBox[];
}

/**
 * MOT17's class numbers and the model labels that stand for them (the bundled ssd-traffic model's
 * labels first, then COCO's and KITTI's names). Labels not listed here are not evaluated.
 */
export const MOT_CLASSES: Readonly<Record<number, { name: string; labels: readonly string[] }>> = {
  1: { name: 'pedestrian', labels: ['pedestrian', 'person'] },
  3: { name: 'vehicle', labels: ['vehicle', 'car', 'truck', 'bus', 'van'] },
  4: { name: 'bicycle', labels: ['bicycle', 'cyclist'] },
};

/** The MOT class number a model label stands for, or null. */
export function motClassOf(label: string): number | null {
  const l = label.trim().toLowerCase();
  for (const [k, c] of Object.entries(MOT_CLASSES)) if (c.labels.includes(l)) return Number(k);
  return null;
}

/** The [Sequence] section of a seqinfo.ini as key → value. */
export function parseSeqinfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inSequence = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      inSequence = section[1].trim().toLowerCase() === 'sequence';
      continue;
    }
    const eq = line.indexOf('=');
    if (inSequence && eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.avi', '.mov', '.webm'];

export function readMotSequence(dir: string): MotSequence {
  if (!existsSync(dir)) throw new ConfigError(`${dir}: not found (a MOTChallenge sequence folder: seqinfo.ini, gt/gt.txt, img1/)`);
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${dir}: not a folder (a MOTChallenge sequence folder: seqinfo.ini, gt/gt.txt, img1/)`);
  const iniPath = join(dir, 'seqinfo.ini');
  if (!existsSync(iniPath)) throw new ConfigError(`${iniPath}: not found (a MOTChallenge sequence has one; npm run make-dataset -- --sequence writes it)`);
  const ini = parseSeqinfo(readFileSync(iniPath, 'utf8'));
  const num = (key: string, min: number): number => {
    const v = Number(ini[key]);
    if (ini[key] === undefined || ini[key] === '' || !Number.isFinite(v) || v < min)
      throw new ConfigError(`${iniPath}: [Sequence] ${key} ${ini[key] === undefined ? 'is missing' : `"${ini[key]}" is not a number >= ${min}`}`);
    return v;
  };
  const frameRate = num('frameRate', 0.001);
  const seqLength = num('seqLength', 1);
  const imWidth = num('imWidth', 1);
  const imHeight = num('imHeight', 1);
  const name = ini.name || 'sequence';
  const imDir = ini.imDir || 'img1';
  const imExt = ini.imExt || '.jpg';

  const gtPath = join(dir, 'gt', 'gt.txt');
  if (!existsSync(gtPath)) throw new ConfigError(`${gtPath}: not found (the ground truth: frame,id,x,y,w,h,conf,class,visibility per line)`);
  let gt: MotChallengeBox[];
  try {
    gt = readMotChallenge(readFileSync(gtPath, 'utf8'), { keepIgnored: true });
  } catch (err) {
    throw new ConfigError(`${gtPath}: ${errorMessage(err)}`);
  }
  const late = gt.find((b) => b.frame < 1 || b.frame > seqLength);
  if (late) throw new ConfigError(`${gtPath}: frame ${late.frame} is outside 1..${seqLength} (seqLength of seqinfo.ini)`);

  let video: string | null = join(dir, `${name}.mp4`);
  if (!existsSync(video)) {
    const videos = readdirSync(dir).filter((f) => VIDEO_EXTENSIONS.some((e) => f.toLowerCase().endsWith(e)));
    video = videos.length === 1 ? join(dir, videos[0]) : null;
  }
  if (!video) {
    const first = join(dir, imDir, `${'1'.padStart(6, '0')}${imExt}`);
    if (!existsSync(first)) throw new ConfigError(`${dir}: no video and no frames (${first} not found)`);
  }
  return { dir, name, frameRate, seqLength, imWidth, imHeight, imDir, imExt, video, gt };
}

/** The path of frame `n` (from 1) of the sequence's image folder. */
export function framePath(seq: MotSequence, n: number): string {
  return join(seq.dir, seq.imDir, `${String(n).padStart(6, '0')}${seq.imExt}`);
}
