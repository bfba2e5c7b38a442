/**
 * The recording folder as the web UI and the event clips read it: segment names of the exact
 * shape only (annotated `HH-MM-SS[-N].mp4`, camera stream `HH-MM-SS[-N].raw.mp4` or `X.mp4` with
 * `X.jsonl` beside it), each with its kind and detections file, never a link; and clips that take
 * segments of one kind only (annotated preferred).
 */
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DETECTIONS_PATTERN, detectionsName, listSegmentsOfDay, SEGMENT_PATTERN, segmentsCovering } from '../../daemon/service/recordings-index.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('rec-index');
afterAll(cleanup);

/** A file in <dir>/<root>/cam/<day>/<name> whose last write is `end` (seconds since the epoch). */
function put(root: string, day: string, name: string, end?: number, text = 'x'): string {
  const folder = join(dir, root, 'cam', day);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, name);
  writeFileSync(file, text);
  if (end !== undefined) utimesSync(file, end, end);
  return file;
}

const at = (day: string, hms: string) => new Date(`${day}T${hms.replace(/-/g, ':')}`).getTime() / 1000;

describe('recordings-index', () => {
  it('lists segments that started in the same second in the order they were made: -1 after the plain name, -10 after -2', async () => {
    for (const f of ['10-00-00-10.mp4', '10-00-00-2.mp4', '10-00-00.raw.mp4', '10-00-00-1.mp4', '10-00-00.mp4', '10-00-00-1.raw.mp4'])
      put('same-second', '2026-11-02', f);
    const files = (await listSegmentsOfDay(join(dir, 'same-second'), 'cam', '2026-11-02')).map((s) => s.file);
    expect(files).toEqual(['10-00-00.mp4', '10-00-00.raw.mp4', '10-00-00-1.mp4', '10-00-00-1.raw.mp4', '10-00-00-2.mp4', '10-00-00-10.mp4']);
  });

  it('accepts only segment and detections names of the exact shape', () => {
    for (const ok of ['10-00-00.mp4', '10-00-00-2.mp4', '10-00-00.raw.mp4', '10-00-00-2.raw.mp4']) expect(SEGMENT_PATTERN.test(ok), ok).toBe(true);
    for (const bad of [
      '10-00-00.raw-2.mp4',
      '10-00-00.RAW.mp4',
      '10-00-00.raw.raw.mp4',
      '10-00-00.jsonl',
      'a10-00-00.mp4',
      '10-00-00.mp4.tmp',
      '../10-00-00.mp4',
    ])
      expect(SEGMENT_PATTERN.test(bad), bad).toBe(false);
    for (const ok of ['10-00-00.jsonl', '10-00-00-3.jsonl', '10-00-00.raw.jsonl']) expect(DETECTIONS_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['10-00-00.json', '10-00-00.raw.mp4', 'x.jsonl', '10-00-00.jsonl/..']) expect(DETECTIONS_PATTERN.test(bad), bad).toBe(false);
    expect(detectionsName('10-00-00-2.raw.mp4')).toBe('10-00-00-2.raw.jsonl');
    expect(detectionsName('10-00-00.mp4')).toBe('10-00-00.jsonl');
  });

  it('gives each segment its kind and its detections file', async () => {
    const day = '2026-03-04';
    put('a', day, '10-00-00.mp4', at(day, '10-01-00')); // annotated (mode annotated)
    put('a', day, '10-01-00.mp4', at(day, '10-02-00')); // mode raw: camera stream + detections
    const rawJsonl = put('a', day, '10-01-00.jsonl');
    put('a', day, '10-02-00.mp4', at(day, '10-03-00')); // mode both: annotated + camera stream
    put('a', day, '10-02-00.raw.mp4', at(day, '10-03-00'));
    const bothJsonl = put('a', day, '10-02-00.raw.jsonl');
    put('a', day, '10-03-00-2.raw.mp4', at(day, '10-04-00')); // camera stream, detections not written (yet)
    put('a', day, '10-04-00.jsonl'); // detections without a segment: not a segment
    put('a', day, 'notes.txt');
    put('a', day, '10-05-00.raw.mp4.tmp');
    writeFileSync(join(dir, 'outside.jsonl'), '{}');
    put('a', day, '10-06-00.mp4', at(day, '10-07-00'));
    symlinkSync(join(dir, 'outside.jsonl'), join(dir, 'a', 'cam', day, '10-06-00.jsonl')); // a link is no detections file
    symlinkSync(join(dir, 'outside.jsonl'), join(dir, 'a', 'cam', day, '10-07-00.raw.mp4')); // nor a segment
    const segs = await listSegmentsOfDay(join(dir, 'a'), 'cam', day);
    expect(segs.map((s) => [s.file, s.kind, s.detections])).toEqual([
      ['10-00-00.mp4', 'annotated', null],
      ['10-01-00.mp4', 'camera', rawJsonl],
      ['10-02-00.mp4', 'annotated', null],
      ['10-02-00.raw.mp4', 'camera', bothJsonl],
      ['10-03-00-2.raw.mp4', 'camera', null],
      ['10-06-00.mp4', 'annotated', null],
    ]);
    expect(segs[1]).toMatchObject({ start: at(day, '10-01-00'), end: at(day, '10-02-00'), date: day });
  });

  it('cuts event clips from one kind: annotated where any covers the window, else the camera stream', async () => {
    const day = '2026-03-05';
    // mode annotated, then both, then raw
    put('c', day, '09-00-00.mp4', at(day, '09-01-00'));
    put('c', day, '09-01-00.mp4', at(day, '09-02-00'));
    put('c', day, '09-01-00.raw.mp4', at(day, '09-02-00'));
    put('c', day, '09-01-00.raw.jsonl');
    put('c', day, '09-02-00.mp4', at(day, '09-03-00'));
    put('c', day, '09-02-00.jsonl');
    put('c', day, '09-03-00.mp4', at(day, '09-04-00'));
    put('c', day, '09-03-00.jsonl');
    const files = async (from: string, to: string) => (await segmentsCovering(join(dir, 'c'), 'cam', at(day, from), at(day, to))).map((s) => s.file);
    expect(await files('09-01-10', '09-01-20')).toEqual(['09-01-00.mp4']); // mode both: annotated
    expect(await files('09-00-50', '09-01-20')).toEqual(['09-00-00.mp4', '09-01-00.mp4']);
    expect(await files('09-02-10', '09-03-20')).toEqual(['09-02-00.mp4', '09-03-00.mp4']); // mode raw: the camera stream
    expect(await files('09-01-50', '09-02-20')).toEqual(['09-01-00.mp4']); // never mixed
    expect(await files('10-00-00', '10-01-00')).toEqual([]);
  });
});
