import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DetectOptions, Detector, InferResult } from '../../daemon/detect/types.js';
import type { Frame } from '../../daemon/core/frame.js';
import { ConfigError, RuntimeFailure, type UserError } from '../../daemon/core/errors.js';
import { writeImage } from '../../daemon/media/image-io.js';

// The model side is the lead's (openDetector) and the config helper's (loadConfig): stand-ins here,
// so this file tests the command's own argument handling, output and errors.
const opened: Array<{ modelPath: string }> = [];
const inferOptions: DetectOptions[] = [];
let closed = 0;

vi.mock('../../daemon/detect/open.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../daemon/detect/open.js')>()),
  openDetector: async (opts: { modelPath: string }): Promise<Detector> => {
    opened.push(opts);
    return {
      info: {
        path: opts.modelPath,
        backend: 'onnxruntime',
        inputName: 'in',
        inputWidth: 8,
        inputHeight: 8,
        layout: 'scores_boxes',
        outputNames: [],
        labels: ['background', 'vehicle', 'pedestrian'],
        modelLabels: ['background', 'vehicle', 'pedestrian'],
        ignoreClasses: [0],
      },
      async infer(frame: Frame, options: DetectOptions): Promise<InferResult> {
        inferOptions.push(options);
        const detections = frame.index === 0 ? [{ label: 'vehicle', class_id: 1, score: 0.9, box: { x1: 0, y1: 0, x2: 20, y2: 20 } }] : [];
        return { detections, timings: { preprocess_ms: 0, inference_ms: 2, postprocess_ms: 0 } };
      },
      async close() {
        closed++;
      },
    };
  },
}));
vi.mock('../../daemon/config/index.js', () => ({
  loadConfig: (file: string) => ({
    model: {
      path: file.replace(/\.yaml$/, '.onnx'),
      backend: 'auto',
      labels: null,
      layout: 'auto',
      input: { color: 'rgb', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'stretch' },
    },
    detect: { threshold: 0.4, nms_iou: 0.3, classes: [], interval: 0, top_k: 50 },
  }),
}));

const { evalCommand } = await import('../../daemon/cli/eval.js');

async function run(argv: string[]): Promise<{ code: number; out: string; error: UserError | null }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await evalCommand(argv), out, error: null };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RuntimeFailure) return { code: err.exitCode, out, error: err };
    throw err;
  } finally {
    spy.mockRestore();
  }
}

describe('trt-detect eval (command)', () => {
  let dir: string;
  let dataset: string;
  let model: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trt-evalcmd-'));
    dataset = join(dir, 'ds');
    mkdirSync(join(dataset, 'images'), { recursive: true });
    mkdirSync(join(dataset, 'labels'));
    for (const id of ['a', 'b']) {
      await writeImage(join(dataset, 'images', `${id}.png`), Buffer.alloc(40 * 30 * 3, 90), 40, 30);
    }
    writeFileSync(join(dataset, 'labels', 'a.txt'), 'Car 0 0 0 0 0 20 20\n');
    writeFileSync(join(dataset, 'labels', 'b.txt'), 'Pedestrian 0 0 0 5 5 15 28\n');
    model = join(dir, 'm.onnx');
    writeFileSync(model, 'stand-in');
    writeFileSync(join(dir, 'c.onnx'), 'stand-in');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => {
    opened.length = 0;
    inferOptions.length = 0;
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: trt-detect eval -m MODEL -d DATASET/);
  });

  it('prints the table, writes --json and uses the low default threshold', async () => {
    const json = join(dir, 'out.json');
    const before = closed;
    const r = await run(['-m', model, '-d', dataset, '--json', json]);
    expect(r.error).toBeNull();
    expect(r.code).toBe(0);
    expect(opened.map((o) => o.modelPath)).toEqual([model]);
    expect(inferOptions[0]).toMatchObject({ threshold: 0.01, nmsIou: 0.45 });
    expect(closed).toBe(before + 1);
    // vehicle found (AP 1), pedestrian missed (AP 0)
    expect(r.out).toMatch(/^vehicle\s+1\.000\s+1\s/m);
    expect(r.out).toMatch(/^pedestrian\s+0\.000\s+1\s/m);
    expect(r.out).toMatch(/^mAP@0\.5\s+0\.500\s+\(2 of 2 classes with ground truth; 2 images/m);
    const doc = JSON.parse(readFileSync(json, 'utf8'));
    expect(doc).toMatchObject({ mAP: 0.5, ap: { vehicle: 1, pedestrian: 0 }, images: 2, iou: 0.5, threshold: 0.01 });
  });

  it('-c takes model.path and detect.nms_iou; --threshold and --iou override', async () => {
    const r = await run(['-c', join(dir, 'c.yaml'), '-d', dataset, '--threshold', '0.2', '--iou', '0.7']);
    expect(r.code).toBe(0);
    expect(opened.map((o) => o.modelPath)).toEqual([join(dir, 'c.onnx')]);
    expect(inferOptions[0]).toMatchObject({ threshold: 0.2, nmsIou: 0.3, topK: 50 });
    expect(r.out).toMatch(/^mAP@0\.7/m);
  });

  it('argument errors exit 2 with one line', async () => {
    const noDataset = await run(['-m', model]);
    expect(noDataset.code).toBe(2);
    expect(noDataset.error?.message).toBe('trt-detect eval: -d DATASET is required (a KITTI-format folder with images/ and labels/)');
    const noModel = await run(['-d', dataset]);
    expect(noModel.code).toBe(2);
    expect(noModel.error?.message).toMatch(/-m MODEL is required/);
    const badThreshold = await run(['-m', model, '-d', dataset, '--threshold', 'x']);
    expect(badThreshold.code).toBe(2);
    expect(badThreshold.error?.message).toMatch(/--threshold x: expected a number from 0 to 1/);
    const unknown = await run(['-m', model, '-d', dataset, '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.error?.message.split('\n')).toHaveLength(1);
    const missingModel = await run(['-m', join(dir, 'nope.onnx'), '-d', dataset]);
    expect(missingModel.code).toBe(2);
    expect(missingModel.error?.message).toMatch(/nope\.onnx: model file not found/);
  });

  it('dataset errors exit 1 before the model is opened', async () => {
    const missing = await run(['-m', model, '-d', join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.error?.message).toBe(`${join(dir, 'nope')}: dataset not found (check -d)`);
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'images'), { recursive: true });
    mkdirSync(join(empty, 'labels'));
    const r = await run(['-m', model, '-d', empty]);
    expect(r.code).toBe(1);
    expect(r.error?.message).toMatch(/no images \(\.png, \.jpg, \.jpeg, \.bmp\) in its images\/ folder/);
    expect(opened).toEqual([]);
  });

  it('an unwritable --json path is a one-line runtime failure', async () => {
    const target = join(dir, 'no-such-dir', 'out.json');
    const r = await run(['-m', model, '-d', dataset, '--json', target]);
    expect(r.code).toBe(1);
    expect(r.error?.message).toMatch(new RegExp(`^${target.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot write the JSON results`));
    expect(existsSync(target)).toBe(false);
  });
});
