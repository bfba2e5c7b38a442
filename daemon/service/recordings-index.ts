/**
 * What the web UI's Recordings page and the event clips read of a camera's recording folder
 * (`<record.path>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>[-N][.raw].mp4`, local time): the days, the
 * segments of a day with their start (from the name), end (the file's last write) and kind, and
 * the segments that cover a time window. Only names of that exact shape are ever listed or served.
 *
 * Kinds (`record.mode`, docs/outputs.md#camera-stream-recordings): a segment is `annotated` (boxes
 * drawn in), or `camera`, the camera's own stream copied, whose detections lie beside it in
 * `<segment without .mp4>.jsonl`. `X.mp4` is a camera-stream segment when `X.jsonl` is beside it
 * (mode raw); `X.raw.mp4` always is (mode both, beside the annotated `X.mp4`).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
export const SEGMENT_PATTERN = /^(\d{2})-(\d{2})-(\d{2})(?:-(\d+))?(\.raw)?\.mp4$/;
/** a camera-stream segment's detections: its name with .jsonl for .mp4 */
export const DETECTIONS_PATTERN = /^(\d{2})-(\d{2})-(\d{2})(?:-(\d+))?(\.raw)?\.jsonl$/;

export type SegmentKind = 'annotated' | 'camera';

/** The detections file's name of a segment file name (`10-00-00.raw.mp4` -> `10-00-00.raw.jsonl`). */
export function detectionsName(file: string): string {
  return file.replace(/\.mp4$/, '.jsonl');
}

export interface Segment {
  /** day folder and file name, e.g. 2026-12-03 and 10-00-00.mp4 */
  date: string;
  file: string;
  path: string;
  /** seconds since the epoch */
  start: number;
  end: number;
  size: number;
  /** annotated (boxes drawn in) or the camera's own stream */
  kind: SegmentKind;
  /** the detections file beside a camera-stream segment, null when there is none */
  detections: string | null;
}

/** Local midnight of `date` (YYYY-MM-DD) in seconds since the epoch, or null for an impossible date. */
export function dayStart(date: string): number | null {
  if (!DAY_PATTERN.test(date)) return null;
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(y, m - 1, d);
  if (t.getFullYear() !== y || t.getMonth() !== m - 1 || t.getDate() !== d) return null;
  return t.getTime() / 1000;
}

/** YYYY-MM-DD of a time (seconds since the epoch), local time. */
export function localDate(seconds: number): string {
  const t = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
}

/** The days that have a folder, oldest first. */
export async function listDays(root: string, camera: string): Promise<string[]> {
  try {
    return (await fsp.readdir(join(root, camera))).filter((d) => DAY_PATTERN.test(d)).sort();
  } catch {
    return [];
  }
}

/** The segments of one day, oldest first. */
export async function listSegmentsOfDay(root: string, camera: string, date: string): Promise<Segment[]> {
  const midnight = dayStart(date);
  if (midnight === null) return [];
  const dir = join(root, camera, date);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const [y, mo, d] = date.split('-').map(Number);
  const present = new Set(names);
  const out: Segment[] = [];
  for (const file of names) {
    const m = SEGMENT_PATTERN.exec(file);
    if (!m) continue;
    const path = join(dir, file);
    let st;
    try {
      st = await fsp.lstat(path);
    } catch {
      continue; // deleted meanwhile (retention)
    }
    if (!st.isFile()) continue; // links are never listed (nor served: http-files.ts fileInside)
    const start = new Date(y, mo - 1, d, Number(m[1]), Number(m[2]), Number(m[3])).getTime() / 1000;
    const jsonl = detectionsName(file);
    const detections = present.has(jsonl) && (await regularFile(join(dir, jsonl))) ? join(dir, jsonl) : null;
    const kind: SegmentKind = m[5] !== undefined || detections !== null ? 'camera' : 'annotated';
    out.push({ date, file, path, start, end: Math.max(start, st.mtimeMs / 1000), size: st.size, kind, detections });
  }
  // same second: HH-MM-SS before HH-MM-SS-1, -2 ... (by the number, not the characters), annotated before .raw
  const order = (f: string) => {
    const m = SEGMENT_PATTERN.exec(f) as RegExpExecArray;
    return Number(m[4] ?? 0) * 2 + (m[5] ? 1 : 0);
  };
  return out.sort((a, b) => a.start - b.start || order(a.file) - order(b.file));
}

async function regularFile(path: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The segments that overlap [from, to] (seconds since the epoch), oldest first, all of one kind
 * (an event clip is cut from them with -c copy, and the two kinds differ in codec and size): the
 * annotated ones where any covers part of the window, else the camera-stream ones (mode raw).
 */
export async function segmentsCovering(root: string, camera: string, from: number, to: number): Promise<Segment[]> {
  const days = new Set([localDate(from - 86400), localDate(from), localDate(to)]);
  const all: Segment[] = [];
  for (const day of [...days].sort()) all.push(...(await listSegmentsOfDay(root, camera, day)));
  const covering = all.filter((s) => s.start <= to && s.end >= from);
  const annotated = covering.filter((s) => s.kind === 'annotated');
  return annotated.length > 0 ? annotated : covering;
}
