// Times raw ONNX inference (no pre/post-processing) with onnxruntime-node on this CPU:
//   node scripts/train/bench-onnx.mjs MODEL [runs] [threads]
// The input shape comes from the model ([1,3,H,W], static); the whole pipeline: `trt-detect bench`.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const [model, runs = '50', threads = '2'] = process.argv.slice(2);
if (!model) {
  console.error('usage: node scripts/train/bench-onnx.mjs MODEL [runs] [threads]');
  process.exit(2);
}
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const shape = s.inputMetadata?.[0]?.shape ?? [1, 3, 288, 512];
const [h, w] = [Number(shape[2]), Number(shape[3])];
const data = new Float32Array(3 * h * w);
for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) % 1000) / 1000 - 0.5; // not constant: no shortcut
const x = new ort.Tensor('float32', data, [1, 3, h, w]);
const name = s.inputNames[0];
for (let i = 0; i < 5; i++) await s.run({ [name]: x });
const t = [];
for (let i = 0; i < Number(runs); i++) {
  const t0 = process.hrtime.bigint();
  await s.run({ [name]: x });
  t.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
t.sort((a, b) => a - b);
const mean = t.reduce((a, b) => a + b, 0) / t.length;
console.log(
  JSON.stringify({
    model,
    input: [1, 3, h, w],
    runs: t.length,
    threads: Number(threads),
    mean_ms: +mean.toFixed(2),
    median_ms: +t[t.length >> 1].toFixed(2),
    p90_ms: +t[Math.floor(t.length * 0.9)].toFixed(2),
  }),
);
