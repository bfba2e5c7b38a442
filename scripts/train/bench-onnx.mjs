// Times ONNX inference with onnxruntime-node on this CPU:  node scripts/train/bench-onnx.mjs MODEL [runs] [threads]
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const [model, runs = '50', threads = '2'] = process.argv.slice(2);
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const dims = s.inputMetadata ? null : null;
const [h, w] = [Number(process.env.H || 288), Number(process.env.W || 512)];
const x = new ort.Tensor('float32', new Float32Array(3 * h * w).fill(0.1), [1, 3, h, w]);
for (let i = 0; i < 5; i++) await s.run({ input: x });
const t = [];
for (let i = 0; i < Number(runs); i++) { const t0 = process.hrtime.bigint(); await s.run({ input: x }); t.push(Number(process.hrtime.bigint() - t0) / 1e6); }
t.sort((a, b) => a - b);
console.log(JSON.stringify({ model, runs: t.length, threads: Number(threads), mean_ms: +(t.reduce((a, b) => a + b, 0) / t.length).toFixed(2), median_ms: +t[t.length >> 1].toFixed(2), p90_ms: +t[Math.floor(t.length * 0.9)].toFixed(2) }));
