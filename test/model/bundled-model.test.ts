/**
 * The bundled model (models/ssd-traffic.onnx): the contract the daemon relies on, and real
 * accuracy through `trt-detect eval` on a fresh held-out test split (seed 3, never trained on) and
 * on frames decoded from the committed sample clip. An untrained or broken model fails these.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/videos.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const CLASSES = ['road_sign', 'vehicle', 'pedestrian', 'bicycle'];
const TEST_SEED = 3; // scripts/train/README.md: 1 train, 2 val, 3 test

const pythonReady =
  spawnSync('bash', ['-c', `source "${join(ROOT, 'scripts', 'dataset', 'find-python.sh')}"; _py_ok /usr/bin/python3 || _py_ok python3`]).status === 0;
const ffmpegReady = spawnSync('ffmpeg', ['-version']).status === 0;

interface EvalJson {
  mAP: number;
  ap: Record<string, number | null>;
  images: number;
}

async function evalJson(dataset: string, out: string): Promise<EvalJson> {
  const r = await runCli(['eval', '-m', MODEL, '-d', dataset, '--json', out], { timeoutMs: 120_000 });
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as EvalJson;
}

describe('bundled model: the contract of layout scores_boxes', () => {
  it('is a Nano-sized file with its label file beside it', () => {
    expect(statSync(MODEL).size).toBeLessThan(16 * 1024 * 1024);
    expect(
      readFileSync(MODEL.replace(/\.onnx$/, '.labels.txt'), 'utf8')
        .trim()
        .split('\n'),
    ).toEqual(['background', ...CLASSES]);
  });

  it('takes input [1,3,288,512] and gives softmax scores [1,N,5] and normalized corner boxes [1,N,4]', async () => {
    const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1 });
    try {
      expect(session.inputNames).toEqual(['input']);
      expect([...session.outputNames].sort()).toEqual(['boxes', 'scores']);
      // a mid-grey image with a little structure; any other input shape is refused by the static graph
      const data = new Float32Array(3 * 288 * 512).map((_, i) => ((i % 512) / 512 - 0.5) * 0.4);
      const out = await session.run({ input: new ort.Tensor('float32', data, [1, 3, 288, 512]) });
      const scores = out.scores;
      const boxes = out.boxes;
      expect(scores.dims.length).toBe(3);
      const n = Number(scores.dims[1]);
      expect(scores.dims).toEqual([1, n, 5]);
      expect(boxes.dims).toEqual([1, n, 4]);
      expect(n).toBeGreaterThan(1000);
      const s = scores.data as Float32Array;
      const b = boxes.data as Float32Array;
      for (let i = 0; i < n; i += 97) {
        const row = s.subarray(i * 5, i * 5 + 5);
        expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
        const [x1, y1, x2, y2] = b.subarray(i * 4, i * 4 + 4);
        expect(x1 >= 0 && y1 >= 0 && x2 <= 1 && y2 <= 1 && x1 <= x2 && y1 <= y2, `box ${i}: ${[x1, y1, x2, y2]}`).toBe(true);
      }
      await expect(session.run({ input: new ort.Tensor('float32', new Float32Array(3 * 300 * 300), [1, 3, 300, 300]) })).rejects.toThrow();
    } finally {
      await session.release();
    }
  });
});

describe.skipIf(!pythonReady)('bundled model accuracy on a fresh test split (needs python3 with numpy and Pillow)', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir('bundled-model');
    execFileSync('bash', [join(ROOT, 'scripts', 'make-dataset'), '--seed', String(TEST_SEED), '--count', '40', '--out', join(tmp.dir, 'test'), '--quiet'], {
      cwd: ROOT,
    });
  });
  afterAll(() => tmp.cleanup());

  it('reaches mAP@0.5 >= 0.6 with every class detected (trt-detect eval)', async () => {
    const r = await evalJson(join(tmp.dir, 'test'), join(tmp.dir, 'eval.json'));
    expect(r.images).toBe(40);
    for (const c of CLASSES) expect(r.ap[c], c).toBeGreaterThan(0.4);
    expect(r.mAP).toBeGreaterThanOrEqual(0.6);
  });
});

interface ClipGroundTruth {
  width: number;
  height: number;
  frames: Array<{ frame: number; objects: Array<{ label: string; box: number[]; truncated: number; occluded: number }>; dontcare: number[][] }>;
}

describe.skipIf(!ffmpegReady)('bundled model on the sample clip (needs ffmpeg)', () => {
  let tmp: ReturnType<typeof tempDir>;
  const STEP = 10; // every 10th frame: 25 frames over the whole 10 s
  beforeAll(() => {
    tmp = tempDir('bundled-clip');
    const ds = join(tmp.dir, 'clip');
    mkdirSync(join(ds, 'images'), { recursive: true });
    mkdirSync(join(ds, 'labels'));
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-i',
      join(ROOT, 'samples', 'traffic.mp4'),
      '-vf',
      `select=not(mod(n\\,${STEP}))`,
      '-fps_mode',
      'passthrough',
      '-start_number',
      '0',
      join(ds, 'images', '%06d.png'),
    ]);
    const gt = JSON.parse(readFileSync(join(ROOT, 'samples', 'traffic.gt.json'), 'utf8')) as ClipGroundTruth;
    for (const f of gt.frames.filter((x) => x.frame % STEP === 0)) {
      const lines = f.objects.map((o) => `${o.label} ${o.truncated.toFixed(2)} ${o.occluded} 0 ${o.box.map((v) => v.toFixed(2)).join(' ')}`);
      for (const d of f.dontcare) lines.push(`DontCare -1 -1 -10 ${d.map((v) => v.toFixed(2)).join(' ')}`);
      writeFileSync(join(ds, 'labels', `${String(f.frame / STEP).padStart(6, '0')}.txt`), lines.map((l) => `${l}\n`).join(''));
    }
  });
  afterAll(() => tmp.cleanup());

  it('finds the moving traffic of the demo video (mAP@0.5 >= 0.6 on 25 decoded frames)', async () => {
    const r = await evalJson(join(tmp.dir, 'clip'), join(tmp.dir, 'eval.json'));
    expect(r.images).toBe(25);
    expect(r.mAP).toBeGreaterThanOrEqual(0.6);
  });
});
