import { describe, expect, it } from 'vitest';
import type { Detector, InferResult } from '../../daemon/detect/types.js';
import type { Frame } from '../../daemon/core/frame.js';
import { FairDetector } from '../../daemon/service/fair-detector.js';

/** A detector that records which frame it saw and answers on the next tick; counts overlap. */
function recordingDetector() {
  const seen: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const det: Detector = {
    info: {
      path: 'x.onnx',
      backend: 'onnxruntime',
      inputName: 'in',
      inputWidth: 8,
      inputHeight: 8,
      layout: 'scores_boxes',
      outputNames: [],
      labels: ['background'],
      modelLabels: ['background'],
      ignoreClasses: [0],
    },
    async infer(frame: Frame): Promise<InferResult> {
      running++;
      maxRunning = Math.max(maxRunning, running);
      seen.push(frame.data.toString());
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (frame.data.toString() === 'boom') throw new Error('inference failed');
      return { detections: [], timings: { preprocess_ms: 0, inference_ms: 1, postprocess_ms: 0 } };
    },
    async close() {},
  };
  return { det, seen, maxRunning: () => maxRunning };
}

const frame = (tag: string, index = 0): Frame => ({ data: Buffer.from(tag), width: 1, height: 1, index, pts: 0 });
const opts = { threshold: 0.5, nmsIou: 0.5, classes: [], topK: 10 };

describe('FairDetector (one detector, many cameras)', () => {
  it('serves cameras in turn: a camera with many frames queued cannot starve the others', async () => {
    const { det, seen, maxRunning } = recordingDetector();
    const fair = new FairDetector(det);
    const a = fair.forCamera('a');
    const b = fair.forCamera('b');
    const c = fair.forCamera('c');
    const jobs = [1, 2, 3, 4, 5, 6].map((i) => a.infer(frame(`a${i}`), opts));
    jobs.push(b.infer(frame('b1'), opts), b.infer(frame('b2'), opts), c.infer(frame('c1'), opts));
    await Promise.all(jobs);
    expect(seen).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4', 'a5', 'a6']);
    // two calls at a time reach the backend (it pre-processes one frame while it infers the other)
    expect(maxRunning()).toBe(2);
    expect(Object.fromEntries(fair.served)).toEqual({ a: 6, b: 2, c: 1 });
    expect(a.info.inputWidth).toBe(8);
  });

  it('with depth 1 hands the backend one call at a time, in the same fair order', async () => {
    const { det, seen, maxRunning } = recordingDetector();
    const fair = new FairDetector(det, 1);
    const a = fair.forCamera('a');
    const b = fair.forCamera('b');
    await Promise.all([a.infer(frame('a1'), opts), a.infer(frame('a2'), opts), a.infer(frame('a3'), opts), b.infer(frame('b1'), opts)]);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'a3']);
    expect(maxRunning()).toBe(1);
  });

  it('a failed inference rejects only that frame', async () => {
    const { det } = recordingDetector();
    const fair = new FairDetector(det);
    const a = fair.forCamera('a');
    const results = await Promise.allSettled([a.infer(frame('boom'), opts), a.infer(frame('ok'), opts)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });
});
