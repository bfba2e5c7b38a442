import { describe, expect, it } from 'vitest';
import { OnnxRuntimeThread } from '../../daemon/detect/onnxruntime-thread.js';
import type { DetectSetup } from '../../daemon/detect/onnxruntime-protocol.js';
import type * as native from '../../daemon/native.js';
import { MODEL } from '../support/cli.js';

const OPTIONS = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' as const, executionMode: 'sequential' as const, intraOpNumThreads: 1 };
const SPEC: native.PreprocessSpec = { width: 512, height: 288, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], color: 'rgb', resize: 'stretch' };
const SETUP: DetectSetup = {
  inputName: 'input',
  spec: SPEC,
  layout: { layout: 'scores_boxes', scores: 0, boxes: 1, numBoxes: 18456, numClasses: 5, boxOrder: 'xyxy' },
  outputNames: ['scores', 'boxes'],
  slots: 2,
};
const DECODE: native.DecodeOptions = { threshold: 0.01, nmsIou: 0.45, topK: 5, classes: [], ignoreClasses: [0] };

describe('the ONNX Runtime worker thread (daemon/detect/onnxruntime-worker.ts)', () => {
  it('one message per frame: pre-processing, inference into preallocated outputs and decode in the thread, boxes back; what is wrong is named', async () => {
    const session = await OnnxRuntimeThread.open(MODEL, OPTIONS);
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputMetadata.map((m) => [m.name, m.shape])).toEqual([
      ['scores', [1, 18456, 5]],
      ['boxes', [1, 18456, 4]],
    ]);
    await session.setup(SETUP);
    expect(session.preallocatedOutputs).toBe(true);
    // a frame with a bright block on grey, in two sizes (the slot's shared buffer grows for the second)
    const frameOf = (w: number, h: number) => {
      const data = Buffer.alloc(w * h * 3, 100);
      for (let y = h / 4; y < h / 2; y++) data.fill(240, (y * w + w / 4) * 3, (y * w + w / 2) * 3);
      return { data, width: w, height: h, index: 0, pts: 0 };
    };
    const small = await session.detect(0, frameOf(320, 180), DECODE);
    const again = await session.detect(1, frameOf(320, 180), DECODE);
    const large = await session.detect(0, frameOf(640, 360), DECODE);
    expect(small.transform).toEqual({ scaleX: 1.6, scaleY: 1.6, padX: 0, padY: 0 });
    expect(small.detections.length).toBeGreaterThan(0);
    expect(small.detections.length).toBeLessThanOrEqual(5);
    // the other slot, the same frame: the same boxes
    expect(again.detections).toEqual(small.detections);
    // the same picture at twice the size: its best box at about twice the coordinates, boxes in frame pixels
    expect(large.transform).toEqual({ scaleX: 0.8, scaleY: 0.8, padX: 0, padY: 0 });
    const [a, b] = [small.detections[0], large.detections[0]];
    expect(b.classId).toBe(a.classId);
    for (const k of ['x1', 'y1', 'x2', 'y2'] as const) expect(Math.abs(b[k] / 2 - a[k])).toBeLessThan(6);
    expect(small.inferenceMs).toBeGreaterThan(0);

    await expect(session.detect(7, frameOf(320, 180), DECODE)).rejects.toThrow('unknown frame slot 7');
    await session.close();
    await expect(session.detect(1, frameOf(320, 180), DECODE)).rejects.toThrow('session is closed');
  });

  it("a file that is not a model is ONNX Runtime's own message", async () => {
    await expect(OnnxRuntimeThread.open(new URL(import.meta.url).pathname, OPTIONS)).rejects.toThrow(/protobuf|parse|load/i);
  });
});
