import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DetectOptions, Detector, InferResult } from '../../daemon/detect/types.js';
import type { Detection } from '../../daemon/core/detection.js';
import type { Frame } from '../../daemon/core/frame.js';
import { RuntimeFailure } from '../../daemon/core/errors.js';
import { evaluatedClasses, formatReport, reportJson, runEval } from '../../daemon/eval/run-eval.js';
import { writeImage } from '../../daemon/media/image-io.js';

const LABELS = ['background', 'road_sign', 'vehicle', 'pedestrian', 'bicycle'];
const OPTIONS: DetectOptions = { threshold: 0.01, nmsIou: 0.45, classes: [], topK: 200 };

const det = (label: string, score: number, x1: number, y1: number, x2: number, y2: number): Detection => ({
  label,
  class_id: LABELS.indexOf(label),
  score,
  box: { x1, y1, x2, y2 },
});

/** A stand-in detector answering per image index; records what it was given. */
class FakeDetector implements Detector {
  readonly info = {
    path: 'fake.onnx',
    backend: 'onnxruntime' as const,
    inputName: 'input',
    inputWidth: 300,
    inputHeight: 300,
    layout: 'scores_boxes' as const,
    outputNames: ['scores', 'boxes'],
    labels: LABELS,
    modelLabels: LABELS,
    ignoreClasses: [0],
  };
  readonly seen: Array<{ index: number; width: number; height: number; firstPixel: number[]; options: DetectOptions }> = [];
  closed = false;
  constructor(
    private readonly answers: Detection[][],
    private readonly failAt = -1,
  ) {}
  async infer(frame: Frame, options: DetectOptions): Promise<InferResult> {
    this.seen.push({ index: frame.index, width: frame.width, height: frame.height, firstPixel: [...frame.data.subarray(0, 3)], options });
    if (frame.index === this.failAt) throw new Error('CUDA went away');
    return { detections: this.answers[frame.index] ?? [], timings: { preprocess_ms: 1, inference_ms: 5, postprocess_ms: 1 } };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('runEval on a KITTI folder with a fake detector', () => {
  let dir: string;
  const sizes: Array<[number, number, number]> = [
    [64, 48, 10],
    [80, 40, 20],
    [32, 32, 30],
  ];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trt-runeval-'));
    mkdirSync(join(dir, 'images'));
    mkdirSync(join(dir, 'labels'));
    for (const [i, [w, h, v]] of sizes.entries()) await writeImage(join(dir, 'images', `00${i}.png`), Buffer.alloc(w * h * 3, v), w, h);
    writeFileSync(join(dir, 'labels', '000.txt'), 'Car 0 0 0 10 10 30 30\nPedestrian 0 0 0 40 5 50 40\nDontCare -1 -1 -10 0 40 64 48\n');
    writeFileSync(join(dir, 'labels', '001.txt'), 'vehicle 0.00 0 0 0 0 20 20 1 1 1 0 0 0 0\nroad_sign 0 2 0 50 0 70 30\nTram 0 0 0 0 0 5 5\n');
    writeFileSync(join(dir, 'labels', '002.txt'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const answers = [
    // vehicle TP; pedestrian TP; a vehicle inside the DontCare strip (ignored)
    [det('vehicle', 0.9, 10, 10, 30, 30), det('pedestrian', 0.8, 40, 5, 50, 40), det('vehicle', 0.95, 2, 41, 12, 47)],
    // vehicle TP, its duplicate (FP), a road sign on the difficult (largely occluded) sign: ignored
    [det('vehicle', 0.6, 0, 0, 20, 20), det('vehicle', 0.5, 0, 0, 19, 20), det('road_sign', 0.9, 50, 0, 70, 30)],
    // bicycle without any ground truth; a pedestrian FP ranked above the TP
    [det('bicycle', 0.3, 0, 0, 10, 10), det('pedestrian', 0.85, 0, 0, 10, 10)],
  ];

  it('computes the hand-computed per-class AP and mAP and decodes every image', async () => {
    const fake = new FakeDetector(answers);
    const progress: string[] = [];
    const r = await runEval(fake, dir, { detect: OPTIONS, onImage: (d, t) => progress.push(`${d}/${t}`) });
    expect(fake.seen.map((s) => [s.index, s.width, s.height, s.firstPixel[0]])).toEqual(sizes.map(([w, h, v], i) => [i, w, h, v]));
    expect(fake.seen[0].options).toBe(OPTIONS);
    expect(progress).toEqual(['1/3', '2/3', '3/3']);
    // vehicle: TP TP FP over 2 GT -> 1; pedestrian: FP TP over 1 GT -> 1/2; road_sign only difficult, bicycle none
    expect(r.ap).toEqual({ road_sign: null, vehicle: 1, pedestrian: 0.5, bicycle: null });
    expect(r.mAP).toBe(0.75);
    expect(r.images).toBe(3);
    expect(r.classes.vehicle).toEqual({ ap: 1, gt: 2, tp: 2, fp: 1, ignored: 1, recall: 1 });
    expect(r.classes.road_sign).toMatchObject({ gt: 0, tp: 0, fp: 0, ignored: 1 });
    expect(r.classes.bicycle).toMatchObject({ ap: null, gt: 0, fp: 1 });
    expect(r.unmapped).toEqual({ Tram: 1 });
    expect(r.inference_ms).toBe(5);
    expect(r.ms_per_image).toBeGreaterThanOrEqual(0);

    const table = formatReport(r);
    expect(table).toMatch(/^vehicle\s+1\.000\s+2\s+2\s+1\s+1\.000$/m);
    expect(table).toMatch(/^pedestrian\s+0\.500\s+1\s+1\s+1\s+1\.000$/m);
    expect(table).toMatch(/^bicycle\s+n\/a\s+0\s+0\s+1\s+-$/m);
    expect(table).toMatch(/^mAP@0\.5\s+0\.750\s+\(2 of 4 classes with ground truth; 3 images, [\d.]+ ms\/image/m);
    expect(table).toContain('not evaluated (no matching model label): Tram x1');

    const json = JSON.parse(reportJson(r));
    expect(Object.keys(json).slice(0, 3)).toEqual(['mAP', 'ap', 'images']);
    expect(json.mAP).toBe(0.75);
    expect(json.ap).toEqual({ road_sign: null, vehicle: 1, pedestrian: 0.5, bicycle: null });
    expect(json.images).toBe(3);
  });

  it('evaluates only detect.classes when set, and a stricter IoU changes the result', async () => {
    const r = await runEval(new FakeDetector(answers), dir, { detect: { ...OPTIONS, classes: [2] } });
    expect(Object.keys(r.ap)).toEqual(['vehicle']);
    expect(r.mAP).toBe(1);
    // a box one pixel short has IoU 0.95: a match at 0.5, a miss at 0.99
    const short = [[det('vehicle', 0.9, 10, 10, 30, 29)], [], []];
    const loose = await runEval(new FakeDetector(short), dir, { detect: OPTIONS, classes: ['vehicle'] });
    expect(loose.classes.vehicle).toMatchObject({ tp: 1, fp: 0 });
    const strict = await runEval(new FakeDetector(short), dir, { detect: OPTIONS, iou: 0.99, classes: ['vehicle'] });
    expect(strict.classes.vehicle).toMatchObject({ tp: 0, fp: 1 });
    expect(strict.ap.vehicle).toBe(0);
  });

  it('a detector failure becomes a one-line RuntimeFailure naming the image', async () => {
    const err = await runEval(new FakeDetector(answers, 1), dir, { detect: OPTIONS }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as Error).message).toBe(`${join(dir, 'images', '001.png')}: detection failed (CUDA went away)`);
  });

  it('an unreadable image fails with its path', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'trt-runeval-bad-'));
    try {
      mkdirSync(join(bad, 'images'));
      mkdirSync(join(bad, 'labels'));
      writeFileSync(join(bad, 'images', 'a.png'), 'garbage');
      writeFileSync(join(bad, 'labels', 'a.txt'), '');
      await expect(runEval(new FakeDetector([]), bad, { detect: OPTIONS })).rejects.toThrowError(
        `${join(bad, 'images', 'a.png')}: not an image ffmpeg can read`,
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('evaluatedClasses', () => {
  it('drops background (any case) and duplicates; honours class ids', () => {
    expect(evaluatedClasses(['Background', 'a', 'b', 'a'], [])).toEqual(['a', 'b']);
    expect(evaluatedClasses(['background', 'a', 'b'], [0, 2])).toEqual(['b']);
  });
});
