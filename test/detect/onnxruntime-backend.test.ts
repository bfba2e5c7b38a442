import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDetector } from '../../daemon/detect/open.js';
import type { Frame } from '../../daemon/core/frame.js';
import { ffmpegPath } from '../../daemon/media/image-io.js';
import { ROOT, SAMPLE } from '../support/cli.js';
import { buildConstantModel, type ConstantOutput } from '../support/onnx-writer.js';
import { tempDir } from '../support/videos.js';

const { dir, cleanup } = tempDir('ort');
afterAll(cleanup);

const W = 64;
const H = 32;
const frame = (w = 200, h = 100): Frame => ({ data: Buffer.alloc(w * h * 3, 100), width: w, height: h, index: 0, pts: 0 });
const opts = { threshold: 0.5, nmsIou: 0.45, topK: 100, classes: [] as number[] };

function model(name: string, outputs: ConstantOutput[], labels?: string[]): string {
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, buildConstantModel({ inputName: 'input', inputShape: [1, 3, H, W], outputs }));
  if (labels) writeFileSync(join(dir, `${name}.labels.txt`), `${labels.join('\n')}\n`);
  return file;
}

describe('ONNX Runtime backend (real onnxruntime-node, constant-output SSD graphs)', () => {
  it('scores_boxes: softmax scores + normalized boxes -> per-class NMS -> source pixels with labels', async () => {
    // 3 anchors, 3 classes (background, car, person); anchors 0 and 1 overlap (same class), 2 is a person
    const scores = [0.1, 0.9, 0.0, 0.2, 0.8, 0.0, 0.3, 0.0, 0.7];
    const boxes = [0.1, 0.1, 0.5, 0.5, 0.12, 0.1, 0.5, 0.52, 0.6, 0.2, 0.9, 1.2];
    const file = model(
      'sb',
      [
        { name: 'scores', dims: [1, 3, 3], dtype: 'float32', data: scores },
        { name: 'boxes', dims: [1, 3, 4], dtype: 'float32', data: boxes },
      ],
      ['BACKGROUND', 'car', 'person'],
    );
    const det = await openDetector({ modelPath: file });
    expect(det.info).toMatchObject({
      backend: 'onnxruntime',
      inputName: 'input',
      inputWidth: W,
      inputHeight: H,
      layout: 'scores_boxes',
      labels: ['BACKGROUND', 'car', 'person'],
    });
    const r = await det.infer(frame(), opts);
    expect(r.detections).toEqual([
      { label: 'car', class_id: 1, score: 0.9, box: { x1: 20, y1: 10, x2: 100, y2: 50 } },
      { label: 'person', class_id: 2, score: 0.7, box: { x1: 120, y1: 20, x2: 180, y2: 100 } },
    ]);
    expect(r.timings.inference_ms).toBeGreaterThan(0);
    const onlyPerson = await det.infer(frame(), { ...opts, classes: [2] });
    expect(onlyPerson.detections.map((d) => d.label)).toEqual(['person']);
    await det.close();
  });

  it('nms7 (TensorRT NMS plugin) with keep count', async () => {
    const rows = [0, 1, 0.95, 0.0, 0.0, 0.5, 0.5, 0, 2, 0.6, 0.5, 0.5, 1.0, 1.0, 0, 1, 0.99, 0.1, 0.1, 0.2, 0.2];
    const file = model('n7', [
      { name: 'NMS', dims: [1, 1, 3, 7], dtype: 'float32', data: rows },
      { name: 'NMS_1', dims: [1, 1, 1, 1], dtype: 'int32', data: [2] },
    ]);
    const det = await openDetector({ modelPath: file, labels: ['background', 'vehicle', 'sign'] });
    const r = await det.infer(frame(), opts);
    // keep count 2: the third row is not a result even with the highest confidence
    expect(r.detections).toEqual([
      { label: 'vehicle', class_id: 1, score: 0.95, box: { x1: 0, y1: 0, x2: 100, y2: 50 } },
      { label: 'sign', class_id: 2, score: 0.6, box: { x1: 100, y1: 50, x2: 200, y2: 100 } },
    ]);
    await det.close();
  });

  it('efficient_nms with pixel boxes of the model input', async () => {
    const file = model('en', [
      { name: 'num_dets', dims: [1, 1], dtype: 'int32', data: [1] },
      { name: 'det_boxes', dims: [1, 2, 4], dtype: 'float32', data: [16, 8, 48, 24, 0, 0, 64, 32] },
      { name: 'det_scores', dims: [1, 2], dtype: 'float32', data: [0.8, 0.9] },
      { name: 'det_classes', dims: [1, 2], dtype: 'int32', data: [0, 0] },
    ]);
    const det = await openDetector({ modelPath: file, labels: ['pedestrian'] });
    expect(det.info.layout).toBe('efficient_nms');
    const r = await det.infer(frame(), opts);
    expect(r.detections).toEqual([{ label: 'pedestrian', class_id: 0, score: 0.8, box: { x1: 50, y1: 25, x2: 150, y2: 75 } }]);
    await det.close();
  });

  it('letterbox maps boxes back through the padding', async () => {
    const file = model(
      'lb',
      [
        { name: 'scores', dims: [1, 1, 2], dtype: 'float32', data: [0.1, 0.9] },
        { name: 'boxes', dims: [1, 1, 4], dtype: 'float32', data: [0.25, 0.0, 0.75, 1.0] },
      ],
      ['background', 'thing'],
    );
    // a 100x100 source letterboxed into 64x32: scale 0.32, padX 16
    const det = await openDetector({ modelPath: file, input: { color: 'rgb', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'letterbox' } });
    const r = await det.infer(frame(100, 100), opts);
    expect(r.detections).toEqual([{ label: 'thing', class_id: 1, score: 0.9, box: { x1: 0, y1: 0, x2: 100, y2: 100 } }]);
    await det.close();
  });

  it('rejects wrong models with one clear line', async () => {
    // the missing file is said first, with no note about the backend before it
    const notes: string[] = [];
    await expect(openDetector({ modelPath: join(dir, 'none.onnx'), log: (_level, msg) => notes.push(msg) })).rejects.toThrow(
      `${join(dir, 'none.onnx')}: model file not found (check model.path or -m)`,
    );
    expect(notes).toEqual([]);
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'not a model');
    await expect(openDetector({ modelPath: junk })).rejects.toThrow(/junk\.onnx: not a model ONNX Runtime can load/);
    const cls = model('cls', [{ name: 'logits', dims: [1, 10], dtype: 'float32', data: Array(10).fill(0) }]);
    await expect(openDetector({ modelPath: cls })).rejects.toThrow(/cls\.onnx: unsupported model outputs logits\[1,10\]/);
    const mism = model(
      'mism',
      [
        { name: 'scores', dims: [1, 1, 3], dtype: 'float32', data: [0, 0, 1] },
        { name: 'boxes', dims: [1, 1, 4], dtype: 'float32', data: [0, 0, 1, 1] },
      ],
      ['background', 'a'],
    );
    await expect(openDetector({ modelPath: mism })).rejects.toThrow('the model has 3 classes but 2 labels were given');
    writeFileSync(join(dir, 'x.engine'), 'an engine built elsewhere');
    await expect(openDetector({ modelPath: join(dir, 'x.engine') })).rejects.toThrow(/x\.engine: TensorRT engines need the addon built with TensorRT/);
  });

  it('overlapping calls (bundled model, real frames) give the same detections as one call at a time', async () => {
    // 8 frames 20 apart from the sample clip, so each has other objects in other places
    const w = 480;
    const h = 270;
    const raw = execFileSync(
      ffmpegPath(),
      [
        '-v',
        'error',
        '-i',
        SAMPLE,
        '-vf',
        `select=not(mod(n\\,20)),scale=${w}:${h}`,
        '-vsync',
        '0',
        '-frames:v',
        '8',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-',
      ],
      { maxBuffer: 64 << 20 },
    );
    const frames: Frame[] = [];
    for (let i = 0; i < 8; i++) frames.push({ data: raw.subarray(i * w * h * 3, (i + 1) * w * h * 3), width: w, height: h, index: i, pts: i });
    const det = await openDetector({ modelPath: join(ROOT, 'models', 'ssd-traffic.onnx') });
    const one: unknown[] = [];
    for (const f of frames) one.push((await det.infer(f, opts)).detections);
    const all = await Promise.all(frames.map((f) => det.infer(f, opts)));
    expect(all.map((r) => r.detections)).toEqual(one);
    // the frames differ, so a mixed-up tensor or result order would show
    expect(new Set(one.map((d) => JSON.stringify(d))).size).toBe(8);
    await det.close();
  });
});
